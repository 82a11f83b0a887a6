"""Freshness end to end (SPEC §6.1): a registry declaring a timestamp role, its bare server
with the real pre-receive and post-receive hooks signing `refs/elite/timestamp` after every
push, real `git elite timestamp` re-signing, real pushes of bad timestamps refused for
`[timestamp]`, and readers (`verify`, `discover`, `import`) of an attacker's mirror (a
second bare repository) replaying an older timestamp, planting one or serving none. The
frozen mirror and the withholding one are rows 5 and 7 of tests/test_attacks.py."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from git_elite.core import layout, timestamp
from tests.conftest import git, run_cli
from tests.helpers_attacks import aid, doc, head, mpath, rejects
from tests.helpers_freshness import (
    Stamped,
    body_for,
    copy_server,
    honest_push,
    key_file,
    mirror,
    plant,
    stamped_server,
    version,
)
from tests.helpers_registry import agent_files, isolated_module_env, key, tombstone


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stamped]:
    tmp = tmp_path_factory.mktemp("stamped")
    with isolated_module_env(tmp):
        yield stamped_server(tmp)


@pytest.fixture
def srv(template: Stamped, tmp_path: Path) -> Stamped:
    return copy_server(template, tmp_path)


def stone(n: int) -> dict[str, bytes | None]:
    return {mpath(n): None,
            layout.agent_path(aid(n), "tombstone.json"): doc(tombstone("alice", aid(n)))}


def verify(repo: Path | str, *args: str, check: int | None = None) -> tuple[int, str]:
    result = run_cli("verify", f"file://{repo}", *args, check=check)
    return result.returncode, result.stdout + result.stderr


# the server writes timestamps ----------------------------------------------------------------
def test_server_signs_after_every_push(srv: Stamped) -> None:
    assert version(srv.bare) == 1
    sha = honest_push(srv, stone(1))
    assert version(srv.bare) == 2
    signed = json.loads(git("cat-file", "blob", f"{timestamp.REF}:timestamp.json",
                            cwd=srv.bare).stdout)
    assert signed["tip"] == sha and signed["branch"] == "main"
    assert signed["expires_at"] - signed["created_at"] == 86400  # the role's max_age
    chain = git("rev-list", timestamp.REF, cwd=srv.bare).stdout.split()
    assert len(chain) == 2  # each timestamp commit's parent is the previous one
    code, out = verify(srv.bare, check=0)
    assert "signed fresh until" in out


def test_key_file_rules(tmp_path: Path, srv: Stamped) -> None:
    (tmp_path / "other").mkdir()
    loose = key_file(tmp_path / "other")
    loose.chmod(0o644)
    bad = run_cli("hooks", "install", "--server", "--timestamp-key", str(loose), cwd=srv.bare,
                  check=1)
    assert "must be 0600" in bad.stderr
    inside = srv.bare / "stamp.json"
    inside.write_bytes(srv.key_file.read_bytes())
    inside.chmod(0o600)
    bad = run_cli("hooks", "install", "--server", "--timestamp-key", str(inside),
                  cwd=srv.bare, check=1)
    assert "inside the repository" in bad.stderr
    secret = json.loads(srv.key_file.read_text())["secretKeyBase58"]
    good = run_cli("hooks", "install", "--server", "--timestamp-key", str(srv.key_file),
                   cwd=srv.bare)
    assert secret not in good.stdout + good.stderr + bad.stdout + bad.stderr
    assert key("dave").did in good.stderr
    assert stat.S_IMODE(srv.key_file.stat().st_mode) == 0o600


def test_timestamp_command_in_the_server_and_from_a_delegate(tmp_path: Path,
                                                             srv: Stamped) -> None:
    """Cron on the server (`git -C server.git elite timestamp`), then the timestamp key's
    holder from elsewhere (`--registry URL --key FILE`: a real push the hook checks)."""
    out = run_cli("timestamp", "--expires", "3600", cwd=srv.bare)
    assert "timestamp v2" in out.stderr and "signed fresh until" in out.stderr
    out = run_cli("timestamp", "--registry", f"file://{srv.bare}", "--key",
                  str(srv.key_file))
    assert version(srv.bare) == 3
    assert "timestamp v3" in out.stderr
    wrong = run_cli("timestamp", "--registry", f"file://{srv.bare}", "--key",
                    str(key_file(tmp_path, "mallory")), check=1)
    assert "declared timestamp keys" in wrong.stderr
    assert version(srv.bare) == 3


def attacker_push(srv: Stamped, commit: str, *, delete: bool = False) -> tuple[int, list[str]]:
    spec = f":{timestamp.REF}" if delete else f"+{commit}:{timestamp.REF}"
    git("fetch", "-q", "origin", f"+{timestamp.REF}:{timestamp.REF}", cwd=srv.work)
    result = git("push", "origin", spec, cwd=srv.work, check=False)
    return result.returncode, rejects(result)


def _in_work(srv: Stamped, **change: object) -> str:
    git("fetch", "-q", "origin", f"+{timestamp.REF}:{timestamp.REF}", cwd=srv.work)
    who = _signers(change)
    return plant(srv.work, body_for(srv.bare, **change), **who)


def _signers(change: dict[str, object]) -> dict[str, object]:
    who = change.pop("signers", None)
    return {"signers": who} if who else {}


PUSH_CASES = [
    pytest.param({"signers": ("mallory",)}, "threshold", id="non-declared-key"),
    pytest.param({"version": 1}, "not greater", id="replayed-version"),
    pytest.param({"index_sha256": "0" * 64}, "index_sha256", id="index-mismatch"),
    pytest.param({"tip": "0" * 40}, "not the registry branch's tip", id="unknown-tip"),
    pytest.param({"created_at": int(time.time()) - 700, "expires_at": int(time.time()) - 1},
                 "already expired", id="expired-a-second-ago"),
]


@pytest.mark.parametrize(("change", "words"), PUSH_CASES)
def test_pre_receive_guards_the_ref(srv: Stamped, change: dict[str, object],
                                    words: str) -> None:
    before = head(srv.bare, timestamp.REF)
    if "created_at" in change:  # built at run time: "a second ago" means now
        change = {"created_at": int(time.time()) - 700, "expires_at": int(time.time()) - 1}
    commit = _in_work(srv, **dict(change))
    code, lines = attacker_push(srv, commit)
    assert code != 0
    assert any(f"REJECT {commit[:7]} {timestamp.REF}: [timestamp]" in x and words in x
               for x in lines), lines
    assert head(srv.bare, timestamp.REF) == before


def test_pre_receive_refuses_deletion_and_foreign_commits(srv: Stamped) -> None:
    before = head(srv.bare, timestamp.REF)
    code, lines = attacker_push(srv, "", delete=True)
    assert code != 0 and any("[timestamp] the timestamp cannot be deleted" in x
                             for x in lines), lines
    orphan = plant(srv.work, body_for(srv.bare), parent=False)
    code, lines = attacker_push(srv, orphan)
    assert code != 0 and any("only parent must be the current" in x for x in lines), lines
    code, lines = attacker_push(srv, head(srv.work, "main"))
    assert code != 0 and any("[timestamp]" in x for x in lines), lines
    assert head(srv.bare, timestamp.REF) == before
    good = _in_work(srv)
    code, lines = attacker_push(srv, good)
    assert code == 0, lines
    assert head(srv.bare, timestamp.REF) == good


# readers against an attacker's mirror ----------------------------------------------------------
def test_mirror_replaying_an_older_timestamp(tmp_path: Path, srv: Stamped) -> None:
    """A reader that has seen version 2 (from the server) is shown version 1 by a mirror
    frozen earlier, before it expired: a rollback, caught through $AGENTD_HOME's memory
    keyed by the registry's root commit (another mirror, another cache name)."""
    old = mirror(srv, tmp_path)
    honest_push(srv, agent_files("carol", 3))
    run_cli("discover", "--registry", f"file://{srv.bare}")
    code, out = verify(old)
    assert code == 1 and "[timestamp] rollback: timestamp version 1" in out, out
    assert "older than version 2" in out
    found = run_cli("discover", "--registry", f"file://{old}", check=1)
    assert "rollback" in found.stderr
    stale = run_cli("verify", f"file://{old}", "--allow-stale", "--json")
    assert json.loads(stale.stdout)["freshness"]["case"] == "rollback"


@pytest.mark.parametrize(("change", "case", "words"), [
    pytest.param({"signers": ("mallory",)}, "invalid", "threshold 1", id="non-declared-key"),
    pytest.param({"expires": -1}, "freeze", "expired", id="expired-a-second-ago"),
    pytest.param({"index_sha256": "0" * 64}, "invalid", "index_sha256",
                 id="index-sha256-mismatch"),
])
def test_mirror_planting_a_timestamp(tmp_path: Path, srv: Stamped, change: dict[str, object],
                                     case: str, words: str) -> None:
    shady = mirror(srv, tmp_path)
    now = int(time.time())
    fields = dict(change)
    if fields.pop("expires", None) is not None:
        fields.update(created_at=now - 601, expires_at=now - 1)
    plant(shady, body_for(shady, **{k: v for k, v in fields.items() if k != "signers"}),
          **_signers(fields))
    code, out = verify(shady)
    assert code == 1 and f"[timestamp] {case}" in out and words in out, out
    found = run_cli("discover", "--registry", f"file://{shady}", check=1)
    assert f"[timestamp] {case}" in found.stderr


def test_mirror_without_the_timestamp(tmp_path: Path, srv: Stamped) -> None:
    bare = tmp_path / "plain.git"
    git("clone", "-q", "--bare", str(srv.bare), str(bare))  # copies no refs/elite/*
    code, out = verify(bare)
    assert code == 1 and "[timestamp] freeze: no timestamp" in out, out


def test_discover_shows_freshness(srv: Stamped) -> None:
    found = run_cli("discover", "--registry", f"file://{srv.bare}", "--json")
    assert "server: signed fresh until" in found.stderr
    rows = json.loads(found.stdout)
    assert rows and rows[0]["freshness"]["case"] == "fresh"
    assert rows[0]["freshness"]["version"] == 1
    seen = list((Path(os.environ["AGENTD_HOME"]) / "freshness").glob("*.json"))
    assert len(seen) == 1 and list(json.loads(seen[0].read_text())["roles"].values()) == [1]


def test_working_copy_reads_its_fetched_timestamp(srv: Stamped) -> None:
    """In a clone, discover reads HEAD and the local refs/elite/timestamp (fetch it)."""
    missing = run_cli("discover", cwd=srv.work, check=1)
    assert "[timestamp] freeze: no timestamp" in missing.stderr
    git("fetch", "-q", "origin", f"+{timestamp.REF}:{timestamp.REF}", cwd=srv.work)
    git("merge", "-q", "--ff-only", "origin/main", cwd=srv.work)
    assert "signed fresh until" in run_cli("discover", cwd=srv.work).stderr


def test_forge_drop_in_directories_and_uninstall(tmp_path: Path, srv: Stamped) -> None:
    """Gitea/Forgejo/GitLab: with --hooks-dir …/pre-receive.d the signer goes to
    …/post-receive.d/50-git-elite; `hooks uninstall` removes both."""
    custom = tmp_path / "custom_hooks"
    run_cli("hooks", "install", "--server", "--hooks-dir", str(custom / "pre-receive.d"),
            "--timestamp-key", str(srv.key_file), cwd=srv.bare)
    for name in ("pre-receive.d", "post-receive.d"):
        assert "git-elite-hook:" in (custom / name / "50-git-elite").read_text()
    assert (srv.bare / "hooks" / "post-receive").exists()
    run_cli("hooks", "uninstall", cwd=srv.bare)
    assert not (srv.bare / "hooks" / "post-receive").exists()
    assert not (srv.bare / "hooks" / "pre-receive").exists()
    refused = run_cli("hooks", "install", "--timestamp-key", str(srv.key_file), cwd=srv.work,
                      check=1)
    assert "--timestamp-key is for --server" in refused.stderr


@pytest.mark.parametrize("did", [
    pytest.param("did:key:z6Mkbad", id="too-short"),
    pytest.param("did:web:example.org", id="not-did-key"),
])
def test_init_refuses_a_bad_timestamp_key(tmp_path: Path, did: str) -> None:
    from tests.helpers_registry import make_identity

    make_identity("server")
    bad = run_cli("init", str(tmp_path / "reg"), "--timestamp-key", did, check=2)
    assert "--timestamp-key" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "reg").exists(), "nothing is created for a refused init"


def test_timestamp_command_refuses_a_registry_without_the_role(tmp_path: Path) -> None:
    from tests.helpers_registry import make_server

    _, bare = make_server(tmp_path)
    out = run_cli("timestamp", "--key", str(key_file(tmp_path)), cwd=bare, check=1)
    assert "declares no timestamp role" in out.stderr
    assert not git("for-each-ref", timestamp.REF, cwd=bare).stdout
