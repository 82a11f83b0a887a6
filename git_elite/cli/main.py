"""`git elite`: the click group, shared options and the single error boundary.

Each subcommand lives in `git_elite/cli/commands/<module>.py` and exposes `command` (a click
command or group). Modules are imported only when their command runs, so `--version`
and `-h` stay fast (pygit2 and jsonschema are never imported for them).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import click

from git_elite import __version__
from git_elite.cli.boundary import guarded, json_error, report
from git_elite.core.errors import EliteError

# command name -> (module under git_elite.cli.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "id": ("id_", "Manage this node's identity (did:key / Radicle NID)."),
    "init": ("init", "Create a new registry repository."),
    "generate": ("generate", "Turn eval logs into signed elite manifests."),
    "publish": ("publish", "Sign and push manifests to a registry."),
    "unpublish": ("unpublish", "Withdraw an agent with a signed tombstone."),
    "discover": ("discover", "Ranked, verified list of agents across registries."),
    "import": ("import_", "Copy a verified manifest into the local store."),
    "verify": ("verify", "Audit a registry against every rule."),
    "check": ("check", "Check a range of commits with the pre-receive rules (for CI)."),
    "mcp": ("mcp", "Serve the tools to an AI agent over MCP (stdio)."),
    "sign": ("sign", "Sign a manifest, endorsement, attestation or any §5 document."),
    "verify-file": ("verify_file", "Check any signed document."),
    "index": ("index", "Rebuild or check INDEX.json and the index shards."),
    "migrate": ("migrate", "Turn a format-1 registry into format 2 (one signed commit)."),
    "attest": ("attest", "Measure someone's agent from your own eval logs and publish it."),
    "verify-evals": ("verify_evals", "Check a document's numbers against eval logs."),
    "trust": ("trust", "Manage the local trust set and endorsements."),
    "hooks": ("hooks", "Install or remove the git hooks."),
    "registry": ("registry", "Known registries."),
    "site": ("site", "Write the static leaderboard site of a registry."),
    "timestamp": ("timestamp", "Sign and push a fresh timestamp (freshness)."),
    "log": ("log", "The witnessed log: show its checkpoint, re-ask witnesses, gossip."),
    "role": ("role", "Declare, change or remove a registry role (timestamp, log)."),
    "witness": ("witness", "Cosign logs' checkpoints as a c2sp.org/tlog-witness."),
    "completion": ("completion", "Print a shell completion script (bash, zsh, fish)."),
    "help": ("help", "Show the help of a command: git elite help CMD [SUB]."),
    "hook": ("hook", "Run a git hook (called by the installed shims)."),
}
HIDDEN = {"hook"}


@dataclass
class AppContext:
    """Shared per-invocation state. `now` is taken once per command (UTC seconds)."""

    verbose: bool = False
    now: int = field(default_factory=lambda: int(time.time()))


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if name not in HIDDEN and _available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module = importlib.import_module(f"git_elite.cli.commands.{COMMANDS[cmd_name][0]}")
        command: click.Command = module.command
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        """An unknown command is a usage error that names the closest ones, as git does."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise click.UsageError(f"'{name}' is not a git elite command{hint} "
                                   "(see 'git elite -h')", ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class FullHelpGroup(click.Group):
    """A command group whose -h lists every subcommand with its whole first help line
    (click cuts them at the terminal's width with "...")."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            sub = self.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                rows.append((name, sub.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _available(name: str) -> bool:
    from importlib.util import find_spec

    return find_spec(f"git_elite.cli.commands.{COMMANDS[name][0]}") is not None


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="git-elite",
                      message="git-elite %(version)s")
@click.option("-C", "directory", type=click.Path(file_okay=False), metavar="DIR",
              help="Run as if started in DIR (like git -C).")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks and debug detail.")
@click.pass_context
def group(ctx: click.Context, directory: str | None, verbose: bool) -> None:
    """git elite: a signed, self-verifying registry of elite agent manifests on plain git.

    \b
    Examples:
      git elite id init --alias me
      git elite init chrysalis-elites
      git elite generate && git elite publish --registry origin
      git elite discover --top 10
    """
    if directory:
        try:
            os.chdir(directory)
        except OSError as err:
            raise EliteError(f"cannot change to {directory}: {err.strerror}") from None
    ctx.obj = AppContext(verbose=verbose)


def main(argv: list[str] | None = None) -> int:
    """Run the command line inside the single error boundary (boundary.guarded). With
    --json an error is also a JSON object on stdout: {"error": {"message", "exit_code"}}."""
    args = sys.argv[1:] if argv is None else argv
    verbose = any(a in ("-v", "--verbose") for a in args[:3])
    sink = json_error if "--json" in args else None
    return guarded(lambda: _run(args, sink), verbose, sink)


def _run(args: list[str], sink: Any = None) -> int:
    """click's own outcomes: usage errors exit 2, --help/--version exit 0, Ctrl-C 130."""
    try:
        result = group.main(args=args, prog_name="git elite", standalone_mode=False,
                            complete_var="_GIT_ELITE_COMPLETE")
        return int(result or 0)
    except click.exceptions.Abort:
        report("git-elite: interrupted")
        if sink is not None:
            sink("interrupted", 130)
        return 130
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as err:
        code = 2 if isinstance(err, click.UsageError) else 1
        _show(err)
        if sink is not None:
            sink(err.format_message(), code)
        return code


def _show(err: click.ClickException) -> None:
    """click's usage text, but the error line in our voice (`git-elite: error: …`)."""
    if isinstance(err, click.UsageError) and err.ctx is not None:
        click.echo(err.ctx.get_usage(), err=True)
        hint = f"Try '{err.ctx.command_path} -h' for help."
        click.echo(hint, err=True)
    report(f"git-elite: error: {err.format_message()}")


def app(ctx: click.Context) -> AppContext:
    obj: Any = ctx.find_root().obj
    return obj if isinstance(obj, AppContext) else AppContext()
