"""The engine's per-agent checks of a big change on two cores.

A whole-tree audit (`verify`) or an initial push checks thousands of agents, each on its own
(parse, schema, signature, binding) against the same read-only context. With at least
`PARALLEL_MIN` agents, one forked child checks the second half while this process checks the
first; the child sends back its problems and INDEX entries, which are appended after this
process's own, so the problems come out in exactly the serial order. If the child fails in
any way, its half is checked again here: the result never depends on the fork.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from git_elite.core.context import Context
    from git_elite.core.state import Change

    Agents = Sequence[tuple[str, dict[str, "Change"]]]
    Check = Callable[["Context", str, dict[str, "Change"]], None]

PARALLEL_MIN = 2000
_SPLIT = False  # inside `halves`: each process is already one of two; no nested fork
CHILD = False  # this process is a forked child of `halves`: it must not repair shared state
_IN_CHILD = False  # this process is a forked child of `check_agents` or `halves`
# what this forked child runs once its result is sent, before it exits (`at_child_end`)
_AT_CHILD_END: list[Callable[[], None]] = []


def check_agents(ctx: Context, agents: Agents, check: Check) -> None:
    """`check(ctx, agent_id, files)` for every agent, in order, on up to two cores."""
    if len(agents) < PARALLEL_MIN or _SPLIT or (os.cpu_count() or 1) < 2 or \
            not hasattr(os, "fork"):
        _serial(ctx, agents, check)
        return
    import multiprocessing

    half = len(agents) // 2
    mp = multiprocessing.get_context("fork")
    reader, writer = mp.Pipe(duplex=False)
    child = mp.Process(target=_child, args=(ctx, agents[half:], check, writer), daemon=True)
    child.start()
    writer.close()
    _serial(ctx, agents[:half], check)
    try:
        result = reader.recv()
    except (EOFError, OSError):
        result = None
    child.join()
    if result is None or child.exitcode != 0:
        _serial(ctx, agents[half:], check)
        return
    problems, entries = result
    ctx.problems.extend(problems)
    ctx.entries.update(entries)


def at_child_end(end: Callable[[], None]) -> None:
    """In a forked child of `check_agents` or `halves`: run `end` after the child's result
    is sent, before it exits (a process the child started, such as its own `git
    cat-file`, is then waited for by the child rather than left behind unreaped, its CPU
    unaccounted). Elsewhere: nothing (the caller closes what it opened)."""
    if _IN_CHILD:
        _AT_CHILD_END.append(end)


def _child_end() -> None:
    import contextlib

    while _AT_CHILD_END:
        end = _AT_CHILD_END.pop()
        with contextlib.suppress(Exception):  # the result is sent; the child exits anyway
            end()


def _serial(ctx: Context, agents: Agents, check: Check) -> None:
    for agent_id, files in agents:
        check(ctx, agent_id, files)


def _child(ctx: Context, agents: Agents, check: Check, writer: Any) -> None:
    global _IN_CHILD
    _IN_CHILD = True
    start = len(ctx.problems)
    try:
        _serial(ctx, agents, check)
        entries = {a: ctx.entries[a] for a, _ in agents if a in ctx.entries}
        writer.send((ctx.problems[start:], entries))
    except BaseException:  # noqa: BLE001 - the parent checks this half again itself
        writer.send(None)
    writer.close()
    _child_end()


def halves(items: Sequence[Any], work: Callable[[Sequence[Any]], Any]) -> list[Any]:
    """[work(first half), work(second half)], the second computed in a forked child when
    two cores are there (else both here); a child that fails is redone here."""
    global _SPLIT
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "fork") or _SPLIT or len(items) < 2:
        return [work(items)]
    import multiprocessing

    half = len(items) // 2
    mp = multiprocessing.get_context("fork")
    reader, writer = mp.Pipe(duplex=False)
    _SPLIT = True
    try:
        child = mp.Process(target=_half_child, args=(work, items[half:], writer), daemon=True)
        child.start()
        writer.close()
        first = work(items[:half])
        try:
            second = reader.recv()
        except (EOFError, OSError):
            second = None
        child.join()
    finally:
        _SPLIT = False
    if second is None or child.exitcode != 0:
        second = work(items[half:])
    return [first, second]


def _half_child(work: Callable[[Sequence[Any]], Any], items: Sequence[Any], writer: Any
                ) -> None:
    global CHILD, _IN_CHILD
    CHILD = _IN_CHILD = True
    try:
        writer.send(work(items))
    except BaseException:  # noqa: BLE001 - the parent does this half again itself
        writer.send(None)
    writer.close()
    _child_end()
