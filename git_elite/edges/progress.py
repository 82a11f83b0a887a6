"""Progress on long work (SPEC §10): on stderr, only when stderr is a terminal.

`meter(kind, label)` opens a progress display for one kind of step ("files", "commits");
the loops that do the work call `step(kind)` (the core's call `ticks.step(kind)`, which
draws nothing and ends here while a meter is open), which costs a global lookup when no
meter of that kind is open (hooks, pipes, every short command). A meter shows itself
only after `ELITE_PROGRESS_DELAY` seconds (default 0.5) so quick work prints nothing even on
a terminal, and rich is imported only then: never on the hook path unless stderr is a
terminal and the work is long. Nested meters are ignored (the outermost one counts).
`spinner(label)` is the same for work without steps (a first clone).
"""

from __future__ import annotations

import os
import sys
import time

from git_elite.core import ticks

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DELAY = 0.5


def enabled() -> bool:
    stream = sys.stderr
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


def _delay() -> float:
    try:
        return max(0.0, float(os.environ.get("ELITE_PROGRESS_DELAY", DELAY)))
    except ValueError:
        return DELAY


class Meter:
    """Counts steps; draws a rich progress bar on stderr once the delay has passed."""

    def __init__(self, kind: str, label: str, total: int | None):
        self.kind, self.label, self.total = kind, label, total
        self.count, self.start, self.pid = 0, time.monotonic(), os.getpid()
        self.delay = _delay()
        self.bar: Any = None
        self.task: Any = None

    def step(self, n: int = 1) -> None:
        self.count += n
        if self.bar is None and time.monotonic() - self.start >= self.delay:
            self._show()
        if self.bar is not None:
            self.bar.update(self.task, completed=self.count)

    def _show(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn()]
        self.bar = Progress(*columns, console=Console(stderr=True), transient=True)
        self.bar.start()
        self.task = self.bar.add_task(f"git-elite: {self.label}", total=self.total,
                                      completed=self.count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


_active: Meter | None = None


def meter(kind: str, label: str, total: int | None = None) -> _Opened:
    """Progress for the `step(kind)` calls made inside `with meter(…):` (on a terminal
    only). (A class, not `contextlib.contextmanager`: the hooks' path imports no
    contextlib, docs/scale.md "The hooks, round 7".)"""
    return _Opened(kind, label, total)


class _Opened:
    def __init__(self, kind: str, label: str, total: int | None) -> None:
        self.args = (kind, label, total)
        self.mine = False

    def __enter__(self) -> None:
        global _active
        if _active is not None or not enabled():
            return
        _active = Meter(*self.args)
        ticks.listener = step  # the core's loops (core/ticks.py) count here too
        self.mine = True

    def __exit__(self, *exc: object) -> None:
        global _active
        if self.mine and _active is not None:
            ticks.listener = None
            _active.close()
            _active = None


def step(kind: str, n: int = 1) -> None:
    """One more unit of `kind` done (a no-op unless a meter of that kind is open in this
    process: a forked worker never draws)."""
    if _active is not None and _active.kind == kind and _active.pid == os.getpid():
        _active.step(n)


def spinner(label: str) -> _Spinning:
    """A spinner with the elapsed time for work without steps, `with spinner(…):` (on a
    terminal only)."""
    return _Spinning(label)


class _Spinning:
    def __init__(self, label: str) -> None:
        self.label = label
        self.status: Any = None

    def __enter__(self) -> None:
        if enabled():
            from rich.console import Console

            self.status = Console(stderr=True).status(f"git-elite: {self.label}")
            self.status.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.__exit__(*exc)
