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


# the hooks that may end without the interpreter's teardown (see `leave`)
QUICK_EXIT = frozenset({"pre-commit", "pre-merge-commit"})


def leave(code: int) -> None:
    """End a finished commit hook at once: stdout and stderr flushed, then `os._exit`.
    Nothing is left to do by then (its git processes have been waited for, its files
    written and closed, no temporary file or thread is left), but a normal exit would still
    free every object of ~130 modules one by one while `git commit` waits: ~5-15 ms on the
    10k commit (docs/scale.md, "The hooks, round 5")."""
    import os

    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001 - as the interpreter's own exit does: status 120
        code = code or 120
    try:
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - nowhere left to say it
        pass
    os._exit(code)


def run() -> None:
    """What every installed hook shim runs (`python -P -c 'from git_elite.launcher import
    run; run()' hook <name>`): `main`, then the exit — at once for a commit hook (`leave`).
    `-c` rather than `-m git_elite.launcher`: `-m` imports runpy and importlib.util (~3 ms
    of a hook's start-up, docs/scale.md "The hooks, round 7"); a shim written by an earlier
    release still runs `-m`, which ends here too."""
    status = main()
    if len(sys.argv) == 3 and sys.argv[1] == "hook" and sys.argv[2] in QUICK_EXIT:
        leave(status)
    raise SystemExit(status)


if __name__ == "__main__":
    run()
