"""`git elite init [PATH] [--name N] [--rad]`: create a registry repository (SPEC §4, §5.3)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import click

from git_elite.core.errors import RegistryError, UsageError
from git_elite.edges import output

CTX = {"help_option_names": ["-h", "--help"]}

README = """# {name}

A registry of elite agent manifests managed by `git elite`.
Every file here is checked by git hooks; nothing unsigned, forged, replayed or hijacked gets in.

| path | what |
|---|---|
| `IDENTITY.json` | registry identity and policy, signed by its delegates |
| `INDEX.json` | index head: counts, shard digests, top rankings (rebuilt on every commit) |
| `index/<ab>.json` | index shard: the entries of the agents under `agents/<ab>/` |
| `index/ranked.json` | the entries of every agent a head ranking lists (pinned by the head) |
| `index/trust/<ab>.json` | the digests of the endorsements and rotations (pinned by the head) |
| `agents/<ab>/<agent_id>/manifest.json` | a signed manifest (`<ab>`: its first 2 hex digits) |
| `agents/<ab>/<agent_id>/tombstone.json` | the owner's signed withdrawal of an agent |
| `endorsements/<from-nid>/<to-nid>.json` | signed endorsements |
| `identities/<old-nid>/rotation.json` | signed key rotations |

Use it:

    git elite discover          # ranked, verified agents
    git elite publish           # add your manifests (from any repository)
    git elite verify --history  # audit every commit

Clones should run `git elite hooks install` (checks commits, rebuilds INDEX.json, merges it).
"""


@click.command(context_settings=CTX)
@click.argument("path", required=False, default=".", type=click.Path(file_okay=False,
                                                                     path_type=Path))
@click.option("--name", help="Registry name (default: the directory's name).")
@click.option("--rad", is_flag=True, help="Also make it a Radicle repository (`rad init`).")
@click.option("--timestamp-key", "timestamp_keys", multiple=True, metavar="DID",
              help="Declare a timestamp role signed by DID (repeatable; max_age one day; "
                   "see docs/freshness.md).")
@click.option("--log-key", metavar="DID|FILE", help="Declare a witnessed log (docs/spec.md §15) "
              "whose checkpoints this key signs (a did:key or the server's identity.json; "
              "see docs/log.md).")
@click.option("--log-origin", metavar="O", help="With --log-key: the log's origin (default "
              "git-elite/<owner nid>/<name>).")
@click.option("--witness", "witnesses", multiple=True, metavar="NAME=DID@URL",
              help="With --log-key: a witness (repeatable).")
@click.option("--quorum", type=click.IntRange(min=1), help="With --log-key: cosignatures "
              "a reader needs (default: a majority of the witnesses).")
@click.option("--force", is_flag=True, help="Create it in a directory that already holds "
              "files (its README.md, .gitattributes are replaced).")
@click.pass_context
def command(ctx: click.Context, path: Path, name: str | None, rad: bool,
            timestamp_keys: tuple[str, ...], log_key: str | None, log_origin: str | None,
            witnesses: tuple[str, ...], quorum: int | None, force: bool) -> int:
    """Create a registry: signed IDENTITY.json, INDEX.json, .gitattributes, README, hooks and
    the first commit. This node's identity becomes the owner and sole delegate.

    \b
    Examples:
      git elite init chrysalis-elites
      git elite init --name team-elites .
      git elite init chrysalis-elites --rad
      git elite init chrysalis-elites --timestamp-key did:key:z6Mk...
      git elite init chrysalis-elites --log-key /etc/git-elite/log.json \\
          --witness w1=did:key:z6Mk...@http://w1.example:7380 --quorum 1

    A registry holds only registry files, so PATH must be new or empty (an empty `git init`
    is fine); --force creates it anyway. With --timestamp-key naming this node's own DID
    the first timestamp is signed at once (otherwise readers see it frozen until the
    key's holder signs one).
    """
    from git_elite.cli.commands import hooks
    from git_elite.cli.main import app
    from git_elite.core import documents, engine, layout
    from git_elite.core.state import MemoryState
    from git_elite.edges import git, identity, store

    key = identity.load_identity().key
    path = path.resolve()
    name = name or path.name
    if (path / layout.IDENTITY).exists():
        raise RegistryError(f"{path}: already a registry (IDENTITY.json exists)")
    for did in timestamp_keys:
        _check_did(did)
    if (log_origin or witnesses or quorum) and not log_key:
        raise UsageError("--log-origin, --witness and --quorum go with --log-key")
    if log_key and not witnesses:
        raise UsageError("--log-key needs at least one --witness NAME=DID@URL")
    if not force:
        _refuse_non_empty(path)
    path.mkdir(parents=True, exist_ok=True)
    git.run(["init", "-q", str(path)])
    body = {"type": documents.REGISTRY_IDENTITY, "schema_version": 1, "version": 1,
            "name": name, "format": layout.FORMAT, "owner_did": key.did,
            "delegates": [key.did], "threshold": 1,
            "policy": {"publish": "open", "publishers": [], "min_total_tasks": 0,
                       "min_success_rate": 0.0, "max_manifest_bytes": 65536},
            "created_at": app(ctx).now}
    if timestamp_keys:
        body["timestamp"] = {"keys": sorted(set(timestamp_keys)), "threshold": 1,
                             "max_age": 86400}
    if log_key:
        from git_elite.cli.commands.role import log_role

        body["log"] = log_role(log_key, log_origin, witnesses, quorum, body)
    signed = documents.sign_multi(body, [key])
    problems = documents.check(documents.to_bytes(signed), layout.IDENTITY)[1]
    if problems:
        raise RegistryError(f"{layout.IDENTITY}: {problems[0].message}", rule="identity")
    signed_bytes = documents.to_bytes(signed)
    index = engine.full_index(MemoryState({layout.IDENTITY: signed_bytes}))
    files = {layout.IDENTITY: signed_bytes,
             **{rel: data for rel, data in index.items() if data is not None},
             ".gitattributes": layout.GITATTRIBUTES.encode(),
             "README.md": README.format(name=name).encode()}
    for rel, data in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        store.atomic_write(path / rel, data)
    hooks.install(path)
    git.run(["add", "--", *files], path)
    git.run(["commit", "-q", "-m", f"Create registry {name}"], path)
    output.info(f"created registry {name} in {path} (owner {key.did})")
    if timestamp_keys:
        _first_timestamp(path, key, sorted(set(timestamp_keys)), app(ctx).now)
    if rad:
        _rad_key_matches(key.public)
        _rad_init(path, name)
    return 0


def _first_timestamp(path: Path, key: Any, dids: list[str], now: int) -> None:
    """A registry with a timestamp role is frozen until its first timestamp: sign it now when
    this node holds one of the role's keys; otherwise say who must, and how."""
    from git_elite.core import timestamp
    from git_elite.edges import git, stamping

    branch = git.run(["symbolic-ref", "HEAD"], path).stdout.decode().strip()
    if key.did not in dids:
        output.warn(f"the timestamp role's key is not this node's identity: readers refuse "
                    f"{path.name} as frozen until its holder signs the first timestamp "
                    "(git elite timestamp --key FILE, or hooks install --server "
                    "--timestamp-key FILE on the server)")
        return
    body = stamping.sign_in_place(path, branch=branch, signers=[key], now=now, lifetime=None)
    output.info(f"timestamp v{body['version']} signed for {body['tip'][:12]}, fresh until "
                f"{timestamp.when(body['expires_at'])} (refs/elite/timestamp: `git push "
                "--mirror` or `git clone --mirror` carries it; after that the server's "
                "post-receive or `git elite timestamp` re-signs it)")


def _check_did(did: str) -> None:
    from git_elite.core import keys
    from git_elite.core.errors import EliteError, UsageError

    try:
        keys.public_from_did(did)
    except EliteError as err:
        raise UsageError(f"--timestamp-key {did[:80]!r}: {err.message}") from None


def _refuse_non_empty(path: Path) -> None:
    """Never turn an existing project into a registry by accident (its README.md would be
    replaced and the hooks would refuse its files): only a new or empty directory, or an
    empty `git init`, unless --force."""
    if path.exists() and not path.is_dir():
        raise RegistryError(f"{path}: exists and is not a directory")
    entries = sorted(p.name for p in path.iterdir()) if path.is_dir() else []
    if entries == [".git"] and _no_commits(path):
        return
    if entries:
        shown = ", ".join(entries[:5]) + (", …" if len(entries) > 5 else "")
        raise RegistryError(f"{path}: not empty ({shown}); a registry holds only registry "
                            "files: choose a new directory (git elite init chrysalis-elites), "
                            "or --force")


def _no_commits(path: Path) -> bool:
    from git_elite.edges import git

    return git.run(["rev-parse", "--verify", "-q", "HEAD"], path, check=False).returncode != 0


def _rad_key_matches(public: bytes) -> None:
    """Warn when this identity is not the Radicle key: `rad init` would make a repository
    whose delegate is not the registry owner, and every Radicle check would then fail."""
    from git_elite.core import sshkey
    from git_elite.core.errors import EliteError
    from git_elite.edges import gitrad

    pub = gitrad.rad_home() / "keys" / "radicle.pub"
    try:
        rad_public = sshkey.parse_public_line(pub.read_text())
    except (OSError, EliteError):
        return
    if rad_public != public:
        output.warn(f"your git elite identity is not the Radicle key in {pub}: the registry's "
                    "owner will not be a delegate of the Radicle repository (use `git elite id "
                    "import-radicle` first)")


def _rad_init(path: Path, name: str) -> None:
    if shutil.which("rad") is None:
        output.warn("`rad` is not on PATH: install Radicle (https://radicle.xyz) and run "
                    f"`rad init` in {path} to share the registry on the Radicle network")
        return
    proc = subprocess.run(["rad", "init", "--name", name, "--description",
                           "git elite registry", "--public", "--no-confirm"], cwd=path,
                          check=False)
    if proc.returncode != 0:
        raise RegistryError(f"rad init failed (exit {proc.returncode}); the git registry in "
                            f"{path} is ready, run `rad init` there yourself")
