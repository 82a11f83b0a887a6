"""`git elite import AGENT_ID`: a verified copy into $AGENTD_HOME/elite/imported/ (SPEC §1)."""

from __future__ import annotations

from typing import Any

import click

from git_elite.cli.main import app
from git_elite.core import shortid
from git_elite.core.errors import RegistryError, TrustError
from git_elite.edges import output

CTX = {"help_option_names": ["-h", "--help"]}


@click.command(context_settings=CTX)
@click.argument("agent_id")
@click.option("--registry", "names", multiple=True, metavar="R",
              help="Registry name, path or URL (repeatable). Default: as for discover.")
@click.option("--allow-untrusted", is_flag=True, help="Import even if you do not trust "
              "the owner.")
@click.option("--offline", is_flag=True, help="No network: read the cached "
              "copies (a registry on this machine, a path or file:// URL, is fetched from "
              "where it is).")
@click.option("--url", "urls", multiple=True, metavar="URL", help="Read a registry over "
              "HTTP(S) without cloning, as discover --url (repeatable).")
@click.option("--allow-stale", is_flag=True, help="Warn, do not refuse, when a registry's "
              "signed timestamp is missing, expired, withheld or rolled back.")
@click.option("--json", "as_json", is_flag=True, help="Machine output: where it was written "
              "(docs/spec.md §10).")
@click.pass_context
def command(ctx: click.Context, agent_id: str, names: tuple[str, ...], allow_untrusted: bool,
            offline: bool, urls: tuple[str, ...], allow_stale: bool, as_json: bool) -> int:
    """Copy a verified agent (manifest.json, profile.json, and prompt.md/demos.json when the
    registry has them) byte for byte into $AGENTD_HOME/elite/imported/AGENT_ID/.

    The newest valid manifest across the registries read wins (ties: the registry named
    first), and an agent its owner withdrew in any of them is refused, as in discover. An owner you
    do not trust (directly or through endorsements) is refused unless --allow-untrusted.

    \b
    Examples:
      git elite import 6ab89254e72d          (any unambiguous prefix of 8+ hex)
      git elite import 6ab89254 --registry origin --allow-untrusted
      git elite import 6ab89254e72d --url https://elites.example.org/
      git elite import 6ab89254e72d --json
    """
    from git_elite.cli.discovering import open_sources, trust_paths
    from git_elite.edges import store

    prefix = shortid.check(agent_id)
    sources = open_sources(names, None, None, offline, urls, now=app(ctx).now,
                           allow_stale=allow_stale)
    chosen = choose(sources, prefix)
    agent_id = chosen.agent_id
    unpinned: list[str] = []
    trusted, _ = trust_paths(sources, None, app(ctx).now, unpinned)
    if unpinned:  # SPEC §6.2: a copy that does not serve what its head pins is not imported from
        raise RegistryError(f"{len(unpinned)} trust document(s) not the ones INDEX.json pins "
                            "(above): this copy serves another state than it signs; not "
                            "imported", rule="index")
    if chosen.owner_did not in trusted and not allow_untrusted:
        raise TrustError(f"agent {agent_id[:12]} is owned by {chosen.owner_did}, whom you do "
                         f"not trust; trust them with `git elite trust add {chosen.owner_did}` "
                         "or pass --allow-untrusted")
    files = files_of(sources, chosen)
    target = store.ensure_home() / "elite" / "imported" / agent_id
    for path, data in sorted(files.items()):
        store.atomic_write(target / path.rsplit("/", 1)[1], data)
    output.info(f"git-elite: imported {agent_id[:12]} from {chosen.registry} "
                f"(owner {chosen.owner_did})")
    if as_json:
        output.emit_json({"agent_id": agent_id, "path": str(target),
                          "registry": chosen.registry, "owner_did": chosen.owner_did,
                          "trusted": chosen.owner_did in trusted,
                          "files": sorted(p.rsplit("/", 1)[1] for p in files)})
    else:
        output.data(str(target))
    return 0


def choose(sources: list[Any], prefix: str) -> Any:
    """The candidate `import` takes for an agent id prefix: the newest manifest across the
    registries that the rule engine accepts (failures named on stderr). Also the MCP
    server's resource reads (cli/mcp_server)."""
    from git_elite.core import discover
    from git_elite.edges import registry_sources, registry_union

    agent_id = shortid.resolve(prefix, _known(sources, prefix),
                               ", ".join(s.name for s in sources))
    found = _listed(sources, agent_id)
    dropped: list[discover.Dropped] = []
    winner = discover.resolve(found, registry_union.verifier(  # an owner's tombstone anywhere
        sources, registry_sources.verifier(sources)), dropped)
    for item in dropped:
        for problem in item.problems:
            output.warn(f"{item.candidate.registry}: {problem.line()}")
    if winner is None:
        raise RegistryError(f"agent {agent_id[:12]}: no valid manifest in "
                            f"{', '.join(c.registry for c in found)}")
    return found[winner]


def files_of(sources: list[Any], chosen: Any) -> dict[str, bytes]:
    """The chosen agent's files (path -> bytes), read and checked again as they are read."""
    from git_elite.edges import registry_sources

    source = next(s for s in sources if s.name == chosen.registry)
    files, _ = registry_sources.check_agent(source, chosen)
    registry_sources.remember_shown(sources)  # no copy may go back on it later (§6.2)
    return dict(files)


def _known(sources: list[Any], prefix: str) -> list[str]:
    """The agent ids the registries' indexes list that may start with `prefix` (format 1:
    INDEX.json's agents; format 2: the one shard `index/<prefix[:2]>.json`)."""
    known: list[str] = []
    for source in sources:
        index = source.index()
        if isinstance(index, dict):
            agents = index.get("agents")
        else:
            agents = index.shard(prefix[:2]) if index.fmt >= 2 else dict(index.entries())
        known += list(agents) if isinstance(agents, dict) else []
    return known


def _listed(sources: list[Any], agent_id: str) -> list[Any]:
    from git_elite.core import discover

    found = []
    for source in sources:
        entry = source.index().entry(agent_id)
        listed = discover.candidate(source.name, agent_id, entry, None, elite_only=False)
        if listed is not None:
            found.append(listed)
    if not found:
        raise RegistryError(f"agent {agent_id[:12]} is not listed in "
                            f"{', '.join(s.name for s in sources)}")
    return discover.merge(found, {s.name: i for i, s in enumerate(sources)})[agent_id]
