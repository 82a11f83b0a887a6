"""Output like a good git tool: data to stdout, messages to stderr, colour only on a
terminal and never with NO_COLOR."""

from __future__ import annotations

import os
import sys

from git_elite.core import cjson
from git_elite.core.safetext import escape

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


def use_colour(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


# Every function here escapes what it prints (safetext.escape): text from a registry or a
# server may carry terminal escapes. Messages and table cells are one line each.
PREFIX = "git-elite:"


def info(message: str) -> None:
    """A message on stderr; every message starts with `git-elite:` (one voice), except the
    lines a server or another tool wrote (`remote: …`), passed through as they are."""
    if not message.startswith((PREFIX, "remote:", "hint:")):
        message = f"{PREFIX} {message}"
    print(escape(message, keep_newlines=True), file=sys.stderr)


def warn(message: str) -> None:
    prefix = "\033[33mwarning:\033[0m" if use_colour(sys.stderr) else "warning:"
    print(f"git-elite: {prefix} {escape(message)}", file=sys.stderr)


def data(text: str) -> None:
    text = escape(text, keep_newlines=True)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def emit_json(value: Any) -> None:
    sys.stdout.write(json_text(value) + "\n")


def json_text(value: Any) -> str:
    """JSON escapes C0 controls itself; DEL, C1 controls and the bidi overrides it leaves raw
    (ensure_ascii=False) are written as \\u escapes too (still the same JSON value)."""
    return json_safe(indented(value))


def json_safe(text: str) -> str:
    """JSON text with DEL, C1 controls, the line separators and the bidi controls written as
    \\u escapes: the same JSON value (in valid JSON they can only stand inside strings)."""
    return text.translate(_JSON_UNSAFE)


_JSON_UNSAFE = {code: f"\\u{code:04x}" for code in
                (*range(0x7f, 0xa0), 0x2028, 0x2029, *range(0x202a, 0x202f),
                 *range(0x2066, 0x206a))}


def indented(value: Any) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)` without importing `json` (its
    decoder compiles regular expressions: ~2 ms of `discover --json`; docs/scale.md,
    "discover --offline, round 7"): core/cjson's indented writer for what `--json` prints,
    anything else (another key or value type, a NaN, a subclass, deep nesting) left to
    `json` itself, so the text or the error is always json's."""
    text = cjson.indented(value, sort_keys=False)
    if text is not None:
        return text
    import json

    return json.dumps(value, indent=2, ensure_ascii=False)


def table(title: str | None, columns: Sequence[Any], rows: Sequence[Sequence[Any]]) -> None:
    """A table on stdout, fitted to the terminal's width (columns.py: the least important
    columns dropped, wrapped text never cut mid-word); off a terminal every column at its
    natural width (pipe-friendly). Columns are names or `columns.Column`s."""
    from git_elite.core import columns as fitting

    width = terminal_width()
    safe = [[escape(str(cell)) for cell in row] for row in rows]
    lines = fitting.render(columns, safe, width)
    if title:
        data(title)
    bold = use_colour(sys.stdout)
    for n, line in enumerate(lines):
        if bold and n == 0:  # the escape codes are ours; the line itself is escaped
            sys.stdout.write(f"\033[1m{escape(line)}\033[0m\n")
        else:
            data(line)


def terminal_width() -> int | None:
    """The terminal's columns (COLUMNS first, as shutil reads it); None off a terminal."""
    if not (hasattr(sys.stdout, "isatty") and sys.stdout.isatty()):
        return None
    import shutil

    return shutil.get_terminal_size().columns
