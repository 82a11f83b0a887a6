"""The red-team's round-2 reproductions (/work/shared/redteam/round2/, issue 24) as tests of
our own: a registry with a timestamp role on a real hooked bare server (its post-receive
hook signs each state), published with `git elite site`, served by a real loopback HTTP
server as a hostile mirror would serve it, read by the real `git elite discover/verify/
import --url`. The other findings have their own files: f3 tests/test_identity_pin.py, f4
tests/test_http_bounds.py, the ownership finding tests/test_cache_history.py, f2 the
writer's tests/test_pins_push.py.

- f1: a head-ranked agent's manifest swapped for its older, validly signed version under a
  fresh timestamp: the pinned entry (index/ranked.json → manifest_sha256) refuses it.
- f5: a withheld endorsement revocation (the older endorsement served in its place): the
  trust shard's digest refuses it, so the endorsed owner is not trusted.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from git_elite.core import documents, layout
from tests.conftest import git, run_cli
from tests.helpers_attacks import aid, mpath
from tests.helpers_freshness import Stamped, honest_push, stamped_server
from tests.helpers_registry import (
    T0,
    agent_files,
    endorsement,
    isolated_module_env,
    key,
    nid,
)
from tests.helpers_site import serve


def _revocation(by: str, to: str, created_at: int) -> dict[str, object]:
    body = {"type": "endorsement", "schema_version": 1, "to": key(to).did,
            "task_types": ["*"], "created_at": created_at, "revoked": True}
    return documents.sign(body, key(by))


@dataclass(frozen=True)
class World:
    server: Stamped
    site: Path  # the honest site of the final state
    old_manifest: bytes  # alice's agent 1, version 1 (better numbers, validly signed)
    old_endorsement: bytes  # alice -> carol, before alice revoked it
    endorsement_path: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("redteam2")
    with isolated_module_env(tmp):
        server = stamped_server(tmp)  # alice's agent 1 (v1), bob's agent 2; timestamp v1
        old_manifest = (server.work / mpath(1)).read_bytes()
        honest_push(server, agent_files("alice", 1, created_at=T0 + 100, rate=0.81))
        path = layout.endorsement_path(nid("alice"), nid("carol"))
        old_endorsement = documents.to_bytes(endorsement("alice", "carol", T0 + 10))
        honest_push(server, {**agent_files("carol", 3), path: old_endorsement})
        honest_push(server, {path: documents.to_bytes(_revocation("alice", "carol", T0 + 20))})
        site = tmp / "site"
        run_cli("site", str(server.bare), "-o", str(site))
        assert json.loads((site / "timestamp.json").read_bytes())["version"] == 4
        yield World(server, site, old_manifest, old_endorsement, path)


def hostile(world: World, tmp: Path, files: dict[str, bytes]) -> Path:
    """The honest site with `files` replaced (IDENTITY, fresh timestamp, head untouched)."""
    out = tmp / "mirror"
    shutil.copytree(world.site, out)
    for path, data in files.items():
        (out / path).write_bytes(data)
    return out


def rows(found: str) -> dict[str, dict[str, object]]:
    return {str(row["agent_id"]): row for row in json.loads(found)}


# f1 ----------------------------------------------------------------------------------------
def test_f1_honest_site_shows_the_current_manifest(world: World) -> None:
    with serve(world.site) as url:
        found = run_cli("discover", "--url", url, "--json")
    assert rows(found.stdout)[aid(1)]["success_rate"] == 0.81
    assert "signed fresh until" in found.stderr


def test_f1_an_older_signed_manifest_under_a_fresh_head_is_refused(world: World,
                                                                  tmp_path: Path) -> None:
    mirror = hostile(world, tmp_path, {mpath(1): world.old_manifest})
    with serve(mirror) as url:
        found = run_cli("discover", "--url", url, "--json")
        audit = json.loads(run_cli("verify", "--url", url, "--json", check=1).stdout)
        imported = run_cli("import", aid(1)[:12], "--url", url, check=1)
    assert aid(1) not in rows(found.stdout), "the replayed manifest was shown"
    assert f"agent {aid(1)[:12]} dropped: {mpath(1)}: [index] INDEX.json's manifest_sha256 " \
        "is not the sha256 of the manifest" in found.stderr
    assert {p["rule"] for p in audit["problems"]} == {"index"}
    assert "no valid manifest" in imported.stderr


def test_f1_a_ranked_file_that_is_not_pinned_is_not_used(world: World,
                                                         tmp_path: Path) -> None:
    """The mirror rewrites index/ranked.json to match the old manifest: its digest is not
    the head's, so the reader falls back to the shards (pinned too) and still refuses."""
    import hashlib

    ranked = json.loads((world.site / layout.RANKED).read_bytes())
    ranked["agents"][aid(1)]["manifest_sha256"] = hashlib.sha256(world.old_manifest).hexdigest()
    data = (json.dumps(ranked, indent=2, sort_keys=True) + "\n").encode()
    mirror = hostile(world, tmp_path, {mpath(1): world.old_manifest, layout.RANKED: data})
    with serve(mirror) as url:
        found = run_cli("discover", "--url", url, "--json")
    assert aid(1) not in rows(found.stdout)
    assert f"{layout.RANKED}: [index] its bytes do not hash" in found.stderr


def test_f1_over_git_a_mirror_committing_the_old_manifest_is_refused(world: World,
                                                                    tmp_path: Path) -> None:
    mirror = tmp_path / "mirror.git"
    git("clone", "-q", "--bare", str(world.server.bare), str(mirror))
    work = tmp_path / "mirror-work"
    git("clone", "-q", str(mirror), str(work))
    from tests.helpers_registry import commit_raw

    commit_raw(work, {mpath(1): world.old_manifest}, index=True)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    refused = run_cli("discover", "--registry", str(mirror), "--allow-stale", check=1)
    assert f"{mpath(1)}: [rollback]" in refused.stderr


# f5 ----------------------------------------------------------------------------------------
def test_f5_honest_site_carries_the_revocation(world: World) -> None:
    run_cli("trust", "add", key("alice").did, "--alias", "alice")
    with serve(world.site) as url:
        found = rows(run_cli("discover", "--url", url, "--json").stdout)
        only = run_cli("discover", "--url", url, "--trusted-only", "--json")
    assert found[aid(3)]["trusted"] is False
    assert aid(3) not in rows(only.stdout)


def test_f5_a_withheld_revocation_is_refused(world: World, tmp_path: Path) -> None:
    run_cli("trust", "add", key("alice").did, "--alias", "alice")
    mirror = hostile(world, tmp_path, {world.endorsement_path: world.old_endorsement})
    with serve(mirror) as url:
        found = run_cli("discover", "--url", url, "--json")
        only = run_cli("discover", "--url", url, "--trusted-only", "--json")
        imported = run_cli("import", aid(3)[:12], "--url", url, check=1)
        forced = run_cli("import", aid(3)[:12], "--url", url, "--allow-untrusted", check=1)
        audit = json.loads(run_cli("verify", "--url", url, "--json", check=1).stdout)
    assert "not imported" in forced.stderr
    assert rows(found.stdout)[aid(3)]["trusted"] is False
    assert aid(3) not in rows(only.stdout)
    assert f"{world.endorsement_path}: [index] its bytes do not hash" in found.stderr
    assert "[index]" in imported.stderr and "not imported" in imported.stderr, imported.stderr
    assert "index" in {p["rule"] for p in audit["problems"]}


def test_f5_a_missing_pinned_document_is_named(world: World, tmp_path: Path) -> None:
    run_cli("trust", "add", key("alice").did, "--alias", "alice")
    mirror = hostile(world, tmp_path, {})
    (mirror / world.endorsement_path).unlink()
    with serve(mirror) as url:
        found = run_cli("discover", "--url", url, "--json")
    assert f"{world.endorsement_path}: [index] pinned by INDEX.json but absent" in found.stderr
    assert rows(found.stdout)[aid(3)]["trusted"] is False


def test_f1_over_radicle_httpd(tmp_path: Path) -> None:
    """The same swap served by radicle-httpd: a tip whose manifest is an older signed one
    while its head (unchanged) pins the current one."""
    from tests.helpers_registry import agent_id_of, commit_raw, profile
    from tests.httpd_double import Double
    from tests.httpd_double import serve as serve_httpd
    from tests.test_radicle_discover import ALICE, rad_registry

    _, repo, work = rad_registry(tmp_path)
    older = agent_files("bob", 1, created_at=T0 - 100, rate=0.99)
    commit_raw(work, older, "an older manifest, the head left as it was", index=False)
    repo.push(ALICE, work)
    with serve_httpd(Double(repo.storage, repo.rid)) as url:
        found = run_cli("discover", "--json", "--httpd", url, "--rid", repo.rid)
    one = agent_id_of(profile(1))
    assert one not in rows(found.stdout)
    assert f"agent {one[:12]} dropped" in found.stderr and "[index]" in found.stderr
