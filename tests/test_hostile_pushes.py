"""Cost per pushed commit (issue 17, item 7): a commit that changes no path (its tree is its
parent's) costs no engine run, and a push brings at most `git config elite.maxCommitsPerPush`
(default 1,000) commits, refused with one clear line before anything is read. Real pushes
into a bare server with the pre-receive hook."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from git_elite.core import engine
from git_elite.edges import git, gitcheck
from tests.conftest import git as run_git
from tests.helpers_attacks import Server, head, refused, reset
from tests.helpers_registry import push


@pytest.fixture
def srv(shared: Server) -> Iterator[Server]:
    reset(shared)
    yield shared
    run_git("config", "--unset", "elite.maxCommitsPerPush", cwd=shared.bare, check=False)


def empty_commits(work: Path, count: int) -> str:
    """`count` commits on HEAD that change nothing (one shell, no hooks); the last id."""
    script = ('t=$(git rev-parse HEAD^{tree}); c=$(git rev-parse HEAD); '
              f'for i in $(seq {count}); do c=$(git commit-tree $t -p $c -m e$i); done; '
              'git update-ref HEAD $c; echo $c')
    return subprocess.run(["sh", "-c", script], cwd=work, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_more_commits_than_the_limit_are_refused_in_one_line(srv: Server) -> None:
    run_git("config", "elite.maxCommitsPerPush", "5", cwd=srv.bare)
    tip = empty_commits(srv.work, 6)
    result = push(srv.work)
    lines = refused(srv, tip, "branch", "refs/heads/main", result=result)
    assert len(lines) == 1
    assert "the push brings 6 commits; at most 5 are checked per push (git config " \
           "elite.maxCommitsPerPush)" in lines[0]


def test_up_to_the_limit_is_accepted(srv: Server) -> None:
    run_git("config", "elite.maxCommitsPerPush", "5", cwd=srv.bare)
    tip = empty_commits(srv.work, 5)
    result = push(srv.work)
    assert result.returncode == 0, result.stderr
    assert head(srv.bare, "main") == tip


def test_the_default_limit_is_1000() -> None:
    assert gitcheck.MAX_COMMITS_PER_PUSH == 1000


def test_a_bad_limit_is_named(srv: Server) -> None:
    run_git("config", "elite.maxCommitsPerPush", "lots", cwd=srv.bare)
    empty_commits(srv.work, 1)
    result = push(srv.work)
    assert result.returncode != 0 and "elite.maxCommitsPerPush: 'lots' is not a number" in \
        result.stderr and "internal error" not in result.stderr


def test_empty_commits_cost_no_engine_run(srv: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """200 commits that change nothing: accepted by the real hook, and checked in-process
    without a single engine run (each used to re-parse INDEX.json)."""
    tip = empty_commits(srv.work, 200)
    started = time.monotonic()
    result = push(srv.work)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 20
    calls: list[int] = []
    real = engine.check_change
    monkeypatch.setattr(engine, "check_change", lambda *a, **k: calls.append(1) or real(*a, **k))
    repo = git.open_repo(srv.work)
    problems, checked = gitcheck.check_push(repo, srv.work, [gitcheck.RefUpdate(
        srv.tip, tip, "refs/heads/main")])
    assert problems == [] and checked == 200 and calls == []
