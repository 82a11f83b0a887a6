"""The `git-elite` console script. `git elite --version` is answered here, before the command
framework (click, ~55 ms to import) is loaded; everything else goes to `cli.main`."""

from __future__ import annotations

import sys


def main() -> int:
    if sys.argv[1:] == ["--version"]:
        from git_elite import __version__

        print(f"git-elite {__version__}")
        return 0
    from git_elite.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
