"""Output like a good git tool: data to stdout, messages to stderr, colour only on a
terminal and never with NO_COLOR. rich is imported only when a table is drawn."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from git_elite.safetext import escape


def use_colour(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


# Every function here escapes what it prints (safetext.escape): text from a registry or a
# server may carry terminal escapes. Messages and table cells are one line each.
def info(message: str) -> None:
    print(escape(message, keep_newlines=True), file=sys.stderr)


def warn(message: str) -> None:
    prefix = "\033[33mwarning:\033[0m" if use_colour(sys.stderr) else "warning:"
    print(f"git-elite: {prefix} {escape(message)}", file=sys.stderr)


def data(text: str) -> None:
    text = escape(text, keep_newlines=True)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def emit_json(value: Any) -> None:
    """JSON escapes C0 controls itself; DEL, C1 controls and the bidi overrides it leaves raw
    (ensure_ascii=False) are written as \\u escapes too (still the same JSON value)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    sys.stdout.write(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table on stdout: rich on a terminal, plain aligned text otherwise (pipe-friendly)."""
    if use_colour(sys.stdout):
        from rich.console import Console
        from rich.markup import escape as markup
        from rich.table import Table

        grid = Table(title=markup(escape(title)) if title else None)
        for name in columns:
            grid.add_column(markup(escape(name)))
        for row in rows:
            grid.add_row(*[markup(escape(str(cell))) for cell in row])
        Console().print(grid)
        return
    cells = [[escape(str(c)) for c in columns]] + [[escape(str(c)) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    if title:
        data(title)
    for row in cells:
        data("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
