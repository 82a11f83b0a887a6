"""The streamed whole-registry audit (audit.py, `verify`) finds exactly what checking every
file at once finds, piece by piece and on two processes."""

from __future__ import annotations

import json

import pytest

from git_elite.core import audit, documents, engine, fanout, indexing, layout
from git_elite.core.state import EMPTY, MemoryState, additions
from tests.helpers_registry import agent_files, agent_id_of, base_files, profile, with_index

N = 40


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    out = base_files()
    for n in range(N):
        out.update(agent_files(("alice", "bob", "carol")[n % 3], n, total=50 + n, recent=20))
    return with_index(out)


def _at_once(files: dict[str, bytes]) -> set[tuple[str, str]]:
    found = engine.check_change(EMPTY, additions(files), MemoryState(files), legacy=True)
    return {(p.rule, p.path) for p in found}


def _streamed(files: dict[str, bytes]) -> set[tuple[str, str]]:
    return {(p.rule, p.path) for p in audit.audit(MemoryState(files))}


def _forged(files: dict[str, bytes]) -> dict[str, bytes]:
    path = layout.agent_path(agent_id_of(profile(3)), "manifest.json")
    body = json.loads(files[path])
    body["metrics"]["total_tasks"] += 1
    return {**files, path: documents.to_bytes(body)}


def _bad_shard(files: dict[str, bytes]) -> dict[str, bytes]:
    path = layout.shard_path(agent_id_of(profile(5))[:2])
    value = json.loads(files[path])
    value["agents"][agent_id_of(profile(5))]["score_ppm"] = 1
    return {**files, path: indexing.dumps(value)}


def _spaced_shard(files: dict[str, bytes]) -> dict[str, bytes]:
    path = layout.shard_path(agent_id_of(profile(5))[:2])
    return {**files, path: files[path] + b" "}


def _stray_shard(files: dict[str, bytes]) -> dict[str, bytes]:
    taken = {p.split("/")[1] for p in files if p.startswith("agents/")}
    free = next(f"{i:02x}" for i in range(256) if f"{i:02x}" not in taken)
    return {**files, layout.shard_path(free): b"{}\n"}


def _no_head(files: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in files.items() if k != layout.INDEX}


MUTATIONS = {"none": dict, "forged manifest": _forged, "stale shard": _bad_shard,
             "shard bytes": _spaced_shard, "stray shard": _stray_shard, "no head": _no_head,
             "junk path": lambda f: {**f, "agents/junk.bin": b"x"}}


@pytest.mark.parametrize("mutate", list(MUTATIONS.values()), ids=list(MUTATIONS))
@pytest.mark.parametrize("split", [True, False], ids=["two-processes", "one"])
def test_streamed_equals_at_once(files: dict[str, bytes], mutate: object, split: bool,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "PARALLEL_MIN_PIECES", 2 if split else 10_000)
    bad = mutate(files)  # type: ignore[operator]
    streamed = _streamed(bad)
    assert streamed == _at_once(bad)
    assert (streamed == set()) == (mutate is dict)


def test_halves_redo_a_failed_child(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    parent = os.getpid()

    def work(items: list[int]) -> list[int]:
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return [i * 2 for i in items]

    assert fanout.halves(list(range(6)), work) == [[0, 2, 4], [6, 8, 10]]


def test_a_killed_child_half_is_checked_again(files: dict[str, bytes],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The forked child of `fanout.halves` killed outright (no exception, no answer on the
    pipe: as by the OOM killer) while it checks the half that holds a forged manifest: the
    parent checks that half again, and verify reports the same `signature` problem."""
    import os
    import signal

    last = max(agent_id_of(profile(n)) for n in range(N))  # its piece is in the child's half
    path = layout.agent_path(last, "manifest.json")
    body = json.loads(files[path])
    body["metrics"]["total_tasks"] += 1
    bad = {**files, path: documents.to_bytes(body)}
    monkeypatch.setattr(audit, "PARALLEL_MIN_PIECES", 2)
    checked = audit._agents
    parent = os.getpid()
    halves_here: list[list[str]] = []

    def dying(state: object, fmt: int, pieces: list[str], *rest: object) -> audit.Tally:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        halves_here.append(list(pieces))
        return checked(state, fmt, pieces, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(audit, "_agents", dying)
    found = _streamed(bad)
    assert ("signature", path) in found
    assert found == _at_once(bad)
    # this process checked its own half, then the killed child's (which holds the forgery)
    assert len(halves_here) == 2 and last[:2] in halves_here[1]
