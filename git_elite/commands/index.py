"""`git elite index [--check]`: rebuild or check INDEX.json in the work tree (SPEC §6)."""

from __future__ import annotations

import click

from git_elite import output
from git_elite.errors import EliteError, RegistryError

CTX = {"help_option_names": ["-h", "--help"]}


@click.command(context_settings=CTX)
@click.option("--check", is_flag=True, help="Only check; exit 1 when INDEX.json is stale.")
def command(check: bool) -> int:
    """Rebuild INDEX.json from IDENTITY.json and agents/*/manifest.json of the work tree.

    \b
    Examples:
      git elite index
      git elite index --check
    """
    from git_elite import engine, git, indexing, layout, store
    from git_elite.state import DirState

    root = git.run(["rev-parse", "--show-toplevel"]).stdout.decode().strip()
    tree = DirState(root)
    if tree.read(layout.IDENTITY) is None:
        raise RegistryError(f"{root}: not a registry (no IDENTITY.json)")
    want = engine.full_index(tree)
    data = indexing.dumps(want)
    current = tree.read(layout.INDEX)
    if check:
        try:
            same = current is not None and engine.strict_index(current) == want
        except EliteError:
            same = False
        if not same:
            raise RegistryError("INDEX.json is not the rebuild; run `git elite index`",
                                rule="index", path=layout.INDEX)
        output.info(f"INDEX.json is up to date ({want['agent_count']} agents)")
        return 0
    if current != data:
        store.atomic_write(tree.root / layout.INDEX, data)
    output.info(f"INDEX.json: {want['agent_count']} agents, "
                f"{len(want['rankings']['general'])} elite")
    return 0
