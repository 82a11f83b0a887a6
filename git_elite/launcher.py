"""The `git-elite` console script. `git elite --version` is answered here, before the command
framework (click, ~35-55 ms to import) is loaded, and so are the git hooks that take no
arguments (`git-elite hook pre-commit`, run on every commit and push: see hookrun.py);
everything else goes to `cli.main`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


def main() -> int:
    args = sys.argv[1:]
    if args == ["--version"]:
        from git_elite import __version__

        print(f"git-elite {__version__}")
        return 0
    if len(args) == 2 and args[0] == "hook":
        from git_elite import hookrun

        if args[1] in hookrun.HOOKS:
            return _boundary(hookrun.HOOKS[args[1]])
    from git_elite.cli import main as cli_main

    return cli_main()


def _boundary(hook: Callable[[], int]) -> int:
    """cli.main's error boundary for a hook run without click: 0 ok, 1 refused (an
    EliteError's own code), 3 internal error, 130 interrupted."""
    from git_elite.errors import EliteError

    try:
        return hook()
    except EliteError as err:
        _report(f"git-elite: error: {err}")
        return err.exit_code
    except KeyboardInterrupt:
        _report("git-elite: interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # noqa: BLE001 - the boundary: anything else is our bug
        first = str(err).splitlines()[0][:200] if str(err) else ""
        _report(f"git-elite: internal error: {type(err).__name__}: {first}")
        return 3


def _report(message: str) -> None:
    import contextlib

    with contextlib.suppress(OSError):
        print(message, file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
