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
    "discover --offline, round 7"): what `--json` prints — dicts with str keys, lists,
    tuples, str, int, finite floats, bools and None — written as json writes them, and
    anything else (another key or value type, a NaN, a subclass, nesting past 64) left to
    `json` itself, so the text or the error is always json's."""
    parts: list[str] = []
    if _indent(value, parts, "\n"):
        return "".join(parts)
    import json

    return json.dumps(value, indent=2, ensure_ascii=False)


def _indent(value: Any, out: list[str], newline: str) -> bool:
    kind = type(value)
    if kind is str:
        out.append(cjson.encode_string(value))
    elif value is None or kind is bool:
        out.append("null" if value is None else "true" if value else "false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            return False
        out.append(float.__repr__(value))
    elif kind is dict or kind is list or kind is tuple:
        return _container(value, out, newline)
    else:
        return False
    return True


def _container(value: Any, out: list[str], newline: str) -> bool:
    dict_ = type(value) is dict
    if not value:
        out.append("{}" if dict_ else "[]")
        return True
    if len(newline) > 129:  # nesting past 64: json's own checks (and its error)
        return False
    inner = newline + "  "
    out.append("{" if dict_ else "[")
    for n, item in enumerate(value.items() if dict_ else value):
        out.append(inner if n == 0 else "," + inner)
        if dict_:
            if type(item[0]) is not str:
                return False
            out.append(cjson.encode_string(item[0]) + ": ")
            item = item[1]
        if not _indent(item, out, inner):
            return False
    out.append(newline + ("}" if dict_ else "]"))
    return True


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
