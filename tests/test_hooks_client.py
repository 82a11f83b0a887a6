"""Client hooks fired by real `git commit` / `git merge`; install/uninstall with legacy hooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from git_elite.core import documents, layout
from tests.conftest import git, run_cli
from tests.helpers_publish import index
from tests.helpers_registry import (
    T0,
    agent_files,
    agent_id_of,
    make_registry,
    manifest,
    profile,
    two_branches,
    write_files,
)


@pytest.fixture
def reg(tmp_path: Path) -> Path:
    return make_registry(tmp_path / "reg")


def index_agents(work: Path, rev: str = "HEAD") -> set[str]:
    return set(index(work, rev)["agents"])


def status(work: Path) -> str:
    return git("status", "--porcelain", cwd=work).stdout


def test_init_makes_a_clean_verified_registry(reg: Path) -> None:
    assert status(reg) == ""
    assert (reg / ".gitattributes").read_text() == layout.GITATTRIBUTES
    out = run_cli("verify", "--history", "--json", cwd=reg)
    assert json.loads(out.stdout) == {"ok": True, "problems": [], "commits_checked": 1}
    run_cli("index", "--check", cwd=reg)
    assert run_cli("init", str(reg), check=1).stderr.count("already a registry") == 1


@pytest.mark.parametrize("spoil", ["duplicate-key", "stale"])
def test_index_check_refuses_a_spoiled_index(reg: Path, spoil: str) -> None:
    """`index --check` reads INDEX.json as strictly as the hooks do: a duplicate key that
    json.loads would silently collapse to an equal value is refused, like a stale entry."""
    raw = (reg / "INDEX.json").read_bytes()
    if spoil == "duplicate-key":
        spoiled = raw.replace(b'"agent_count": 0,', b'"agent_count": 0,\n  "agent_count": 0,')
    else:
        spoiled = raw.replace(b'"agent_count": 0,', b'"agent_count": 1,')
    assert spoiled != raw
    (reg / "INDEX.json").write_bytes(spoiled)
    out = run_cli("index", "--check", cwd=reg, check=1)
    assert "[index]" in out.stderr and "INDEX.json" in out.stderr


def test_commit_rebuilds_and_stages_index(reg: Path) -> None:
    files = agent_files("alice", 1)
    write_files(reg, files)
    git("add", "agents", cwd=reg)
    git("commit", "-q", "-m", "add", cwd=reg)
    assert index_agents(reg) == {agent_id_of(profile(1))}
    assert status(reg) == ""


def test_forged_manifest_stops_commit(reg: Path) -> None:
    body = manifest("alice", profile(1))
    body["metrics"]["total_tasks"] = 1000
    write_files(reg, {**agent_files("alice", 1),
                      layout.agent_path(agent_id_of(profile(1)), "manifest.json"):
                      documents.to_bytes(body)})
    git("add", "agents", cwd=reg)
    result = git("commit", "-q", "-m", "forged", cwd=reg, check=False)
    assert result.returncode != 0
    assert "[signature]" in result.stderr and "manifest.json" in result.stderr


def test_secret_stops_commit_naming_file(reg: Path) -> None:
    (reg / "README.md").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    result = git("commit", "-q", "-a", "-m", "oops", cwd=reg, check=False)
    assert result.returncode != 0
    assert "README.md: [secret]" in result.stderr


def test_partial_commit_leaves_status_clean(reg: Path) -> None:
    write_files(reg, {**agent_files("alice", 1), **agent_files("bob", 2)})
    git("add", "agents", cwd=reg)
    first = sorted(agent_files("alice", 1))
    git("commit", "-q", "-m", "alice only", "--", *first, cwd=reg)
    assert index_agents(reg) == {agent_id_of(profile(1))}
    lines = status(reg).splitlines()
    assert all("agents/" in line for line in lines) and "INDEX.json" not in status(reg)
    git("commit", "-q", "-m", "bob", cwd=reg)
    assert index_agents(reg) == {agent_id_of(profile(1)), agent_id_of(profile(2))}
    assert status(reg) == ""


def test_commit_all(reg: Path) -> None:
    write_files(reg, agent_files("alice", 1))
    git("add", "agents", cwd=reg)
    git("commit", "-q", "-m", "alice", cwd=reg)
    update = manifest("alice", profile(1), created_at=T0 + 5, rate=0.95)
    write_files(reg, {layout.agent_path(agent_id_of(profile(1)), "manifest.json"):
                      documents.to_bytes(update)})
    git("commit", "-q", "-a", "-m", "update", cwd=reg)
    raw = index(reg, "HEAD")
    assert raw["agents"][agent_id_of(profile(1))]["success_rate"] == 0.95
    assert status(reg) == ""
    run_cli("verify", "--history", cwd=reg)


def test_merge_of_two_branches_has_no_conflict(reg: Path) -> None:
    two_branches(reg)
    git("merge", "-q", "--no-edit", "side", cwd=reg)
    assert index_agents(reg) == {agent_id_of(profile(1)), agent_id_of(profile(2))}
    assert status(reg) == ""
    run_cli("index", "--check", cwd=reg)
    run_cli("verify", cwd=reg)


def test_install_keeps_foreign_hook_and_chains(reg: Path) -> None:
    hooks = reg / ".git" / "hooks"
    run_cli("hooks", "uninstall", cwd=reg)
    (hooks / "pre-commit").write_text("#!/bin/sh\necho legacy-ran >&2\nexit 1\n")
    (hooks / "pre-commit").chmod(0o755)
    run_cli("hooks", "install", cwd=reg)
    assert (hooks / "pre-commit.legacy").exists()
    result = git("commit", "-q", "--allow-empty", "-m", "x", cwd=reg, check=False)
    assert result.returncode != 0 and "legacy-ran" in result.stderr
    run_cli("hooks", "uninstall", cwd=reg)
    assert "legacy-ran" in (hooks / "pre-commit").read_text()
    assert not (hooks / "pre-commit.legacy").exists()


def test_hooks_path_and_server_drop_in(reg: Path, tmp_path: Path) -> None:
    custom = tmp_path / "custom-hooks"
    git("config", "core.hooksPath", str(custom), cwd=reg)
    run_cli("hooks", "install", cwd=reg)
    assert "git-elite-hook:" in (custom / "pre-commit").read_text()
    bare = tmp_path / "srv.git"
    git("clone", "-q", "--bare", str(reg), str(bare))
    (bare / "hooks" / "pre-receive.d").mkdir()
    run_cli("hooks", "install", "--server", cwd=bare)
    assert "git elite" in (bare / "hooks" / "pre-receive.d" / "50-git-elite").read_text()
    assert not (bare / "hooks" / "pre-receive").exists()
