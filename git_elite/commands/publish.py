"""`git elite publish [DIR…] [--registry R] [--no-push] [--json]` (SPEC §10)."""

from __future__ import annotations

from pathlib import Path

import click

from git_elite import keys, layout, output
from git_elite import publish as core
from git_elite.cli import app
from git_elite.errors import EliteError, RegistryError, UsageError
from git_elite.registries import Registry

SETTINGS = {"help_option_names": ["-h", "--help"]}
ORDER = (core.PUBLISHED, core.UP_TO_DATE, core.BUILT, core.REFUSED, core.NOT_PUSHED)


@click.command(context_settings=SETTINGS)
@click.argument("dirs", nargs=-1, type=click.Path(path_type=Path, file_okay=False,
                                                   exists=True))
@click.option("--registry", "name", metavar="R",
              help="Registry name, path or URL (file://, ssh://, https://, rad://).")
@click.option("--no-push", is_flag=True, help="Build and verify the commit, do not push.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def command(ctx: click.Context, dirs: tuple[Path, ...], name: str | None, no_push: bool,
            as_json: bool) -> int:
    """Sign and push manifests to a registry.

    Publishes every $AGENTD_HOME/elite/<agent_id>/ (or the given directories) owned by this
    node's identity. Run inside an agent project's git repo, it records that repo as the
    manifests' repo_ref (origin URL, HEAD commit, path) and re-signs them; the signed
    manifest is written back to $AGENTD_HOME/elite/ before anything is pushed. The commit is
    built in the registry's cache clone, verified with the registry's own rules, pushed,
    and rebuilt on the new tip when someone else pushed first.

    \b
    Examples:
      git elite publish --registry https://git.example.org/chrysalis-elites.git
      git elite publish ~/.agentd/elite/6ab8... --registry origin --no-push
      git elite publish --json
    """
    from git_elite.generate import load_identity

    key = load_identity()
    registry = core.choose(name)
    result = core.Result(registry.name)
    agents = _load(dirs, key, app(ctx).now, result)
    if agents:
        _publish(registry, agents, key, app(ctx).now, no_push, result)
    report(result, as_json, "published")
    return 0 if result.ok else 1


def _load(dirs: tuple[Path, ...], key: keys.Keypair, now: int, result: core.Result
          ) -> list[core.LocalAgent]:
    """Read, check ownership, re-sign for the repo we stand in, and save back."""
    folders = list(dirs) or core.elite_dirs()
    if not folders:
        raise UsageError("no manifests in $AGENTD_HOME/elite/ (run `git elite generate`)")
    repo_ref = core.repo_ref_here(Path.cwd())
    agents = []
    for folder in folders:
        if not dirs and (folder / "tombstone.json").exists():
            output.info(f"skipping {folder.name}: withdrawn (tombstone.json)")
            continue
        try:
            agent = core.load_dir(folder)
        except EliteError as err:
            result.add([core.Item(folder.name, {})], core.REFUSED, str(err))
            continue
        if agent.body["owner_did"] != key.did:
            result.add([core.Item(agent.agent_id, {})], core.REFUSED,
                       f"owned by {agent.body['owner_did']}, not this node's {key.did}")
            continue
        agents.append(_resign(agent, key, now, repo_ref))
    return agents


def _resign(agent: core.LocalAgent, key: keys.Keypair, now: int,
            repo_ref: dict[str, object] | None, previous: bytes | None = None
            ) -> core.LocalAgent:
    fresh = core.prepare(agent, key, now, repo_ref, previous)
    if fresh.manifest != agent.manifest:
        core.save_local(fresh)
    return fresh


def _publish(registry: Registry, agents: list[core.LocalAgent], key: keys.Keypair,
             now: int, no_push: bool, result: core.Result) -> None:
    items = [core.Item(a.agent_id, {}) for a in agents]
    try:
        target = core.open_target(registry, key)
    except RegistryError as err:
        result.add(items, core.NOT_PUSHED, f"{err.message}; the signed manifests are kept in "
                   "$AGENTD_HOME/elite/")
        return
    state = core.tip_state(target)
    ready = [_resign(a, key, now, None, state.read(layout.agent_path(
        a.agent_id, "manifest.json")) if state is not None else None) for a in agents]
    done = core.publish_files(target, [core.agent_item(a) for a in ready],
                              f"publish {len(ready)} agent(s)\n\nby {key.did}\n",
                              push=not no_push)
    merge(result, done)
    if target.rid and done.commit and not no_push:
        output.info(core.announce(target.rid))


def merge(into: core.Result, done: core.Result) -> None:
    into.outcomes += done.outcomes
    into.commit, into.pushes, into.retries = done.commit, done.pushes, done.retries


def report(result: core.Result, as_json: bool, verb: str) -> None:
    """One line per item (stdout), the server's/engine's lines and a summary (stderr)."""
    for outcome in result.outcomes:
        for line in outcome.lines:
            output.info(line)
    if as_json:
        output.emit_json(result.to_json())
    else:
        for o in result.outcomes:
            output.data(f"{o.status:<10} {o.name}" + (f": {o.message}" if o.message else ""))
    counts = {s: sum(o.status == s for o in result.outcomes) for s in ORDER}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or f"nothing {verb}"
    where = f"; commit {result.commit[:12]}" if result.commit else ""
    retries = f"; {result.retries} retr{'y' if result.retries == 1 else 'ies'}" \
        if result.retries else ""
    output.info(f"{result.registry}: {summary}{where}{retries}")
