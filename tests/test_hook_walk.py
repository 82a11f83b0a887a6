"""pre-receive's one range walk (SPEC §12 start-up): in a hook process (the config snapshot
held) the commit bound's `git rev-list --topo-order --parents` also answers "is the old tip
an ancestor" and "which commits, oldest first" — one git process instead of three. Each
answer is compared with git's own (`merge-base --is-ancestor`, `rev-list --reverse
--topo-order`) on every pair of commits of a real history with merges, and a real push is
traced (GIT_TRACE) to count the processes the hook starts."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from git_elite.edges import git as egit
from tests.conftest import git
from tests.helpers_registry import agent_files, isolated_module_env, make_server, write_files


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    """A bare repository whose commits form two branches merged twice (a merge's second
    parent is the only path to some commits), plus an unrelated root."""
    tmp = tmp_path_factory.mktemp("walk")
    with isolated_module_env(tmp):
        work = tmp / "work"
        git("init", "-q", str(work))
        names: list[str] = []

        def commit(message: str) -> None:
            git("commit", "-q", "--allow-empty", "-m", message, cwd=work)
            names.append(git("rev-parse", "HEAD", cwd=work).stdout.strip())

        commit("a")
        git("checkout", "-q", "-b", "side", cwd=work)
        commit("s1")
        commit("s2")
        git("checkout", "-q", "main", cwd=work)
        commit("b")
        git("merge", "-q", "--no-ff", "-m", "m1", "side", cwd=work)
        names.append(git("rev-parse", "HEAD", cwd=work).stdout.strip())
        git("checkout", "-q", "side", cwd=work)
        commit("s3")
        git("checkout", "-q", "main", cwd=work)
        commit("c")
        git("merge", "-q", "--no-ff", "-m", "m2", "side", cwd=work)
        names.append(git("rev-parse", "HEAD", cwd=work).stdout.strip())
        git("checkout", "-q", "--orphan", "other", cwd=work)
        commit("root2")
        bare = tmp / "bare.git"
        git("clone", "-q", "--bare", "--mirror", str(work), str(bare))
        yield bare, names


def test_the_walk_answers_as_git_does(history: tuple[Path, list[str]],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    bare, names = history
    monkeypatch.chdir(bare)
    monkeypatch.setenv("GIT_DIR", str(bare))
    cases = 0
    for old in names:
        for new in names:
            expected_ancestor = git("merge-base", "--is-ancestor", old, new,
                                    check=False).returncode == 0
            expected_list = git("rev-list", "--reverse", "--topo-order", new, f"^{old}"
                                ).stdout.split()
            egit.snapshot()
            try:
                count = egit.count_new_commits(None, old, new, 1000)
                assert (old, new) in egit._WALKS  # the walk is kept: no further process
                assert count == len(expected_list)
                assert egit.is_ancestor(None, old, new) is expected_ancestor, (old, new)
                assert egit.new_commits(None, old, new) == expected_list
            finally:
                egit.snapshot_clear()
            assert not egit._WALKS
            cases += 1
    assert cases == len(names) ** 2 and len(names) >= 8


def test_over_the_bound_the_count_is_exact_and_nothing_is_kept(
        history: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    bare, names = history
    monkeypatch.chdir(bare)
    monkeypatch.setenv("GIT_DIR", str(bare))
    old, new = names[0], names[-2]  # the root "a" and the second merge
    total = len(git("rev-list", new, f"^{old}").stdout.split())
    egit.snapshot()
    try:
        assert egit.count_new_commits(None, old, new, total - 1) == total
        assert not egit._WALKS
        assert egit.is_ancestor(None, old, new)  # from `git merge-base`
        assert egit.count_new_commits(None, old, new, total) == total
        assert egit._WALKS
    finally:
        egit.snapshot_clear()


def test_without_the_snapshot_nothing_is_kept(history: tuple[Path, list[str]],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    bare, names = history
    monkeypatch.chdir(bare)
    assert egit.count_new_commits(None, names[0], names[-2], 1000) > 0
    assert not egit._WALKS


def test_a_push_costs_the_hook_three_git_processes(tmp_path: Path) -> None:
    work, _ = make_server(tmp_path)
    write_files(work, agent_files("alice", 41))
    git("add", "agents", cwd=work)
    git("commit", "-q", "-m", "one agent", cwd=work)
    trace = tmp_path / "trace"
    proc = subprocess.run(["git", "push", "-q", "origin", "HEAD:main"], cwd=work,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "GIT_TRACE": str(trace)})
    assert proc.returncode == 0, proc.stderr
    assert "1 commit(s) verified" in proc.stderr
    hook: list[str] = []  # the git processes between git's start of the hook and its next
    inside = False
    for line in trace.read_text().splitlines():
        if "trace: run_command:" in line:
            inside = "hooks/pre-receive" in line
        elif inside and "trace: built-in: git " in line:
            hook.append(line.split("trace: built-in: git ", 1)[1].split()[0])
    # was: + merge-base, rev-list. config and cat-file are begun together, before the
    # checks' modules load (hooks4): their order in the trace is the scheduler's
    assert sorted(hook) == ["cat-file", "config", "rev-list"], hook
