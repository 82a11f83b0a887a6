"""Tables that fit the terminal (pure: no I/O).

A column has an importance: `drop` 0 is never dropped; otherwise the column with the
highest `drop` goes first until the table fits. A `wrap` column (reasons, messages) is never
cut: it wraps at spaces, a word never split. Off a terminal (`width` None) every column is
shown at its natural width, so pipes get the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

GAP = 2
WRAP_MIN = 20


class Column(NamedTuple):
    name: str
    drop: int = 0
    wrap: bool = False


def as_column(column: str | Column) -> Column:
    return column if isinstance(column, Column) else Column(column)


def fit(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None
        ) -> tuple[list[int], list[int]]:
    """The indexes of the columns kept, and the width of each kept column."""
    natural = [max([len(c.name), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    kept = list(range(len(columns)))
    if width is None:
        return kept, [natural[i] for i in kept]
    least = [_least(columns[i], natural[i], [r[i] for r in rows]) for i in range(len(columns))]

    def need(ids: list[int]) -> int:
        return sum(least[i] for i in ids) + GAP * (len(ids) - 1)

    droppable = sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: (
        -columns[i].drop, -i))
    while need(kept) > width and droppable:
        kept.remove(droppable.pop(0))
    widths = {i: least[i] for i in kept}
    spare = width - need(kept)
    for i in kept:
        if columns[i].wrap and spare > 0:
            grow = min(spare, natural[i] - widths[i])
            widths[i] += grow
            spare -= grow
    return kept, [widths[i] for i in kept]


def _least(column: Column, natural: int, cells: list[str]) -> int:
    if not column.wrap:
        return natural
    longest = max([len(column.name), *(len(w) for c in cells for w in c.split())])
    return min(natural, max(longest, WRAP_MIN))


def render(columns: Sequence[str | Column], rows: Sequence[Sequence[object]],
           width: int | None) -> list[str]:
    """The table's lines (header first), fitted to `width` when given."""
    cols = [as_column(c) for c in columns]
    cells = [[str(cell) for cell in row] for row in rows]
    kept, widths = fit(cols, cells, width)
    lines = [_line([cols[i].name for i in kept], widths)]
    import textwrap  # a wrap column only (~3 ms of start-up otherwise)

    for row in cells:
        parts = [textwrap.wrap(row[i], w, break_long_words=False, break_on_hyphens=False)
                 or [""] if cols[i].wrap else [row[i]] for i, w in zip(kept, widths, strict=True)]
        for n in range(max(len(p) for p in parts)):
            lines.append(_line([p[n] if n < len(p) else "" for p in parts], widths))
    return lines


def _line(cells: list[str], widths: list[int]) -> str:
    return (" " * GAP).join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
