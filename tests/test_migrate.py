"""Format 1 stays readable and `git elite migrate` moves it to format 2 (SPEC §4), through a
real server with the pre-receive hook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from git_elite.core import documents, engine, layout, migration
from git_elite.core.state import MemoryState, diff
from tests.conftest import git, run_cli
from tests.helpers_format1 import build, doc, v1_agent
from tests.helpers_registry import (
    T0,
    agent_files,
    agent_id_of,
    commit_raw,
    identity,
    make_identity,
    profile,
    push,
)


@pytest.fixture
def old(tmp_path: Path) -> tuple[Path, Path]:
    """A format-1 work tree with history, and a bare server with the hook installed."""
    work = tmp_path / "work"
    build(work)
    server = tmp_path / "server.git"
    git("clone", "-q", "--bare", str(work), str(server))
    run_cli("hooks", "install", "--server", cwd=server)
    git("remote", "add", "origin", str(server), cwd=work)
    return work, server


def test_format1_is_readable(old: tuple[Path, Path]) -> None:
    work, server = old
    for args in ((str(server),), ("--history", str(server)), ("--history", str(work))):
        run_cli("verify", *args)
    found = json.loads(run_cli("discover", "--json", "--registry", str(server)).stdout)
    assert [r["agent_id"] for r in found] == [agent_id_of(profile(1))]
    make_identity("dave")
    run_cli("import", agent_id_of(profile(1)), "--registry", str(server),
            "--allow-untrusted")


def test_format1_push_refused_with_migrate_hint(old: tuple[Path, Path]) -> None:
    work, _ = old
    commit_raw(work, v1_agent("dave", 7), "a new agent in format 1", index=True)
    result = push(work)
    assert result.returncode != 0
    assert "[layout]" in result.stderr and "git elite migrate" in result.stderr


def test_migrate_through_the_hook_then_verify_history(old: tuple[Path, Path]) -> None:
    work, server = old
    before = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    make_identity("server")
    run_cli("migrate", str(work))
    after = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    assert git("rev-parse", "HEAD~1", cwd=work).stdout.strip() == before
    agent = agent_id_of(profile(1))
    old_blob = git("rev-parse", f"{before}:agents/{agent}/manifest.json", cwd=work).stdout
    new_blob = git("rev-parse", f"{after}:agents/{agent[:2]}/{agent}/manifest.json",
                   cwd=work).stdout
    assert old_blob == new_blob  # a rename: the blob is unchanged
    ident = json.loads((work / layout.IDENTITY).read_bytes())
    assert ident["format"] == 2 and ident["version"] == 2
    assert (work / layout.shard_path(agent[:2])).is_file()
    assert b"index/*.json merge=elite-index" in (work / ".gitattributes").read_bytes()
    assert not git("status", "--porcelain", cwd=work).stdout.strip()
    result = push(work)
    assert result.returncode == 0, result.stderr
    run_cli("verify", "--history", str(server))
    found = json.loads(run_cli("discover", "--json", "--registry", str(server)).stdout)
    assert [r["agent_id"] for r in found] == [agent]
    # format 2 from now on: a new agent goes through the hook
    commit_raw(work, agent_files("dave", 9), "a new agent", index=True)
    assert push(work).returncode == 0
    run_cli("verify", "--history", str(server))


def _v1_state(tmp_path: Path) -> MemoryState:
    work = tmp_path / "w"
    build(work)
    files = git("ls-files", cwd=work).stdout.split()
    return MemoryState({p: (work / p).read_bytes() for p in files})


def _signed(old: MemoryState, **change: object) -> bytes:
    body = migration.identity_body(json.loads(old.read(layout.IDENTITY) or b""), T0 + 1000)
    body.update(change)
    from tests.helpers_registry import key

    return documents.to_bytes(documents.sign_multi(body, [key("server")]))


def _problems(old: MemoryState, files: dict[str, bytes | None]) -> list[tuple[str, str]]:
    new = dict(old.files)
    for path, data in files.items():
        if data is None:
            new.pop(path, None)
        else:
            new[path] = data
    found = engine.check_change(old, diff(old.files, new), MemoryState(new))
    return sorted({(p.rule, p.path) for p in found})


def test_migration_rule_accepts_exactly_the_migration(tmp_path: Path) -> None:
    old = _v1_state(tmp_path)
    good = migration.files(old, _signed(old))
    assert _problems(old, good) == []
    agent = agent_id_of(profile(1))
    moved = layout.agent_path(agent, "manifest.json", 2)
    cases = {
        "changed bytes": ({**good, moved: (good[moved] or b"") + b" "}, ("layout", moved)),
        "extra agent": ({**good, **agent_files("dave", 9)}, "layout"),
        "renamed policy": (migration.files(old, _signed(old, name="other")), "identity"),
        "no version bump": (migration.files(old, _signed(old, version=1)), "identity"),
        "agent left behind": ({k: v for k, v in good.items()
                               if k != layout.agent_path(agent, "profile.json", 1)
                               and k != layout.agent_path(agent, "profile.json", 2)},
                              "layout"),
        "attributes": ({**good, ".gitattributes": b"*.json -text\n"}, "layout"),
    }
    for name, (files, want) in cases.items():
        found = _problems(old, files)
        rules = {rule for rule, _ in found}
        if isinstance(want, tuple):
            assert want in found, (name, found)
        else:
            assert want in rules, (name, found)


def test_format2_cannot_go_back(tmp_path: Path) -> None:
    from tests.helpers_registry import base_files, key

    base = base_files()
    body = {k: v for k, v in identity("server", version=2).items()
            if k not in ("format", "signatures")}
    back = documents.to_bytes(documents.sign_multi(body, [key("server")]))
    state = MemoryState(base)
    new = {**base, layout.IDENTITY: back}
    found = engine.check_change(state, diff(base, new), MemoryState(new))
    assert any(p.rule == "identity" and "format 1" in p.message for p in found), found
    assert doc  # the helpers' doc() is the same bytes as documents.to_bytes
