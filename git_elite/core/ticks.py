"""Progress ticks from the core's loops, drawing nothing (SPEC §10).

A loop calls `step(kind)`: one global lookup when nobody listens (hooks, pipes, every short
command). edges/progress.py listens while one of its meters is open and draws it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Listener = Callable[[str, int], None]


listener: Listener | None = None


def step(kind: str, n: int = 1) -> None:
    """One more unit of `kind` done (passed to the listener, if there is one)."""
    if listener is not None:
        listener(kind, n)
