"""`git elite hook <name>`: what the installed shims run (SPEC §7)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from git_elite.cli import hookrun
from git_elite.core.errors import HookError

CTX = {"help_option_names": ["-h", "--help"]}


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
    return hookrun.pre_receive()


@command.command("post-receive", context_settings=CTX)
def post_receive() -> int:
    """Sign a new timestamp after an accepted push of the registry branch (needs
    `git config elite.timestampKey FILE`; see docs/freshness.md).

    \b
    Examples:
      echo "$old $new refs/heads/main" | git elite hook post-receive
    """
    return hookrun.post_receive()


@command.command("pre-commit", context_settings=CTX)
def pre_commit() -> int:
    """Check the index being committed and stage the rebuilt index files (INDEX.json, shards).

    \b
    Examples:
      git elite hook pre-commit
    """
    return hookrun.staged("pre-commit")


@command.command("pre-merge-commit", context_settings=CTX)
def pre_merge_commit() -> int:
    """Check a merge about to be committed and stage the rebuilt index files.

    \b
    Examples:
      git elite hook pre-merge-commit
    """
    return hookrun.staged("pre-merge-commit")


@command.command("post-commit", context_settings=CTX)
def post_commit() -> int:
    """Bring the real index and the work tree's index files up to HEAD's.

    \b
    Examples:
      git elite hook post-commit
    """
    return hookrun.post_commit()


@command.command("merge-driver", context_settings=CTX)
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("ours", type=click.Path(dir_okay=False))
@click.argument("theirs", type=click.Path(dir_okay=False))
@click.argument("name", required=False)
def merge_driver(base: str, ours: str, theirs: str, name: str | None) -> int:
    """The `elite-index` merge driver: merge a shard (or a format-1 INDEX.json) agent by
    agent, rebuild a format-2 head for the merged tree (git writes %A).

    \b
    Examples:
      git config merge.elite-index.driver 'git-elite hook merge-driver %O %A %B %P'
    """
    import json

    from git_elite.core import indexing
    from git_elite.edges import store

    def read(path: str) -> dict[str, object]:
        try:
            value = json.loads(Path(path).read_bytes() or b"{}")
        except (OSError, ValueError):
            raise HookError(f"{name or path}: not JSON; run `git elite index`") from None
        return value if isinstance(value, dict) else {}

    from git_elite.core import layout

    mine = read(ours)
    slot = layout.classify(name) if name else None
    if (mine.get("schema_version") == 2 and "shards" in mine) or \
            (slot is not None and slot.kind in ("ranked", "trust")):
        return _merge_head(Path(ours), name)
    merged, conflicts = indexing.merge(read(base), mine, read(theirs))
    store.atomic_write(Path(ours), indexing.dumps(merged))
    if conflicts:
        print(f"git-elite: {name or 'INDEX.json'}: both sides changed agent(s) "
              f"{', '.join(c[:12] for c in conflicts)}; run `git elite index`", file=sys.stderr)
        return 1
    return 0


def _merge_head(ours: Path, name: str | None) -> int:
    """A format-2 head, index/ranked.json or a trust shard: they come from the shards and
    the documents, so they are rebuilt on our commit with the changes the merged commit
    brings (`git merge` names it in GITHEAD_<id>); a file the rebuild leaves as ours is
    kept."""
    import os

    from git_elite.core import layout
    from git_elite.core.errors import EliteError
    from git_elite.edges import git, gitcheck, store

    theirs = [key[len("GITHEAD_"):] for key in os.environ if key.startswith("GITHEAD_")]
    try:
        files = gitcheck.merged_index(git.open_env("."), theirs[0]) if len(theirs) == 1 \
            else None
    except EliteError:
        files = None
    path = name or layout.INDEX
    if files is not None and path not in files:
        return 0  # the rebuild keeps our bytes
    data = files.get(path) if files is not None else None
    if data is None:
        print(f"git-elite: {name or 'INDEX.json'}: cannot rebuild the index head here; "
              "run `git elite index` and commit", file=sys.stderr)
        return 1
    store.atomic_write(ours, data)
    return 0
