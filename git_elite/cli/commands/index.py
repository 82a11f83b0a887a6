"""`git elite index [--check]`: rebuild or check the index files in the work tree (SPEC §6):
INDEX.json and, in format 2, the shards index/<ab>.json."""

from __future__ import annotations

import click

from git_elite.core.errors import EliteError, RegistryError
from git_elite.edges import output

CTX = {"help_option_names": ["-h", "--help"]}


@click.command(context_settings=CTX)
@click.option("--check", is_flag=True,
              help="Only check; exit 1 when INDEX.json or a shard is stale.")
def command(check: bool) -> int:
    """Rebuild INDEX.json, index/<ab>.json, index/ranked.json and index/trust/<ab>.json from
    IDENTITY.json, the manifests, attestations, endorsements and rotations of the work tree
    (format 1: INDEX.json alone). On a format-2 registry whose INDEX.json pins nothing yet
    (written by an earlier release), commit its output alone first: that is the upgrade the
    hooks require before any other change.

    \b
    Examples:
      git elite index
      git elite index --check
      git elite index && git add -A INDEX.json index \\
          && git commit -m "Pin the index"
    """
    from git_elite.core import context, engine, layout
    from git_elite.edges import git, store
    from git_elite.edges.worktree import DirState

    root = git.run(["rev-parse", "--show-toplevel"]).stdout.decode().strip()
    tree = DirState(root)
    if tree.read(layout.IDENTITY) is None:
        raise RegistryError(f"{root}: not a registry (no IDENTITY.json)")
    want = engine.full_index(tree)
    head = context.strict_index(want[layout.INDEX] or b"{}")
    summary = f"{head['agent_count']} agents, {len(head['rankings']['general'])} ranked"
    if check:
        stale = [p for p, data in sorted(want.items()) if not _same(tree.read(p), data, p)]
        if stale:
            raise RegistryError(f"{stale[0]} is not the rebuild" + (
                f" (and {len(stale) - 1} more index file(s))" if len(stale) > 1 else "")
                + "; run `git elite index`", rule="index", path=stale[0])
        output.info(f"the index is up to date ({summary})")
        return 0
    for rel, data in sorted(want.items()):
        target = tree.root / rel
        if data is None:
            target.unlink(missing_ok=True)
        elif tree.read(rel) != data:
            target.parent.mkdir(parents=True, exist_ok=True)
            store.atomic_write(target, data)
    output.info(f"INDEX.json: {summary}")
    return 0


def _same(found: bytes | None, want: bytes | None, path: str) -> bool:
    """INDEX.json compares as a parsed value; a shard by its bytes (the head pins their
    sha256)."""
    from git_elite.core import context, layout

    if found is None or want is None:
        return found is want
    if path != layout.INDEX:
        return found == want
    try:
        return bool(context.strict_index(found) == context.strict_index(want))
    except EliteError:
        return False
