"""`git elite discover …` and `git elite verify [PATH]` (with its flags) answered without
click (~45 ms of imports: click and the command table), as the launcher answers `--version`
and the git hooks. Only argument lists that this module parses exactly as click parses them
take this path: for discover, each argument one of its own options
(cli/commands/discover.py), `--opt value` or `--opt=value`, values click would accept
unchanged; for verify (cli/commands/verify.py), its flags `--json`, `--history`,
`--no-cache`, `--allow-stale` each at most once and at most one PATH. Anything else — `-h`,
an unknown or abbreviated option, a value click converts or refuses, a repeated
single-value option, `--`, a positional argument of discover, the shell-completion
variable — returns None, and the launcher hands the whole list to click, so messages and
exit codes stay click's. The body is the one click calls (`discovering.run`,
`verifying.run`), inside the same error boundary (`boundary.guarded`)."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

# option -> (Options field, kind); kinds: text, many (repeatable), count (IntRange(min=0)),
# rate (FloatRange(0, 1))
VALUED = {"--registry": ("names", "many"), "--task-type": ("task_type", "text"),
          "--top": ("top", "count"), "--min-success": ("min_success", "rate"),
          "--min-tasks": ("min_tasks", "count"), "--httpd": ("httpd_url", "text"),
          "--rid": ("rid", "text"), "--url": ("urls", "many")}
FLAGS = {"--trusted-only": "trusted_only", "--attested": "attested", "--json": "as_json",
         "--offline": "offline", "--allow-stale": "allow_stale"}
_DIGITS = frozenset("0123456789")


def _count_text(value: str) -> bool:
    """`[0-9]{1,18}` (fullmatch): what int() reads as click does (no sign, space, _)."""
    return 0 < len(value) <= 18 and set(value) <= _DIGITS


def _rate_text(value: str) -> bool:
    """`[0-9]{1,18}(\\.[0-9]{0,18})?|\\.[0-9]{1,18}` (fullmatch), without `re`."""
    whole, dot, part = value.partition(".")
    return len(whole) <= 18 and len(part) <= 18 and set(whole + part) <= _DIGITS and \
        (bool(whole) or bool(part))


COMPLETE_VAR = "_GIT_ELITE_COMPLETE"  # cli/main.py's: completion is click's


def parse(args: Sequence[str]) -> dict[str, Any] | None:
    """discover's options from `args` (after `discover`), or None: leave them to click."""
    found: dict[str, Any] = {}
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        name, eq, value = arg.partition("=")
        if not eq and arg in FLAGS:
            found[FLAGS[arg]] = True
            continue
        if name not in VALUED or not arg.startswith("--"):
            return None
        if not eq:
            if not rest or rest[0].startswith("-"):  # missing, or click's own call to make
                return None
            value = rest.pop(0)
        field, kind = VALUED[name]
        converted = _convert(kind, value)
        if converted is None:
            return None
        if kind == "many":
            found[field] = (*found.get(field, ()), value)
        elif field in found:
            return None  # given twice: click's rule for that, not ours
        else:
            found[field] = converted
    return found


def _convert(kind: str, value: str) -> Any:
    if kind in ("text", "many"):
        return value
    if kind == "count":
        return int(value) if _count_text(value) else None
    number = float(value) if _rate_text(value) else -1.0
    return number if 0 <= number <= 1 else None  # out of range: click's message


def discover(args: Sequence[str]) -> int | None:
    """Run `git elite discover ARGS` without click, or None when click must parse them."""
    if os.environ.get(COMPLETE_VAR):
        return None
    found = parse(args)
    if found is None:
        return None
    import time

    from git_elite.cli import discovering
    from git_elite.cli.boundary import guarded, json_error

    options = discovering.Options(**found)
    now = int(time.time())  # taken once, as the click group's AppContext does
    sink = json_error if "--json" in args else None
    return guarded(lambda: _as_click_runs(lambda: discovering.run(options, now)), False, sink)


VERIFY_FLAGS = {"--json": "as_json", "--history": "history", "--no-cache": "no_cache",
                "--allow-stale": "allow_stale"}


def parse_verify(args: Sequence[str]) -> dict[str, Any] | None:
    """`verify`'s arguments (after `verify`) when they are its flags, each at most once,
    and at most one PATH that does not start with `-` (click's `target`, default `.`);
    None: anything else (`--rev`, `--url`, `-h`, `--`, a second PATH...) is click's."""
    found: dict[str, Any] = {"target": ".", "rev": "HEAD", "url": None,
                             **{name: False for name in VERIFY_FLAGS.values()}}
    target = None
    for arg in args:
        if arg in VERIFY_FLAGS and not found[VERIFY_FLAGS[arg]]:
            found[VERIFY_FLAGS[arg]] = True
        elif arg.startswith("-") or target is not None:
            return None
        else:
            target = found["target"] = arg
    return found


def verify(args: Sequence[str]) -> int | None:
    """Run `git elite verify ARGS` without click, or None when click must parse them. The
    body is the one the click command calls (`verifying.run`)."""
    if os.environ.get(COMPLETE_VAR):
        return None
    found = parse_verify(args)
    if found is None:
        return None
    import time

    from git_elite.cli import verifying
    from git_elite.cli.boundary import guarded, json_error

    now = int(time.time())  # taken once, as the click group's AppContext does
    sink = json_error if "--json" in args else None
    return guarded(lambda: _as_click_runs(lambda: verifying.run(**found, now=now)), False,
                   sink)


def _as_click_runs(body: Any) -> int:
    """The command body with click's handling around it (click.Command.main): Ctrl-C ends
    the terminal's `^C` line first; a closed stdout ends the command with exit 1 and no
    traceback at exit."""
    import errno

    try:
        return int(body() or 0)
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        raise KeyboardInterrupt from None
    except OSError as err:
        if err.errno != errno.EPIPE:
            raise
        sys.stdout = _Pacified(sys.stdout)
        sys.stderr = _Pacified(sys.stderr)
        raise SystemExit(1) from None


class _Pacified:
    """A stream whose flush ignores a closed pipe (click's _PacifyFlushWrapper)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as err:
            import errno

            if err.errno != errno.EPIPE:
                raise

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.wrapped, attr)
