"""`git elite unpublish AGENT_ID [--reason TEXT] [--registry R]`: push a tombstone (SPEC §5.4)."""

from __future__ import annotations

import click

from git_elite.cli.commands.publish import report
from git_elite.cli.main import app
from git_elite.core import documents, layout, shortid
from git_elite.core.errors import EliteError
from git_elite.edges import output, store
from git_elite.edges import publish as core

SETTINGS = {"help_option_names": ["-h", "--help"]}


@click.command(context_settings=SETTINGS)
@click.argument("agent_id")
@click.option("--reason", default="withdrawn by its owner", show_default=True,
              help="Why the agent is withdrawn (public).")
@click.option("--registry", "name", metavar="R", help="Registry name, path or URL.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def command(ctx: click.Context, agent_id: str, reason: str, name: str | None,
            as_json: bool) -> int:
    """Withdraw an agent with a tombstone signed by its owner.

    The tombstone replaces manifest.json in the registry and is final: the agent leaves
    INDEX.json and can never be published again under the same agent_id. A copy is kept
    in $AGENTD_HOME/elite/<agent_id>/tombstone.json before anything is pushed.

    \b
    Examples:
      git elite unpublish 6ab89254e72d --reason "superseded" --registry origin
      (AGENT_ID: the 64 hex characters or any unambiguous prefix of 8 or more)
    """
    from git_elite.edges.agent_files import load_identity

    prefix = shortid.check(agent_id)
    key = load_identity()
    target = core.open_target(core.choose(name), key)
    agent_id = shortid.resolve(prefix, _known(target, prefix),
                               f"registry {target.registry.name}")
    raw = core.read_tip(target, layout.agent_path(agent_id, "manifest.json"))
    if raw is None:
        gone = core.read_tip(target, layout.agent_path(agent_id, "tombstone.json"))
        raise EliteError(f"agent {agent_id[:12]} is {'already withdrawn' if gone else 'not'} "
                         f"in registry {target.registry.name}")
    doc = documents.parse(raw, layout.agent_path(agent_id, "manifest.json"),
                          documents.MANIFEST)
    if doc.body.get("owner_did") != key.did:
        raise EliteError(f"agent {agent_id[:12]} belongs to {doc.body.get('owner_did')}; only "
                         f"its owner can withdraw it, not {key.did}", rule="ownership")
    tombstone = core.make_tombstone(key, agent_id, doc.created_at, app(ctx).now, reason)
    folder = store.home() / "elite" / agent_id
    store.ensure_dir(folder)
    store.atomic_write(folder / "tombstone.json", documents.to_bytes(tombstone))
    result = core.publish_files(target, [core.tombstone_item(agent_id, tombstone)],
                                f"unpublish {agent_id[:12]}\n\n{reason}\n")
    report(result, as_json, "withdrawn")
    if target.rid and result.commit:
        output.info(core.announce(target.rid))
    return 0 if result.ok else 1


def _known(target: core.Target, prefix: str) -> list[str]:
    """Agent ids to resolve a prefix against: the manifests made here ($AGENTD_HOME/elite/)
    and the registry's index at its tip (format 1: INDEX.json's agents; format 2: the shard
    index/<prefix[:2]>.json)."""
    return [p.name for p in core.elite_dirs()] + \
        shortid.indexed(lambda path: core.read_tip(target, path), prefix)
