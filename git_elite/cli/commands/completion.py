"""`git elite completion bash|zsh|fish`: a shell completion script (click's), for the
`git-elite` command and, in bash, for `git elite` through git's own completion."""

from __future__ import annotations

import click

from git_elite.edges import output

CTX = {"help_option_names": ["-h", "--help"]}
VAR = "_GIT_ELITE_COMPLETE"
# git's bash completion (git-completion.bash) calls `_git_<command>` for `git <command> …`:
# hand the words after `git elite` to the same completer as `git-elite …`.
GIT_BASH = r"""
_git_elite() {
    local IFS=$'\n' response completion type value
    local words=("git-elite" "${COMP_WORDS[@]:2}")
    response=$(env COMP_WORDS="${words[*]}" COMP_CWORD=$((COMP_CWORD - 1)) \
        _GIT_ELITE_COMPLETE=bash_complete git-elite)
    for completion in $response; do
        IFS=',' read type value <<< "$completion"
        [[ $type == 'plain' ]] && COMPREPLY+=($value)
    done
}
"""


@click.command("completion", context_settings=CTX)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def command(shell: str) -> int:
    """Print the completion script for SHELL (commands, subcommands and options).

    \b
    Install:
      bash  echo 'eval "$(git-elite completion bash)"' >> ~/.bashrc
            (completes `git-elite …`, and `git elite …` when git's own
            bash completion is loaded)
      zsh   git-elite completion zsh > "${fpath[1]}/_git-elite"
            (or: echo 'eval "$(git-elite completion zsh)"' >> ~/.zshrc)
      fish  git-elite completion fish > ~/.config/fish/completions/git-elite.fish

    \b
    Examples:
      git elite completion bash \\
          > ~/.local/share/bash-completion/completions/git-elite
    """
    from click.shell_completion import get_completion_class

    from git_elite.cli.main import group

    kind = get_completion_class(shell)
    assert kind is not None  # bash, zsh and fish are click's own
    script = kind(group, {}, "git-elite", VAR).source()
    output.data(script + (GIT_BASH if shell == "bash" else ""))
    return 0
