"""`git elite hook <name>`: what the installed shims run (SPEC §7)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from git_elite.errors import HookError, Problem

CTX = {"help_option_names": ["-h", "--help"]}


def _reject(problems: list[Problem], summary: str) -> int:
    for p in problems:
        short = (p.commit or "")[:7] or "-------"
        print(f"git-elite: REJECT {short} {p.line()}", file=sys.stderr)
    print(f"git-elite: {summary}", file=sys.stderr)
    return 1


@click.group(context_settings=CTX)
def command() -> None:
    """Run a git hook (called by the shims `git elite hooks install` puts in place).

    \b
    Examples:
      git elite hook pre-commit
      echo "$old $new refs/heads/main" | git elite hook pre-receive
    """


@command.command("pre-receive", context_settings=CTX)
def pre_receive() -> int:
    """Check every pushed commit; refuse the push on any problem.

    \b
    Examples:
      echo "$old $new refs/heads/main" | git elite hook pre-receive
    """
    import time

    from git_elite import git, registry

    updates = []
    for line in sys.stdin.read().splitlines():
        parts = line.split()
        if len(parts) == 3:
            updates.append(registry.RefUpdate(*parts))
    repo = git.open_env(os.environ.get("GIT_DIR", "."))
    problems, checked = registry.check_push(repo, None, updates, now=int(time.time()))
    if problems:
        commits = len({p.commit for p in problems})
        return _reject(problems, f"push refused: {len(problems)} problem(s) in {commits} "
                       f"commit(s)/ref(s); {checked} commit(s) checked")
    print(f"git-elite: {checked} commit(s) verified", file=sys.stderr)
    return 0


def _staged(name: str) -> int:
    """pre-commit / pre-merge-commit: check what is being committed, stage INDEX.json."""
    import time

    from git_elite import engine, git, indexing, layout, registry

    repo = git.open_env(".")
    head = None if repo.head_is_unborn else repo.head.peel(git._pygit2().Commit).tree
    parent = git.TreeState(repo, head)
    index = repo.index
    new = git.IndexState(repo, index)
    if parent.read(layout.IDENTITY) is None and new.read(layout.IDENTITY) is None:
        return 0  # not a registry
    changes = git.index_changes(repo, index, head)
    problems = engine.check_change(parent, changes, new, check_index=False,
                                   now=int(time.time()), max_skew=registry.max_clock_skew(None))
    if problems:
        return _reject(problems, f"{name}: commit refused: {len(problems)} problem(s)")
    data = indexing.dumps(engine.expected_index(parent, changes, new))
    if not new.same(layout.INDEX, data):
        git.stage_blob(None, layout.INDEX, data)
    return 0


@command.command("pre-commit", context_settings=CTX)
def pre_commit() -> int:
    """Check the index being committed and stage the rebuilt INDEX.json.

    \b
    Examples:
      git elite hook pre-commit
    """
    return _staged("pre-commit")


@command.command("pre-merge-commit", context_settings=CTX)
def pre_merge_commit() -> int:
    """Check a merge about to be committed and stage the rebuilt INDEX.json.

    \b
    Examples:
      git elite hook pre-merge-commit
    """
    return _staged("pre-merge-commit")


@command.command("post-commit", context_settings=CTX)
def post_commit() -> int:
    """Bring the real index and the work tree's INDEX.json up to HEAD's.

    \b
    Examples:
      git elite hook post-commit
    """
    from git_elite import git, layout, store

    os.environ.pop("GIT_INDEX_FILE", None)
    repo = git.open_env(".")
    if repo.head_is_unborn or repo.workdir is None:
        return 0
    data = git.TreeState(repo, repo.head.peel(git._pygit2().Commit).tree).read(layout.INDEX)
    if data is None:
        return 0
    path = Path(repo.workdir) / layout.INDEX
    if not path.exists() or path.read_bytes() != data:
        store.atomic_write(path, data)
    if not git.IndexState(repo, repo.index).same(layout.INDEX, data):
        git.stage_blob(repo.workdir, layout.INDEX, data)
    return 0


@command.command("merge-driver", context_settings=CTX)
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("ours", type=click.Path(dir_okay=False))
@click.argument("theirs", type=click.Path(dir_okay=False))
@click.argument("name", required=False)
def merge_driver(base: str, ours: str, theirs: str, name: str | None) -> int:
    """The `elite-index` merge driver: merge INDEX.json agent by agent (git writes %A).

    \b
    Examples:
      git config merge.elite-index.driver 'git-elite hook merge-driver %O %A %B %P'
    """
    import json

    from git_elite import indexing, store

    def read(path: str) -> dict[str, object]:
        try:
            value = json.loads(Path(path).read_bytes() or b"{}")
        except (OSError, ValueError):
            raise HookError(f"{name or path}: not JSON; run `git elite index`") from None
        return value if isinstance(value, dict) else {}

    merged, conflicts = indexing.merge(read(base), read(ours), read(theirs))
    store.atomic_write(Path(ours), indexing.dumps(merged))
    if conflicts:
        print(f"git-elite: {name or 'INDEX.json'}: both sides changed agent(s) "
              f"{', '.join(c[:12] for c in conflicts)}; run `git elite index`", file=sys.stderr)
        return 1
    return 0
