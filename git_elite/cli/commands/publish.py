"""`git elite publish [DIR…] [--registry R] [--from-evals] [--no-push] [--json]` (SPEC §10)."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from git_elite.cli.commands import generate as gen
from git_elite.cli.main import app
from git_elite.core import keys, layout
from git_elite.core.errors import EliteError, RegistryError, UsageError
from git_elite.edges import output, succession
from git_elite.edges import publish as core
from git_elite.edges.known_registries import Registry

SETTINGS = {"help_option_names": ["-h", "--help"]}
ORDER = (core.PUBLISHED, core.UP_TO_DATE, core.BUILT, core.REFUSED, core.NOT_PUSHED)
# `--from-evals` takes generate's own options (the same click objects: same names, defaults
# and help), all but its --json: publish has its own.
NO_MANIFESTS = ("no manifests in {} (run `git elite generate`; it writes only the agents "
                "that qualify)")
EVAL_OPTIONS = [p for p in gen.command.params if p.name != "as_json"]


@click.command(context_settings=SETTINGS)
@click.argument("dirs", nargs=-1, type=click.Path(path_type=Path, file_okay=False,
                                                   exists=True))
@click.option("--registry", "name", metavar="R",
              help="Registry name, path or URL (file://, ssh://, https://, rad://).")
@click.option("--from-evals", is_flag=True,
              help="Run `git elite generate` first (with the eval options below) and publish "
                   "the manifests it wrote.")
@click.option("--no-push", is_flag=True, help="Build and verify the commit, do not push.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def command(ctx: click.Context, /, dirs: tuple[Path, ...], name: str | None, from_evals: bool,
            no_push: bool, as_json: bool, **eval_options: Any) -> int:
    """Sign and push manifests to a registry.

    Publishes every $AGENTD_HOME/elite/<agent_id>/ (or the given directories) owned by this
    node's identity. Run inside an agent project's git repo, it records that repo as the
    manifests' repo_ref (origin URL, HEAD commit, path) and re-signs them; the signed
    manifest is written back to $AGENTD_HOME/elite/ before anything is pushed. The commit is
    built in the registry's cache clone, verified with the registry's own rules, pushed,
    and rebuilt on the new tip when someone else pushed first.

    With --from-evals it first runs `git elite generate` (options --evals, --agents, --now,
    --all, --min-success, --min-tasks, --min-recent, --strict; its table goes to stderr)
    and publishes exactly the manifests that run wrote.

    \b
    Examples:
      git elite publish --registry https://git.example.org/chrysalis-elites.git
      git elite publish ~/.agentd/elite/6ab8... --registry origin --no-push
      git elite publish --json
      git elite publish --from-evals --agents agents.yaml --registry origin
    """
    from git_elite.edges.agent_files import load_identity

    _check_eval_options(ctx, dirs, from_evals)
    if from_evals:
        dirs = generated(ctx, eval_options)
    key = load_identity()
    if not dirs and not core.elite_dirs():
        raise EliteError(NO_MANIFESTS.format(core.elite_root()))
    registry = core.choose(name)
    result = core.Result(registry.name)
    agents = _load(dirs, key, app(ctx).now, result)
    if agents:
        _publish(registry, agents, key, app(ctx).now, no_push, result)
    report(result, as_json, "published")
    return 0 if result.ok else 1


def _check_eval_options(ctx: click.Context, dirs: tuple[Path, ...], from_evals: bool) -> None:
    given = [p.opts[0] for p in EVAL_OPTIONS if p.name and
             ctx.get_parameter_source(p.name) != click.core.ParameterSource.DEFAULT]
    if given and not from_evals:
        raise UsageError(f"{', '.join(given)} can only be used with --from-evals")
    if from_evals and dirs:
        raise UsageError("--from-evals publishes what generate writes; give no directories")


def generated(ctx: click.Context, options: dict[str, Any]) -> tuple[Path, ...]:
    """Run the generate command itself (its --json rows captured, its table sent to stderr
    so publish's stdout stays clean); the directories it wrote."""
    rows_json = io.StringIO()
    with contextlib.redirect_stdout(rows_json):
        ctx.invoke(gen.command, as_json=True, **options)
    rows = json.loads(rows_json.getvalue())
    with contextlib.redirect_stdout(sys.stderr):
        gen.table(rows)
    written = tuple(Path(row["path"]) for row in rows if row["path"])
    if not written:
        raise EliteError("no agent qualified, nothing to publish (see the table above; "
                         "--all publishes every agent)")
    return written


def _load(dirs: tuple[Path, ...], key: keys.Keypair, now: int, result: core.Result
          ) -> list[core.LocalAgent]:
    """Read, check ownership, re-sign for the repo we stand in, and save back."""
    folders = list(dirs) or core.elite_dirs()
    if not folders:
        raise EliteError(NO_MANIFESTS.format(core.elite_root()))
    repo_ref = core.repo_ref_here(Path.cwd())
    rotations = succession.local_rotations()
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
        steps = succession.chain(agent.body["owner_did"], key.did, rotations)
        if steps is None:
            result.add([core.Item(agent.agent_id, {})], core.REFUSED,
                       f"owned by {agent.body['owner_did']}, not this node's {key.did}")
            continue
        if steps:  # the old key's manifest: its successor (this key) takes it over
            output.info(f"{agent.agent_id[:12]}: owned by your rotated key "
                        f"{agent.body['owner_did']}; re-signed by {key.did}")
            agent = succession.adopt(agent, key, now)
            core.save_local(agent)
            result.rotations.update(steps)
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
                   f"{core.elite_root()}")
        return
    from git_elite.edges import cache

    # the cache is read from here on: damage git reports there means one fresh clone and a
    # second try (nothing was pushed yet), or one line naming the cache (cache.Mender)
    done = cache.Mender(target.registry)(lambda: _build_and_push(target, agents, key, now,
                                                                 no_push, result.rotations))
    merge(result, done)
    if target.rid and done.commit and not no_push:
        output.info(core.announce(target.rid))


def _build_and_push(target: core.Target, agents: list[core.LocalAgent], key: keys.Keypair,
                    now: int, no_push: bool, rotations_raw: Iterable[bytes]) -> core.Result:
    state = core.tip_state(target)
    ready = [_resign(a, key, now, None, state.read(layout.agent_path(
        a.agent_id, "manifest.json")) if state is not None else None) for a in agents]
    rotations = [succession.rotation_item(raw) for raw in sorted(rotations_raw)]
    return core.publish_files(target, rotations + [core.agent_item(a) for a in ready],
                              f"publish {len(ready)} agent(s)\n\nby {key.did}\n",
                              push=not no_push)


def merge(into: core.Result, done: core.Result) -> None:
    into.outcomes += done.outcomes
    into.commit, into.pushes, into.retries = done.commit, done.pushes, done.retries


def report(result: core.Result, as_json: bool, verb: str) -> None:
    """Results on stdout (one line per item that went in, or the --json list); refusals,
    the server's lines and a summary on stderr, each problem said once. `verb` names what
    success means for this command ("published", "withdrawn", "pushed")."""
    for o in result.outcomes:
        if o.status in core.SUCCESS and not as_json:
            status = verb if o.status == core.PUBLISHED else o.status
            output.data(f"{status:<10} {o.name}" + (f": {o.message}" if o.message else ""))
        elif o.status not in core.SUCCESS:
            output.info(f"git-elite: {o.status}: {o.name}: {o.message}")
        for line in o.lines:
            output.info(line)
    if as_json:
        output.emit_json(result.to_json())
    counts = {s: sum(o.status == s for o in result.outcomes) for s in ORDER}
    summary = ", ".join(f"{n} {verb if s == core.PUBLISHED else s}"
                        for s, n in counts.items() if n) or f"nothing {verb}"
    where = f"; commit {result.commit[:12]}" if result.commit else ""
    retries = f"; {result.retries} retr{'y' if result.retries == 1 else 'ies'}" \
        if result.retries else ""
    output.info(f"git-elite: {result.registry}: {summary}{where}{retries}")


command.params[3:3] = EVAL_OPTIONS  # after --from-evals, in generate's order
