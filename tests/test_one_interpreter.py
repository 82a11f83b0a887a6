"""SPEC §12: one Python process per `git commit` with the client hooks. pre-commit writes the
index files it stages to the work tree itself when the index it stages into becomes the real
one (plain commit, `-a`, `--amend`, a merge), so the post-commit shim starts no interpreter;
only `git commit <paths>` (a temporary index) needs the post-commit step. Every form is a real
`git commit`/`git merge` with the installed hooks; Python processes are counted by a
sitecustomize that logs each interpreter the hooks start."""

from __future__ import annotations

import os
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

SITE = "import os, sys\nlog = os.environ.get('ELITE_PY_LOG')\n" \
    "if log:\n    open(log, 'a').write(' '.join(sys.argv) + '\\n')\n"


@pytest.fixture
def reg(tmp_path: Path) -> Path:
    return make_registry(tmp_path / "reg")


def counted(reg: Path, *args: str) -> list[str]:
    """Run `git ARGS` in reg; the command lines of the Python processes it started."""
    site = reg.parent / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITE)
    log = reg.parent / "python.log"
    log.unlink(missing_ok=True)
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    git(*args, cwd=reg, env={"ELITE_PY_LOG": str(log), "PYTHONPATH": path})
    return log.read_text().splitlines() if log.exists() else []


def clean(reg: Path) -> None:
    """Nothing left to commit, and the work tree's index files are HEAD's."""
    assert git("status", "--porcelain", cwd=reg).stdout == ""
    assert (reg / layout.INDEX).read_bytes() == \
        git("show", f"HEAD:{layout.INDEX}", cwd=reg).stdout.encode()
    assert not (reg / ".git" / "elite-cache" / "post-commit").exists()


def updated(n: int) -> dict[str, bytes]:
    body = manifest("alice", profile(n), created_at=T0 + 5, rate=0.95)
    return {layout.agent_path(agent_id_of(profile(n)), "manifest.json"):
            documents.to_bytes(body)}


def test_plain_commit_is_one_interpreter(reg: Path) -> None:
    write_files(reg, agent_files("alice", 1))
    git("add", "agents", cwd=reg)
    started = counted(reg, "commit", "-q", "-m", "alice")
    assert len(started) == 1 and "pre-commit" in started[0], started
    clean(reg)


def test_commit_all_and_amend_are_one_interpreter(reg: Path) -> None:
    write_files(reg, agent_files("alice", 1))
    git("add", "agents", cwd=reg)
    git("commit", "-q", "-m", "alice", cwd=reg)
    write_files(reg, updated(1))
    started = counted(reg, "commit", "-q", "-a", "-m", "update")
    assert len(started) == 1 and "pre-commit" in started[0], started
    clean(reg)
    write_files(reg, agent_files("bob", 2))
    git("add", "agents", cwd=reg)
    started = counted(reg, "commit", "-q", "--amend", "-m", "update and bob")
    assert len(started) == 1, started
    clean(reg)
    assert git("rev-list", "--count", "HEAD", cwd=reg).stdout.strip() == "3"  # init, alice, amended


def test_commit_of_paths_runs_post_commit_once(reg: Path) -> None:
    """A temporary index: the real index and the work tree are brought up to HEAD's by the
    post-commit step (the one case with a second interpreter)."""
    write_files(reg, {**agent_files("alice", 1), **agent_files("bob", 2)})
    git("add", "agents", cwd=reg)
    started = counted(reg, "commit", "-q", "-m", "alice", "--", *sorted(agent_files("alice", 1)))
    assert [line.split()[-1] for line in started] == ["pre-commit", "post-commit"], started
    lines = git("status", "--porcelain", cwd=reg).stdout.splitlines()
    assert lines and all("agents/" in line for line in lines)
    assert (reg / layout.INDEX).read_bytes() == \
        git("show", f"HEAD:{layout.INDEX}", cwd=reg).stdout.encode()
    assert not (reg / ".git" / "elite-cache" / "post-commit").exists()
    started = counted(reg, "commit", "-q", "-m", "bob")
    assert len(started) == 1, started
    clean(reg)


def test_merge_commit_is_the_pre_merge_hook_alone(reg: Path) -> None:
    """`git merge` of two branches that both changed INDEX.json: the elite-index merge driver
    resolves it, pre-merge-commit checks and writes the work tree (git runs no post-commit
    for a merge: before, the work tree's INDEX.json was left behind the index)."""
    two_branches(reg)
    started = counted(reg, "merge", "-q", "--no-edit", "side")
    # the driver runs during the merge (once per index file both sides changed), then the
    # hook for its commit, and nothing after it
    names = [line.split()[2] for line in started]
    assert "merge-driver" in names and names[-1] == "pre-merge-commit", started
    assert [n for n in names if n != "merge-driver"] == ["pre-merge-commit"], started
    clean(reg)
    assert set(index(reg, "HEAD")["agents"]) == {agent_id_of(profile(1)),
                                                 agent_id_of(profile(2))}
    run_cli("verify", cwd=reg)
