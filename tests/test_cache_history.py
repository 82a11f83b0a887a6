"""A cache fetch runs the push rules over what it brings (SPEC §6.2, issue 24 item 4 and the
"also" finding): a mirror without our hook that re-signs alice's agent as mallory's (a
hijack a server hook refuses) is refused by `discover`, whether the reader's cache already
had the honest tip (the fetched tip refused, the old one kept) or clones the mirror fresh
(the clone refused and removed) — as `verify --history` says of the same mirror."""

from __future__ import annotations

import json
from pathlib import Path

from git_elite.edges import store
from tests.conftest import git, run_cli
from tests.helpers_attacks import Server, aid, doc, head, mirror_of, mpath
from tests.helpers_registry import T0, agent_files, manifest, profile


def hijack(clone: Path) -> str:
    """Mallory re-signs alice's agent 1 as her own (new owner, new key), index rebuilt: the
    tip alone is a valid registry; only its history shows the hijack."""
    from tests.helpers_attacks import commit

    sha = commit(clone, {mpath(1): doc(manifest("mallory", profile(1), created_at=T0 + 10,
                                                 rate=0.99))})
    git("push", "-q", "origin", "HEAD:main", cwd=clone)
    return sha


def cache_of(name: str) -> Path:
    return store.home() / "cache" / "registries" / f"{name}.git"


def owners(found: str) -> dict[str, str]:
    return {row["agent_id"]: row["owner_did"] for row in json.loads(found)}


def test_a_fetch_that_brings_a_hijack_is_refused_and_the_old_tip_kept(
        srv: Server, tmp_path: Path) -> None:
    mirror, clone = mirror_of(srv, tmp_path)
    run_cli("registry", "add", "m", str(mirror))
    first = run_cli("discover", "--registry", "m", "--json")
    assert aid(1) in owners(first.stdout)
    bad = hijack(clone)
    refused = run_cli("discover", "--registry", "m", check=1)
    line = refused.stderr.strip()
    assert len(line.splitlines()) == 1, refused.stderr
    assert f"{bad[:7]} {mpath(1)}: [ownership]" in line and "hijack" in line, line
    assert f"keeping the tip checked before ({srv.tip[:12]})" in line
    assert head(cache_of("m"), "refs/heads/main") == srv.tip
    again = run_cli("discover", "--registry", "m", check=1)  # still refused, not retried in
    assert "[ownership]" in again.stderr
    audit = run_cli("verify", "--history", str(mirror), check=1)
    assert "[ownership]" in audit.stdout


def test_a_first_clone_of_a_hijacked_mirror_is_refused_and_removed(
        srv: Server, tmp_path: Path) -> None:
    mirror, clone = mirror_of(srv, tmp_path)
    bad = hijack(clone)
    refused = run_cli("discover", "--registry", str(mirror), check=1)
    assert f"{bad[:7]} {mpath(1)}: [ownership]" in refused.stderr
    assert "the clone is not kept" in refused.stderr
    assert not any(cache_of("").parent.glob("*.git")), "an unchecked clone was kept"
    imported = run_cli("import", aid(1)[:12], "--registry", str(mirror), check=1)
    assert "[ownership]" in imported.stderr


def test_honest_history_is_fetched_and_checked(srv: Server, tmp_path: Path) -> None:
    mirror, clone = mirror_of(srv, tmp_path)
    run_cli("registry", "add", "m", str(mirror))
    run_cli("discover", "--registry", "m")
    from tests.helpers_attacks import commit

    sha = commit(clone, agent_files("carol", 3))
    git("push", "-q", "origin", "HEAD:main", cwd=clone)
    found = run_cli("discover", "--registry", "m", "--json")
    assert len(json.loads(found.stdout)) == 3
    assert head(cache_of("m"), "refs/heads/main") == sha
    assert head(cache_of("m"), "refs/elite/seen/main") == sha


def test_a_bad_commit_repaired_later_is_still_refused(srv: Server, tmp_path: Path) -> None:
    """History a hook would have refused stays refused when a later commit hides it (here:
    an unsigned manifest, then the honest one back)."""
    mirror, clone = mirror_of(srv, tmp_path)
    run_cli("registry", "add", "m", str(mirror))
    run_cli("discover", "--registry", "m")
    from tests.helpers_attacks import commit

    honest = (clone / mpath(1)).read_bytes()
    body = json.loads(honest)
    body["metrics"]["success_rate"] = 1.0  # the signature no longer covers it
    bad = commit(clone, {mpath(1): doc(body)})
    commit(clone, {mpath(1): honest})
    git("push", "-q", "origin", "HEAD:main", cwd=clone)
    refused = run_cli("discover", "--registry", "m", check=1)
    assert f"{bad[:7]} {mpath(1)}: [signature]" in refused.stderr or \
        f"{bad[:7]} {mpath(1)}: [rollback]" in refused.stderr, refused.stderr
