"""`git elite attest AGENT_ID --evals LOG… [--registry R] [--suite S]` and
`git elite attest --revoke AGENT_ID` (SPEC §5.8, §10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from git_elite.cli.commands.publish import report
from git_elite.cli.main import app
from git_elite.core import attest, documents, keys, layout, shortid
from git_elite.core.errors import EliteError, RegistryError, UsageError
from git_elite.edges import output, store
from git_elite.edges import publish as core
from git_elite.edges.generating import expand, read_all

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.command(context_settings=CONTEXT)
@click.argument("agent_id")
@click.option("--evals", "eval_paths", multiple=True, type=click.Path(path_type=Path),
              metavar="LOG", help="Your own eval log (file, or a directory holding one); "
              "repeatable. Either Chrysalis format.")
@click.option("--registry", "name", metavar="R", help="Registry name, path or URL.")
@click.option("--suite", default="local", show_default=True, metavar="S",
              help="Name or URL of the task set you ran the agent on.")
@click.option("--revoke", is_flag=True, help="Withdraw your attestation of AGENT_ID.")
@click.option("--no-push", is_flag=True, help="Build and verify the commit, do not push.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def command(ctx: click.Context, agent_id: str, eval_paths: tuple[Path, ...], name: str | None,
            suite: str, revoke: bool, no_push: bool, as_json: bool) -> int:
    """Measure someone else's agent from your own eval logs; sign and publish it.

    Reads the agent's profile.json and manifest from the registry, takes the records of
    your logs whose profile, candidate and model match its config (a record without a
    model matches any), computes the metrics with the same code as `generate`, shows them
    beside the owner's numbers, signs an attestation and pushes it to
    agents/<ab>/<agent_id>/attestations/<your nid>.json (retrying like `publish`). The
    signed attestation is kept in $AGENTD_HOME/attestations/ before the push. --revoke
    pushes a later version with "revoked": true. AGENT_ID may be any unambiguous prefix of
    at least 8 hex characters (resolved against the registry's index).

    \b
    Examples:
      git elite attest 6ab8c2f1 --evals ~/.agentd/evals.jsonl --registry origin
      git elite attest 6ab8... --evals run/ --suite https://example.org/s2 --json
      git elite attest --revoke 6ab8... --registry origin
    """
    from git_elite.edges.agent_files import load_identity

    prefix = shortid.check(agent_id)
    if revoke == bool(eval_paths):
        raise UsageError("give --evals LOG to attest, or --revoke alone to withdraw")
    key = load_identity()
    registry = core.choose(name)
    target = core.open_target(registry, key)
    state = core.tip_state(target)
    agent_id = shortid.resolve(prefix, _known(state, prefix), f"registry {registry.name}")
    manifest, config = _agent(state, agent_id, key)
    path = attest.path(agent_id, keys.nid_from_did(key.did))
    previous = _previous(state.read(path), path)
    now = max(app(ctx).now, (previous.created_at + 1) if previous else 0)
    if revoke:
        body = _revocation(agent_id, previous, now)
    else:
        body = _measure(agent_id, config, eval_paths, suite, now)
    signed = documents.sign(body, key, documents.ATTESTATION)
    raw = documents.to_bytes(signed)
    _check(raw, path)
    kept = _keep(agent_id, raw)
    if not as_json:
        _show(manifest, signed)
    result = core.publish_files(target, [core.Item(agent_id, {path: raw})],
                                f"{'revoke' if revoke else 'attest'} agent {agent_id[:12]}\n\n"
                                f"by {key.did}\n", push=not no_push)
    _report(result, signed, kept, as_json)
    return 0 if result.ok else 1


def _known(state: Any, prefix: str) -> list[str]:
    """Agent ids to resolve a prefix against: the registry's index at its tip."""
    return shortid.indexed(state.read if state is not None else (lambda _: None), prefix)


def _agent(state: Any, agent_id: str, key: keys.Keypair
           ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The agent's manifest and config at the tip; refused when absent, withdrawn or ours."""
    if state is None:
        raise RegistryError("the registry has no branch to attest on")
    identity = state.read(layout.IDENTITY)
    if identity is not None and layout.format_of(documents.parse(
            identity, layout.IDENTITY, documents.REGISTRY_IDENTITY).body) < 2:
        raise RegistryError("this registry is in format 1, which takes no attestations: its "
                            "owner runs `git elite migrate` first")
    if state.read(layout.agent_path(agent_id, "tombstone.json")) is not None:
        raise EliteError(f"agent {agent_id[:12]} was withdrawn (tombstone); there is nothing "
                         "to attest")
    raw, profile = (state.read(layout.agent_path(agent_id, n))
                    for n in ("manifest.json", "profile.json"))
    if raw is None or profile is None:
        raise EliteError(f"agent {agent_id[:12]} is not in this registry")
    manifest = documents.parse(raw, layout.agent_path(agent_id, "manifest.json"),
                               documents.MANIFEST).body
    if manifest.get("owner_did") == key.did:
        raise EliteError(f"agent {agent_id[:12]} is yours: an attestation is someone else's "
                         "measurement (your own numbers are in your manifest)")
    config = documents.parse(profile, layout.agent_path(agent_id, "profile.json"),
                             documents.AGENT_CONFIG).body
    return manifest, config


def _previous(raw: bytes | None, path: str) -> documents.Document | None:
    return documents.parse(raw, path, documents.ATTESTATION) if raw is not None else None


def _revocation(agent_id: str, previous: documents.Document | None, now: int
                ) -> dict[str, Any]:
    if previous is None or previous.body.get("revoked") is True:
        raise EliteError(f"you have no live attestation of agent {agent_id[:12]} in this "
                         "registry to revoke")
    return attest.revocation(agent_id, now, previous.created_at)


def _measure(agent_id: str, config: dict[str, Any], eval_paths: tuple[Path, ...], suite: str,
             now: int) -> dict[str, Any]:
    records = read_all([p for e in eval_paths for p in expand(e)], strict=False)
    chosen = attest.select(records, config, now)
    if not chosen:
        raise EliteError(f"none of the {len(records)} eval record(s) matches agent "
                         f"{agent_id[:12]} (profile {config.get('profile')!r}, candidate "
                         f"{config.get('candidate_id')!r}, model {config.get('model')!r})")
    return attest.build(agent_id, attest.measured(config, chosen, now), suite, now)


def _check(raw: bytes, path: str) -> None:
    _, problems = documents.check(raw, path, documents.ATTESTATION)
    if problems:
        raise EliteError(problems[0].line())


def _keep(agent_id: str, raw: bytes) -> Path:
    """Nothing lost: the signed attestation is written before any push."""
    target = store.ensure_home() / "attestations" / f"{agent_id}.json"
    store.atomic_write(target, raw)
    return target


def _show(manifest: dict[str, Any], signed: dict[str, Any]) -> None:
    if signed["revoked"]:
        output.info(f"git-elite: revoking your attestation of {signed['agent_id'][:12]}")
        return
    output.table(f"agent {signed['agent_id'][:12]}: the owner's numbers and yours",
                 ["", "owner (self-reported)", "you (attested)"],
                 attest.side_by_side(manifest, signed))


def _report(result: core.Result, signed: dict[str, Any], kept: Path, as_json: bool) -> None:
    if as_json:
        rows = result.to_json()
        output.emit_json({**rows[0], "attestation": signed, "kept": str(kept)})
        for outcome in result.outcomes:
            for line in outcome.lines:
                output.info(line)
        return
    report(result, False, "attested")
    if not result.ok:
        output.info(f"git-elite: the signed attestation is kept in {kept}")
