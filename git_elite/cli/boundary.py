"""The single error boundary, shared by the command line (`cli.main`) and the git hooks run
without click (`launcher` → `hookrun`): 0 ok, 1 verification failed or refused (an
EliteError's own code; 2 for usage), 3 internal error (traceback only with -v),
130 interrupted. Imports nothing heavy, so the hooks' start-up stays cheap."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def guarded(run: Callable[[], int], verbose: bool = False,
            on_error: Callable[[str, int], None] | None = None) -> int:
    """`on_error(message, exit_code)` is also told of an error (`--json`: a JSON error
    object on stdout, so pipelines see it)."""
    from git_elite.core.errors import EliteError

    try:
        return run()
    except EliteError as err:
        report(f"git-elite: error: {err}")
        if on_error is not None:
            on_error(str(err), err.exit_code)
        if verbose:
            _traceback()
        return err.exit_code
    except KeyboardInterrupt:
        report("git-elite: interrupted")
        if on_error is not None:
            on_error("interrupted", 130)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # noqa: BLE001 - the boundary: anything else is our bug
        if verbose:
            _traceback()
        first = str(err).splitlines()[0][:200] if str(err) else ""
        report(f"git-elite: internal error: {type(err).__name__}: {first}"
               " (run with -v for a traceback)")
        if on_error is not None:
            on_error(f"internal error: {type(err).__name__}: {first}", 3)
        return 3


def json_error(message: str, code: int) -> None:
    """`--json`'s error object on stdout: {"error": {"message", "exit_code"}}."""
    import json

    try:
        sys.stdout.write(json.dumps({"error": {"message": message, "exit_code": code}}) + "\n")
        sys.stdout.flush()
    except OSError:
        pass


def report(message: str) -> None:
    """One line to stderr, escaped (an error's text may quote a registry or a server)."""
    from git_elite.core.safetext import escape

    try:
        print(escape(message), file=sys.stderr)
    except OSError:
        pass


def _traceback() -> None:
    import traceback

    traceback.print_exc()
