"""`git elite role set|remove|sign`: declare, change or remove the timestamp (SPEC §6.1) or
log (§15) role of a registry as a signed IDENTITY.json change (version + 1, §5.3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from git_elite.cli.main import FullHelpGroup, app
from git_elite.core.errors import RegistryError, UsageError
from git_elite.edges import output

CTX = {"help_option_names": ["-h", "--help"]}
PATH_ARG = click.argument("path", required=False, default=".",
                          type=click.Path(file_okay=False, path_type=Path))


@click.group(cls=FullHelpGroup, context_settings=CTX)
def command() -> None:
    """Declare, change or remove a registry role (timestamp, log) as a signed IDENTITY.json
    change: version + 1, signed by this node as a delegate, checked by the same rules as
    the server hook and committed in the registry work tree (push it with `git push`).

    When the delegate threshold needs more signatures than yours, the new IDENTITY.json is
    left in the work tree and the command says who must still sign: each of them copies
    it into a clone and runs `git elite role sign`; the last signature commits.

    \b
    Examples:
      git elite role set log --key /etc/git-elite/log.json \\
          --origin example.org/elites \\
          --witness w1=did:key:z6Mk...@http://w1.example:7380 --quorum 1
      git elite role set timestamp --key did:key:z6Mk... --max-age 86400
      git elite role remove timestamp
      git elite role sign
    """


@command.group("set", cls=FullHelpGroup, context_settings=CTX)
def set_group() -> None:
    """Declare or replace a role (timestamp, log)."""


@set_group.command("log", context_settings=CTX)
@click.option("--key", "log_key", required=True, metavar="DID|FILE",
              help="The log key: a did:key, or the identity.json the server signs with.")
@click.option("--origin", metavar="O", help="The log's origin (checkpoint first line), "
              "e.g. example.org/chrysalis-elites (default: git-elite/<owner nid>/<name>).")
@click.option("--witness", "witnesses", multiple=True, required=True,
              metavar="NAME=DID@URL", help="A witness (repeatable): its name, key and "
              "tlog-witness URL.")
@click.option("--quorum", type=click.IntRange(min=1), help="Cosignatures a reader needs "
              "(default: a majority of the witnesses).")
@PATH_ARG
@click.pass_context
def set_log(ctx: click.Context, log_key: str, origin: str | None, witnesses: tuple[str, ...],
            quorum: int | None, path: Path) -> int:
    """Declare the log role (docs/spec.md §15): checkpoints signed by --key, cosigned by --quorum of
    the witnesses.

    \b
    Examples:
      git elite role set log --key did:key:z6Mk... --origin example.org/elites \\
          --witness w1=did:key:z6Mk...@http://127.0.0.1:7380 \\
          --witness w2=did:key:z6Mk...@https://w2.example --quorum 2
    """
    def change(body: dict[str, Any]) -> None:
        body["log"] = log_role(log_key, origin, witnesses, quorum, body)
    return _change(ctx, path, change, "log role declared")


@set_group.command("timestamp", context_settings=CTX)
@click.option("--key", "stamp_keys", multiple=True, required=True, metavar="DID",
              help="A timestamp key (repeatable).")
@click.option("--threshold", type=click.IntRange(min=1), default=1, show_default=True,
              help="Signatures a timestamp needs.")
@click.option("--max-age", type=click.IntRange(600, 2592000), default=86400,
              show_default=True, metavar="S", help="Longest lifetime of a timestamp (s).")
@PATH_ARG
@click.pass_context
def set_timestamp(ctx: click.Context, stamp_keys: tuple[str, ...], threshold: int,
                  max_age: int, path: Path) -> int:
    """Declare the timestamp role (docs/spec.md §6.1).

    \b
    Examples:
      git elite role set timestamp --key did:key:z6Mk... --max-age 3600
    """
    def change(body: dict[str, Any]) -> None:
        body["timestamp"] = {"keys": sorted(set(stamp_keys)), "threshold": threshold,
                             "max_age": max_age}
    return _change(ctx, path, change, "timestamp role declared")


@command.command("remove", context_settings=CTX)
@click.argument("role", type=click.Choice(["timestamp", "log"]))
@PATH_ARG
@click.pass_context
def remove(ctx: click.Context, role: str, path: Path) -> int:
    """Remove a role. Readers that saw it refuse copies without it unless they can see this
    signed change (docs/spec.md §6.2 `rollback`).

    \b
    Examples:
      git elite role remove log
    """
    def change(body: dict[str, Any]) -> None:
        if role not in body:
            raise RegistryError(f"the registry declares no {role} role")
        del body[role]
    return _change(ctx, path, change, f"{role} role removed")


@command.command("sign", context_settings=CTX)
@PATH_ARG
@click.pass_context
def sign(ctx: click.Context, path: Path) -> int:
    """Add this node's signature to a pending IDENTITY.json change in the work tree (one
    that `role set`/`remove` left for more delegates); commit it when the threshold is met.

    \b
    Examples:
      cp ~/Downloads/IDENTITY.json . && git elite role sign
    """
    from git_elite.core import documents, layout
    from git_elite.edges import identity, store

    key = identity.load_identity().key
    reg = _open(path, pending_ok=True)
    name = str(reg["root"] / layout.IDENTITY)
    doc = documents.parse(store.read_bytes(reg["root"] / layout.IDENTITY), name,
                          documents.REGISTRY_IDENTITY)
    if doc.body["version"] != reg["old"]["version"] + 1:
        raise RegistryError(f"{name}: version {doc.body['version']} is not HEAD's "
                            f"{reg['old']['version']} + 1: no pending change to sign",
                            rule="identity")
    return _finish(reg, documents.sign_multi(doc.body, [key]), key.did, "IDENTITY change")


def log_role(log_key: str, origin: str | None, witnesses: tuple[str, ...],
             quorum: int | None, body: dict[str, Any]) -> dict[str, Any]:
    """The `log` object from the command line's options (shared with `init`)."""
    from git_elite.core import logrole
    from git_elite.core.errors import EliteError

    did = _did_of(log_key)
    try:
        listed = [logrole.parse_witness(w) for w in witnesses]
    except EliteError as err:
        raise UsageError(f"--witness: {err.message}") from None
    nid = str(body["owner_did"]).removeprefix("did:key:")
    name = origin or f"git-elite/{nid}/{body['name']}"
    if not logrole.NAME.fullmatch(name):
        raise UsageError(f"--origin {name[:80]!r}: printable ASCII without space or '+', at "
                         "most 255 characters")
    role: dict[str, Any] = {"origin": name, "key": did, "witnesses": listed,
                            "quorum": quorum or len(listed) // 2 + 1}
    found = logrole.problems(role)
    if found:
        raise UsageError(found[0])
    return role


def _did_of(value: str) -> str:
    """A did:key as given, or the did of an identity.json key file."""
    from git_elite.core import keys
    from git_elite.core.errors import EliteError

    if value.startswith("did:"):
        try:
            keys.public_from_did(value)
        except EliteError as err:
            raise UsageError(f"--key {value[:80]!r}: {err.message}") from None
        return value
    from git_elite.edges import stamping

    return stamping.load_key(Path(value)).did


def _open(path: Path, *, pending_ok: bool = False) -> dict[str, Any]:
    """The registry work tree at `path`: repo, root, HEAD's tip, its IDENTITY body."""
    from git_elite.core import layout
    from git_elite.edges import git, gitcheck

    repo = git.open_repo(path)
    if repo.workdir is None or repo.head_is_unborn:
        raise RegistryError(f"{path}: a role change needs a registry work tree with a commit")
    root = Path(repo.workdir)
    dirty = [line[3:] for line in git.run(["status", "--porcelain", "--untracked-files=no"],
                                          root).stdout.decode().splitlines()]
    if dirty and not (pending_ok and dirty == [layout.IDENTITY]):
        raise RegistryError(f"{root}: commit or stash your changes first "
                            f"({', '.join(dirty[:3])})")
    tip = str(repo.head.peel(git._pygit2().Commit).id)
    old = gitcheck.identity_body(git.state_at(repo, tip))
    if old is None:
        raise RegistryError(f"{root}: no valid IDENTITY.json at HEAD (not a registry)")
    return {"repo": repo, "root": root, "tip": tip, "old": old}


def _change(ctx: click.Context, path: Path, change: Any, what: str) -> int:
    from git_elite.core import documents
    from git_elite.edges import identity

    key = identity.load_identity().key
    reg = _open(path)
    old = reg["old"]
    body = {k: v for k, v in old.items() if k != "signatures"}
    change(body)
    body.update(version=old["version"] + 1, created_at=max(app(ctx).now, old["created_at"]))
    return _finish(reg, documents.sign_multi(body, [key]), key.did, what)


def _finish(reg: dict[str, Any], body: dict[str, Any], me: str, what: str) -> int:
    """Commit the signed change when both thresholds are met; else leave it in the work
    tree and say who must still sign."""
    from git_elite.core import documents, layout
    from git_elite.edges import store

    data = documents.to_bytes(body)
    doc, problems = documents.check(data, layout.IDENTITY, documents.REGISTRY_IDENTITY)
    shape = [p for p in problems if p.rule != "identity"]
    if doc is None or shape:
        raise RegistryError(f"{layout.IDENTITY}: {(shape or problems)[0].message}",
                            rule=(shape or problems)[0].rule)
    good = documents.valid_signers(doc)[0]
    missing = [m for m in (_missing(reg["old"], good, "previous"), _missing(body, good, "new"))
               if m]
    if me not in set(reg["old"]["delegates"]) | set(body["delegates"]):
        raise RegistryError(f"you ({me}) are not a delegate of this registry: only its "
                            "delegates can change IDENTITY.json")
    if missing:
        store.atomic_write(reg["root"] / layout.IDENTITY, data, mode=0o644)
        output.info(f"git-elite: IDENTITY.json version {body['version']} ({what}) signed by "
                    f"you and left uncommitted in {reg['root']}; still needed: "
                    f"{'; '.join(missing)}. Each of them copies this IDENTITY.json into a "
                    "clone of the registry and runs `git elite role sign`; the last one "
                    "commits.")
        return 0
    return _commit(reg, data, body, what)


def _missing(identity: dict[str, Any], good: set[str], which: str) -> str | None:
    count = len(good & set(identity["delegates"]))
    if count >= identity["threshold"]:
        return None
    rest = sorted(set(identity["delegates"]) - good)
    return (f"{identity['threshold'] - count} more of the {which} version's delegates "
            f"({', '.join(rest)})")


def _commit(reg: dict[str, Any], data: bytes, body: dict[str, Any], what: str) -> int:
    from git_elite.core import layout
    from git_elite.core.state import Change, Overlay
    from git_elite.edges import git, gitcheck

    repo, root, tip = reg["repo"], reg["root"], reg["tip"]
    parent = git.state_at(repo, tip)
    changes = [Change(layout.IDENTITY, parent.read(layout.IDENTITY), data)]
    files: dict[str, bytes | None] = {layout.IDENTITY: data}
    files.update(gitcheck.rebuild_index(parent, changes, Overlay(parent, changes)))
    commit = git.build_commit(repo, tip, files, f"IDENTITY.json version {body['version']}: "
                              f"{what}\n")
    problems = gitcheck.check_commit(repo, commit)
    if problems:
        raise RegistryError(f"the IDENTITY change breaks a rule: {problems[0].line()}",
                            rule=problems[0].rule)
    git.run(["checkout", "-q", "--", layout.IDENTITY], root)
    git.run(["update-ref", "-m", "git elite role", "HEAD", commit, tip], root)
    git.run(["read-tree", "-u", "-m", tip, commit], root)
    output.info(f"git-elite: IDENTITY.json version {body['version']} ({what}) committed as "
                f"{commit[:12]}; push it with `git push`")
    return 0
