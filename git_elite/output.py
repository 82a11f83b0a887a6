"""Output like a good git tool: data to stdout, messages to stderr, colour only on a
terminal and never with NO_COLOR."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any


def use_colour(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


PREFIX = "git-elite:"


def info(message: str) -> None:
    """A message on stderr; every message starts with `git-elite:` (one voice), except the
    lines a server or another tool wrote (`remote: …`), passed through as they are."""
    if not message.startswith((PREFIX, "remote:", "hint:")):
        message = f"{PREFIX} {message}"
    print(message, file=sys.stderr)


def warn(message: str) -> None:
    prefix = "\033[33mwarning:\033[0m" if use_colour(sys.stderr) else "warning:"
    print(f"git-elite: {prefix} {message}", file=sys.stderr)


def data(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def table(title: str | None, columns: Sequence[Any], rows: Sequence[Sequence[Any]]) -> None:
    """A table on stdout, fitted to the terminal's width (columns.py: the least important
    columns dropped, wrapped text never cut mid-word); off a terminal every column at its
    natural width (pipe-friendly). Columns are names or `columns.Column`s."""
    from git_elite import columns as fitting

    width = terminal_width()
    lines = fitting.render(columns, rows, width)
    if title:
        data(title)
    bold = use_colour(sys.stdout)
    for n, line in enumerate(lines):
        data(f"\033[1m{line}\033[0m" if bold and n == 0 else line)


def terminal_width() -> int | None:
    """The terminal's columns (COLUMNS first, as shutil reads it); None off a terminal."""
    if not (hasattr(sys.stdout, "isatty") and sys.stdout.isatty()):
        return None
    import shutil

    return shutil.get_terminal_size().columns
