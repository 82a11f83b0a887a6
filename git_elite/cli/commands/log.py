"""`git elite log [show|sign|gossip]`: the registry's witnessed log (docs/spec.md §15,
docs/log.md): show the checkpoint and its quorum, re-ask the witnesses, compare copies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from git_elite.cli.main import FullHelpGroup, app
from git_elite.core.errors import RegistryError
from git_elite.edges import output

CTX = {"help_option_names": ["-h", "--help"]}
REGISTRY = click.option("--registry", "name", metavar="R", help="Registry name, path or "
                        "URL (default: the repository you are in, else the single known "
                        "registry).")


@click.group(cls=FullHelpGroup, context_settings=CTX, invoke_without_command=True)
@REGISTRY
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (as `log "
              "show --json`).")
@click.pass_context
def command(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """The registry's witnessed log: `git elite log [--registry R] [--json]` shows its
    checkpoint (= `log show`).

    \b
    Examples:
      git elite log --json
      git -C /srv/git/chrysalis-elites.git elite log sign
      git elite log gossip https://mirror.example/elites/ \\
          /srv/git/chrysalis-elites.git
    """
    if ctx.invoked_subcommand is None:
        ctx.exit(ctx.invoke(show, name=name, as_json=as_json))


@command.command("show", context_settings=CTX)
@REGISTRY
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(name: str | None, as_json: bool) -> int:
    """Show the log's checkpoint: origin, size, root, who cosigned it and when, and
    whether the registry's quorum is met (exit 1 when it is not, or the log is invalid).

    \b
    Examples:
      git elite log show --registry chrysalis-elites --json
    """
    from git_elite.core import logrole, witnessed
    from git_elite.edges import freshness, git, gitcheck, tlogstore

    path = _repo(name)
    tip = freshness.resolve(path, gitcheck.registry_branch(path))
    role = logrole.LogRole.of(freshness.identity_at(path, tip) if tip else None)
    if role is None:
        raise RegistryError(f"{path}: the registry declares no log role")
    stored = tlogstore.current(git.open_repo(path))
    if stored is None:
        raise RegistryError(f"{path}: no {logrole.REF} yet", rule=logrole.RULE)
    opened = witnessed.open_note(stored.note, role)
    tlogstore.check_tiles(stored, opened)
    problem = witnessed.quorum_problem(opened, role)
    info = {"origin": role.origin, "size": opened.size, "root": opened.root.hex(),
            "cosigned": {k: v for k, v in sorted(opened.cosigned.items())},
            "quorum": role.quorum, "quorum_met": problem is None,
            "witnesses": [w.name for w in role.witnesses],
            "checkpoint": stored.note.decode()}
    if as_json:
        output.emit_json(info)
    else:
        _print(info)
    if problem:
        output.info(f"git-elite: [{logrole.RULE}] {problem}")
        return 1
    return 0


def _print(info: dict[str, Any]) -> None:
    from git_elite.core import timestamp
    from git_elite.core.safetext import escape

    output.data(f"origin   {escape(info['origin'])}")
    output.data(f"size     {info['size']}")
    output.data(f"root     {info['root']}")
    for name in info["witnesses"]:
        when = info["cosigned"].get(name)
        said = f"cosigned {timestamp.when(when)}" if when else "no valid cosignature"
        output.data(f"witness  {escape(name)}: {said}")
    met = "met" if info["quorum_met"] else "NOT met"
    output.data(f"quorum   {len(info['cosigned'])} of {info['quorum']} needed: {met}")


@command.command("sign", context_settings=CTX)
@click.option("--key", "key_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="identity.json of the log key (default: `git config "
              "elite.logKey`).")
@click.option("--append", is_flag=True, help="Also append the branch tip when it is not "
              "the latest leaf yet (after a push the hook could not log).")
@click.pass_context
def sign(ctx: click.Context, key_file: Path | None, append: bool) -> int:
    """In the server's bare repository: ask every witness again to cosign the current
    checkpoint (fresh cosignature times; run it from cron, as `git elite timestamp`),
    and store what they answer in refs/elite/log.

    \b
    Examples:
      git -C /srv/git/chrysalis-elites.git elite log sign
      git -C /srv/git/chrysalis-elites.git elite log sign --append
    """
    from git_elite.edges import gitcheck, logserver, stamping

    here = _bare()
    if here is None:
        raise RegistryError("log sign runs in the server's bare repository (git -C DIR "
                            "elite log sign), where the log key is")
    key = stamping.load_key(key_file, here, what="log key") if key_file \
        else logserver.load(here)
    done = logserver.sign_in_place(here, branch=gitcheck.registry_branch(here), key=key,
                                   now=app(ctx).now, append=append)
    for warning in done.warnings:
        output.warn(warning)
    output.info(f"git-elite: {done.line()}")
    return 0 if len(done.cosigned) >= done.quorum else 1


@command.command("gossip", context_settings=CTX)
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def gossip(urls: tuple[str, ...], as_json: bool) -> int:
    """Compare the log checkpoints of several copies of a registry (mirrors, seeds, git
    URLs or paths) and name every pair that is not consistent (exit 1): two checkpoints
    of one log that do not extend one another prove the log's key signed a fork.

    \b
    Examples:
      git elite log gossip https://git.example/elites.git /srv/mirror/elites.git
    """
    from git_elite.edges import loggossip

    copies, pairs = loggossip.compare(list(urls))
    if as_json:
        output.emit_json({"copies": [c.to_dict() for c in copies],
                          "inconsistent": [list(p) for p in pairs]})
    else:
        for copy in copies:
            output.data(copy.line())
        for a, b, why in pairs:
            output.data(f"INCONSISTENT {a} and {b}: {why}")
    if pairs:
        output.info(f"git-elite: [split-view] {len(pairs)} inconsistent pair(s) of copies")
        return 1
    output.info(f"git-elite: {len(copies)} copies, every checkpoint consistent")
    return 0


def _bare() -> Path | None:
    from git_elite.cli.commands.timestamp import _bare_registry

    return _bare_registry()


def _repo(name: str | None) -> Path:
    """A local git directory holding the registry: the repository we are in (bare or not),
    a path, or the cache clone of a known registry (fetched now)."""
    from git_elite.edges import cache, git, known_registries

    if name is None:
        proc = git.run(["rev-parse", "--absolute-git-dir"], ".", check=False)
        if proc.returncode == 0:
            return Path(proc.stdout.decode().strip())
        name = ""
    if name and Path(name).exists():
        return Path(name)
    registry = known_registries.resolve(name) if name else _single()
    return Path(cache.sync(registry))


def _single() -> Any:
    from git_elite.edges import known_registries

    known = known_registries.known_registries()
    if len(known) != 1:
        raise RegistryError("which registry? give --registry R (known: "
                            f"{', '.join(r.name for r in known) or 'none'})")
    return known[0]

