"""`git elite timestamp [--registry R] [--key FILE]… [--expires SECONDS]`: sign and push a
fresh timestamp (SPEC §6.1, docs/freshness.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from git_elite.cli.main import app
from git_elite.core.errors import RegistryError
from git_elite.edges import output

if TYPE_CHECKING:
    from git_elite.core.keys import Keypair

CTX = {"help_option_names": ["-h", "--help"]}


@click.command(context_settings=CTX)
@click.option("--registry", "name", metavar="R", help="Registry name, path or URL (default: "
              "the bare repository you are in, else the single known registry).")
@click.option("--key", "key_files", multiple=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="identity.json of a timestamp key (mode 0600; repeatable for a threshold "
                   "above 1). Default: `git config elite.timestampKey` in a bare registry, "
                   "else this node's identity.")
@click.option("--expires", type=click.IntRange(min=1), metavar="SECONDS",
              help="Lifetime of the timestamp (default: the role's max_age).")
@click.pass_context
def command(ctx: click.Context, name: str | None, key_files: tuple[Path, ...],
            expires: int | None) -> int:
    """Sign a new timestamp for the registry branch's tip and publish it as
    refs/elite/timestamp, so readers can tell a current copy from a frozen one.

    Run it more often than the timestamp expires (cron or a systemd timer: see
    docs/freshness.md). In a server's bare repository it signs in place; for a remote
    registry it pushes to it (the server's pre-receive hook checks it); for a rad://
    registry it pushes into your own namespace, where your signed refs cover it.

    \b
    Examples:
      git -C /srv/git/chrysalis-elites.git elite timestamp
      git elite timestamp --registry origin --expires 3600
      git elite timestamp --registry rad://z42hL2jL4XNk6K8oHQaSWfMgCL7ji
    """
    from git_elite.core import timestamp

    now = app(ctx).now
    here = _bare_registry() if name is None else None
    if here is not None:
        signers = _keys(key_files, here)
        from git_elite.edges import gitcheck, stamping

        body = stamping.sign_in_place(here, branch=gitcheck.registry_branch(here),
                                       signers=signers, now=now,
                                       lifetime=expires or stamping.lifetime_config(here))
        where = str(here)
    else:
        body, where = _push(name, key_files, now, expires)
    output.info(f"git-elite: timestamp v{body['version']} for {body['tip'][:12]} "
                f"({body['registry']}) in {where}: signed fresh until "
                f"{timestamp.when(body['expires_at'])}")
    return 0


def _bare_registry() -> Path | None:
    """The bare repository we stand in, when it holds a registry (the server)."""
    from git_elite.edges import git

    proc = git.run(["rev-parse", "--is-bare-repository", "--absolute-git-dir"], ".",
                   check=False)
    lines = proc.stdout.decode().split()
    if proc.returncode != 0 or lines[:1] != ["true"]:
        return None
    return Path(lines[1])


def _keys(files: tuple[Path, ...], repo: Path | None) -> list[Keypair]:
    """The signing keys: --key files, else `elite.timestampKey` (in a bare registry), else
    this node's identity."""
    from git_elite.edges import git, identity, stamping

    if not files and repo is not None:
        configured = git.config_get("elite.timestampKey", repo)
        files = (Path(configured),) if configured else ()
    if files:
        return [stamping.load_key(path, repo) for path in files]
    return [identity.load_identity().key]


def _push(name: str | None, key_files: tuple[Path, ...], now: int, expires: int | None
          ) -> tuple[dict[str, Any], str]:
    """Build the timestamp in the registry's cache clone and push it (a rad:// registry:
    into our own namespace)."""
    from git_elite.edges import freshness, git, publish, stamping

    signers = _keys(key_files, None)
    target = publish.open_target(publish.choose(name, Path.cwd()), signers[0])
    if target.rid:
        _own_radicle_timestamp(target.cache, target.rid, target.push_url)
    tip = freshness.resolve(target.cache, f"refs/heads/{target.branch}")
    if tip is None:
        raise RegistryError(f"{target.registry.name}: branch {target.branch} not found")
    identity = freshness.identity_at(target.cache, tip)
    if identity is None:
        raise RegistryError(f"{target.registry.name}: no valid IDENTITY.json at {tip[:12]}")
    commit, body, _ = stamping.build(target.cache, branch=target.branch, tip=tip,
                                      identity=identity, signers=signers, now=now, lifetime=expires)
    result = git.push(target.cache, target.push_url, f"{commit}:refs/elite/timestamp")
    if result.status != git.PUSHED:
        detail = "; ".join(result.lines[-3:]) or result.status
        raise RegistryError(f"{target.registry.name}: timestamp push {result.status}: {detail}")
    git.run(["update-ref", "refs/elite/timestamp", commit], target.cache)
    if target.rid:
        output.info(f"git-elite: {publish.announce(target.rid)}")
    return body, target.registry.name


def _own_radicle_timestamp(cache: Path, rid: str, push_url: str) -> None:
    """The timestamp this delegate last pushed (its namespace in local Radicle storage, read
    only) becomes the parent of the next one; without storage the chain starts afresh."""
    from git_elite.edges import git, gitrad

    nid = push_url.rstrip("/").rsplit("/", 1)[-1]
    storage = gitrad.storage_path(rid)
    if storage.is_dir():
        git.run(["fetch", "-q", "--no-tags", str(storage),
                 f"+refs/namespaces/{nid}/refs/elite/timestamp:refs/elite/timestamp"], cache,
                check=False)
