"""The `git-elite` console script. `git elite --version` is answered here, before the command
framework (click, ~35-55 ms to import) is loaded, and so are the git hooks that take no
arguments (`git-elite hook pre-commit`, run on every commit and push: see hookrun.py) and
`git elite discover` and `git elite verify [PATH]` with arguments parsed exactly as click
would (cli/fastpath.py);
everything else goes to `cli.main`."""

from __future__ import annotations

import sys


def main() -> int:
    args = sys.argv[1:]
    if args == ["--version"]:
        from git_elite import __version__

        print(f"git-elite {__version__}")
        return 0
    if len(args) == 2 and args[0] == "hook":
        from git_elite.cli import hookrun

        if args[1] in hookrun.HOOKS:
            from git_elite.cli.boundary import guarded

            return guarded(hookrun.HOOKS[args[1]])
    if args[:1] == ["discover"]:
        from git_elite.cli import fastpath

        code = fastpath.discover(args[1:])
        if code is not None:
            return code
    if args[:1] == ["verify"]:
        from git_elite.cli import fastpath

        code = fastpath.verify(args[1:])
        if code is not None:
            return code
    from git_elite.cli.main import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
