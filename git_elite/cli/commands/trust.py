"""`git elite trust …`: the local trust set, endorsements and explanations (SPEC §8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from git_elite.cli.main import FullHelpGroup, app
from git_elite.core import documents, keys, trust
from git_elite.core.errors import EliteError, TrustError
from git_elite.edges import output, store, trusted_dids

SETTINGS = {"help_option_names": ["-h", "--help"]}


def trust_file() -> Path:
    return store.home() / "trusted-dids.json"


def own_did() -> str | None:
    """This node's did, or None without a usable identity (reading works without one)."""
    from git_elite.core.errors import IdentityError
    from git_elite.edges import identity

    try:
        return identity.load_identity().did
    except IdentityError:
        return None


def local_trust() -> trust.TrustSet:
    """The trust set as readers use it: trusted-dids.json plus this node's own DID."""
    return trusted_dids.local()


def endorsements_dir() -> Path:
    return store.home() / "endorsements"


def _did(value: str) -> str:
    """A DID typed on the command line: a malformed one is a usage error (exit 2)."""
    from git_elite.core.errors import UsageError

    try:
        keys.public_from_did(value)
    except EliteError as err:
        raise UsageError(err.message) from None
    return value


@click.group(cls=FullHelpGroup, context_settings=SETTINGS)
def command() -> None:
    """Manage the local trust set, endorsements and trust explanations.

    \b
    Examples:
      git elite trust add did:key:z6Mk... --alias alice --task-type file-edit
      git elite trust endorse did:key:z6Mk... --expires 90
      git elite trust explain did:key:z6Mk... --task-type file-edit --json
    """


@command.command("add", context_settings=SETTINGS)
@click.argument("did")
@click.option("--alias", help="A name to show for this DID.")
@click.option("--task-type", "task_types", multiple=True, help="Limit trust (default: *).")
@click.pass_context
def add(ctx: click.Context, did: str, alias: str | None, task_types: tuple[str, ...]) -> int:
    """Trust DID (for every task type, or only the given ones).

    \b
    Examples:
      git elite trust add did:key:z6Mk... --alias alice
    """
    store.ensure_home()
    entry = trust.TrustEntry(_did(did), tuple(sorted(set(task_types))) or (trust.ANY,),
                             app(ctx).now, alias)
    trusted_dids.save(trust_file(), trusted_dids.load(trust_file()).add(entry))
    output.info(f"trusting {did} for {', '.join(entry.task_types)}")
    return 0


@command.command("remove", context_settings=SETTINGS)
@click.argument("did")
def remove(did: str) -> int:
    """Stop trusting DID directly.

    \b
    Examples:
      git elite trust remove did:key:z6Mk...
    """
    trusted_dids.save(trust_file(), trusted_dids.load(trust_file()).remove(did))
    output.info(f"removed {did}")
    return 0


def _day(ts: object) -> str:
    """added_at as a UTC date a person reads (the epoch stays in --json)."""
    from git_elite.core.timestamp import when

    return when(ts) if type(ts) is int and ts >= 0 else str(ts)


@command.command("list", context_settings=SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json: bool) -> int:
    """List the trust set.

    \b
    Examples:
      git elite trust list --json
    """
    current = trusted_dids.load(trust_file())
    if as_json:
        output.emit_json(current.to_dict())
        return 0
    output.table(f"trusted DIDs (max_depth {current.max_depth})",
                 ["did", "alias", "task_types", "added"],
                 [[e.did, e.alias or "-", ",".join(e.task_types), _day(e.added_at)]
                  for e in current.trusted])
    return 0


@command.command("explain", context_settings=SETTINGS)
@click.argument("did")
@click.option("--task-type", default=trust.ANY, show_default=True, help="Task type asked about.")
@click.option("--endorsements", "extra", type=click.Path(path_type=Path, file_okay=False),
              help="Also read endorsements from DIR (<from-nid>/<to-nid>.json).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def explain(ctx: click.Context, did: str, task_type: str, extra: Path | None,
            as_json: bool) -> int:
    """Say whether DID is trusted for a task type, and through which chain.

    The same answer decides both of a DID's roles: as an owner (its agents are marked
    trusted in `discover`) and as an attester (its attestations count in `discover`'s
    attested numbers and in `discover --attested`); the output says so.

    \b
    Examples:
      git elite trust explain did:key:z6Mk... --task-type file-edit
    """
    found, rotations = collect(extra)
    graph = trust.edges(found, rotations, app(ctx).now)
    mine = own_did()
    result = trust.explain(trusted_dids.load(trust_file()).with_self(mine), graph, _did(did),
                           task_type)
    if as_json:
        output.emit_json(result.to_dict())
    elif result.trusted:
        output.data(f"{did} is trusted for {task_type}:")
        for depth, step in enumerate(result.path):
            you = " (you: this node's identity)" if step == mine else ""
            output.data(f"  {'  ' * depth}{'-> ' if depth else ''}{step}{you}")
        output.data(f"its agents show as trusted, and its attestations count for {task_type}")
    else:
        output.data(f"{did} is NOT trusted for {task_type}")
        output.data("its attestations are shown in discover's counts but do not move any "
                    "number you see")
    return 0 if result.trusted else 1


def save_endorsement(body: dict[str, Any]) -> Path:
    """Write a signed endorsement to $AGENTD_HOME/endorsements/<from-nid>/<to-nid>.json."""
    path = endorsements_dir() / trust.endorsement_path(body["from"], body["to"])
    store.ensure_home()
    store.atomic_write(path, documents.to_bytes(body))
    return path


def _previous(key: keys.Keypair, to: str) -> dict[str, Any] | None:
    path = endorsements_dir() / trust.endorsement_path(key.did, to)
    if not path.exists():
        return None
    doc, problems = documents.check(store.read_bytes(path), str(path), documents.ENDORSEMENT)
    if problems or doc is None:
        raise TrustError(problems[0].line() if problems else f"{path}: unreadable")
    return doc.body


REGISTRY = click.option("--registry", "registry", metavar="R",
                        help="Also push it to this registry (name, path or URL).")


@command.command("endorse", context_settings=SETTINGS)
@click.argument("did")
@click.option("--task-type", "task_types", multiple=True, help="Scope (default: *).")
@click.option("--expires", "days", type=click.IntRange(min=1), help="Expire after DAYS days.")
@REGISTRY
@click.pass_context
def endorse(ctx: click.Context, did: str, task_types: tuple[str, ...], days: int | None,
            registry: str | None) -> int:
    """Sign an endorsement of DID with this node's key (and push it with --registry).

    \b
    Examples:
      git elite trust endorse did:key:z6Mk... --task-type file-edit --expires 90
      git elite trust endorse did:key:z6Mk... --registry origin
    """
    body = _sign(ctx, did, task_types, days, revoked=False)
    output.info(f"endorsed {did}: {save_endorsement(body)}")
    return _push(body, registry, f"endorse {did}")


@command.command("revoke", context_settings=SETTINGS)
@click.argument("did")
@REGISTRY
@click.pass_context
def revoke(ctx: click.Context, did: str, registry: str | None) -> int:
    """Withdraw this node's endorsement of DID (a later, signed `revoked: true`).

    \b
    Examples:
      git elite trust revoke did:key:z6Mk... --registry origin
    """
    body = _sign(ctx, did, (), None, revoked=True)
    output.info(f"revoked endorsement of {did}: {save_endorsement(body)}")
    return _push(body, registry, f"revoke endorsement of {did}")


def _push(body: dict[str, Any], registry: str | None, message: str) -> int:
    """Push a signed endorsement to endorsements/<from-nid>/<to-nid>.json of `registry`."""
    if registry is None:
        return 0
    from git_elite.cli.commands.publish import report
    from git_elite.edges import publish
    from git_elite.edges.agent_files import load_identity

    target = publish.open_target(publish.choose(registry), load_identity())
    result = publish.publish_files(target, [publish.endorsement_item(body)], message + "\n")
    report(result, False, "published")
    if target.rid and result.commit:
        output.info(publish.announce(target.rid))
    return 0 if result.ok else 1


def _sign(ctx: click.Context, did: str, task_types: tuple[str, ...], days: int | None,
          revoked: bool) -> dict[str, Any]:
    from git_elite.edges.agent_files import load_identity

    key = load_identity()
    if _did(did) == key.did:
        raise EliteError("an endorsement of oneself means nothing")
    previous = _previous(key, did)
    now = app(ctx).now
    created = max(now, previous["created_at"] + 1) if previous else now
    if revoked and previous is None:
        raise TrustError(f"no endorsement of {did} to revoke in {endorsements_dir()}")
    scope = task_types or (tuple(previous["task_types"]) if previous and revoked else ())
    return trust.make_endorsement(key, did, scope, created,
                                  created + days * 86400 if days else None, revoked)


def collect(extra: Path | None) -> tuple[list[documents.Document], list[documents.Document]]:
    """Verified endorsements and rotations from $AGENTD_HOME (endorsements/, rotations/),
    the registries' cache clones and `extra`. Bad ones are skipped with a warning."""
    files: list[tuple[str, bytes, str | None]] = []
    for folder in (endorsements_dir(), extra):
        if folder and folder.is_dir():
            files += [(str(p), p.read_bytes(), p.relative_to(folder).as_posix())
                      for p in sorted(folder.rglob("*.json"))]
    rotations = store.home() / "rotations"
    if rotations.is_dir():
        files += [(str(p), p.read_bytes(), None) for p in sorted(rotations.glob("*.json"))]
    caches = store.home() / "cache" / "registries"
    for cache in sorted(caches.glob("*.git")) if caches.is_dir() else []:
        files += _from_cache(cache)
    found: dict[str, list[documents.Document]] = {documents.ENDORSEMENT: [],
                                                  documents.KEY_ROTATION: []}
    for name, raw, relative in files:
        doc, problems = documents.check(raw, name)
        if doc is not None and not problems and doc.kind in found and (
                relative is None or doc.kind != documents.ENDORSEMENT
                or relative == trust.endorsement_path(doc.body["from"], doc.body["to"])):
            found[doc.kind].append(doc)
        else:
            output.warn(problems[0].line() if problems else f"{name}: [binding] not an "
                        "endorsement at <from-nid>/<to-nid>.json or a key rotation; ignored")
    return found[documents.ENDORSEMENT], found[documents.KEY_ROTATION]


def _from_cache(cache: Path) -> list[tuple[str, bytes, str | None]]:
    """endorsements/** and identities/*/rotation.json at the cache clone's HEAD. Read
    tolerantly: a cache that cannot be read, and any entry refused unread (a gitlink, a
    symlink, an oversized blob), is one warning and skipped; the other caches still count."""
    from git_elite.core.errors import EliteError
    from git_elite.edges import git

    try:
        repo = git.open_repo(cache)
        tree = git.commit_tree(repo, "HEAD")
        changes = [c for top in ("endorsements", "identities")
                   for c in git.files_under(repo, tree, top)] if tree is not None else []
    except EliteError as err:
        output.warn(f"{cache}: cannot read its HEAD ({err.message}); its endorsements are "
                    "not used")
        return []
    except Exception as err:  # noqa: BLE001 - damage git/libgit2 reports: warn and skip
        from git_elite.edges.cache import damage

        detail = damage(err)
        if detail is None:
            raise
        output.warn(f"{cache}: cannot read it ({detail}: a damaged cached copy; a command "
                    "run online clones it again); its endorsements are not used")
        return []
    out: list[tuple[str, bytes, str | None]] = []
    for change in changes:
        if change.refused is not None:
            output.warn(f"{cache.name}:{change.refused.line()}; ignored")
            continue
        relative = change.path.removeprefix("endorsements/") \
            if change.path.startswith("endorsements/") else None
        if change.new is not None and (relative is not None
                                       or change.path.endswith("/rotation.json")):
            out.append((f"{cache.name}:{change.path}", change.new, relative))
    return out
