"""`git elite help [CMD [SUB]]`: the -h text of a command (like `git help`, but as text)."""

from __future__ import annotations

import click

from git_elite.core.errors import UsageError
from git_elite.edges import output

CTX = {"help_option_names": ["-h", "--help"]}


@click.command("help", context_settings=CTX)
@click.argument("words", nargs=-1, metavar="[CMD [SUB]]")
@click.pass_context
def command(ctx: click.Context, words: tuple[str, ...]) -> int:
    """Show the help of a command (the same text as `git elite CMD -h`).

    `git elite --help` opens the man page (git's own rule); `git elite help` is the text.

    \b
    Examples:
      git elite help publish
      git elite help trust endorse
    """
    here = ctx.find_root()
    command_: click.Command = here.command
    for word in words:
        sub = command_.get_command(here, word) if isinstance(command_, click.Group) else None
        if sub is None:
            raise UsageError(f"no such command: git elite {' '.join(words)} "
                             "(see 'git elite -h')")
        here = click.Context(sub, info_name=word, parent=here)
        command_ = sub
    output.data(here.get_help())
    return 0
