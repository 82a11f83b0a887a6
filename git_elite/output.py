"""Output like a good git tool: data to stdout, messages to stderr, colour only on a
terminal and never with NO_COLOR. rich is imported only when a table is drawn."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any


def use_colour(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def info(message: str) -> None:
    print(message, file=sys.stderr)


def warn(message: str) -> None:
    prefix = "\033[33mwarning:\033[0m" if use_colour(sys.stderr) else "warning:"
    print(f"git-elite: {prefix} {message}", file=sys.stderr)


def data(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table on stdout: rich on a terminal, plain aligned text otherwise (pipe-friendly)."""
    if use_colour(sys.stdout):
        from rich.console import Console
        from rich.table import Table

        grid = Table(title=title)
        for name in columns:
            grid.add_column(name)
        for row in rows:
            grid.add_row(*[str(cell) for cell in row])
        Console().print(grid)
        return
    cells = [[str(c) for c in columns]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    if title:
        data(title)
    for row in cells:
        data("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
