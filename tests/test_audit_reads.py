"""The streamed audit (`verify`) reads each agent's files once, by directory, whatever the
registry's size: what it asks of the whole state per agent is constant (SPEC §12), in both
formats (format 1 was O(N²): every piece listed every agent, every read walked the flat
tree)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from git_elite.core import audit, engine, indexing, layout
from git_elite.core.state import MemoryState, additions
from tests.helpers_format1 import ATTRIBUTES_V1, doc, v1_agent
from tests.helpers_registry import agent_files, base_files, identity, with_index

OWNERS = ("alice", "bob", "carol")


class Counting(MemoryState):
    """A state that counts what is asked of it: reads by path, listings, subtrees."""

    def __init__(self, files: dict[str, bytes]):
        super().__init__(files)
        self.calls: Counter[str] = Counter()
        self.agent_reads = 0

    def read(self, path: str) -> bytes | None:
        self.calls["read"] += 1
        self.agent_reads += path.startswith("agents/") and path in self.files  # a file
        return super().read(path)

    def names(self, directory: str) -> list[str]:
        self.calls["names " + directory] += 1
        return super().names(directory)

    def subtree(self, directory: str) -> dict[str, bytes]:
        self.calls["subtree"] += 1
        return super().subtree(directory)


def _registry(n: int, fmt: int) -> dict[str, bytes]:
    if fmt >= 2:
        files = base_files()
        for i in range(n):
            files.update(agent_files(OWNERS[i % 3], i, total=60 + i, recent=20))
        return with_index(files)
    out: dict[str, bytes] = {layout.IDENTITY: doc(identity("server", fmt=1)),
                             layout.GITATTRIBUTES_PATH: ATTRIBUTES_V1}
    for i in range(n):
        out.update({p: d for p, d in v1_agent(OWNERS[i % 3], i, total=60 + i,
                                               recent=20).items() if d is not None})
    agents = {p: d for p, d in out.items() if p.startswith("agents/")}
    out[layout.INDEX] = indexing.dumps(engine.expected_index(
        MemoryState(), additions(out), MemoryState(out)))
    assert len(agents) == 2 * n
    return out


def _audit(files: dict[str, bytes]) -> tuple[Counting, int]:
    state = Counting(files)
    assert audit.audit(state) == []
    pieces = len({p.split("/")[1][:2] for p in files if p.startswith("agents/")})
    return state, pieces


@pytest.mark.parametrize("fmt", [2, 1], ids=["format-2", "format-1"])
def test_verify_asks_a_constant_amount_per_agent(fmt: int, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    monkeypatch.setattr(audit, "PARALLEL_MIN_PIECES", 10**9)  # one process: every call seen
    found: dict[int, dict[str, Any]] = {}
    for n in (30, 120):
        state, pieces = _audit(_registry(n, fmt))
        # every agent file comes from one listing of its piece, never from a read by path
        assert state.agent_reads == 0
        assert state.calls["names agents"] == 1 + (fmt < 2)  # the pieces, then (format 1)
        # the directories of every piece, once
        per_piece = 1 if fmt >= 2 else n / pieces
        assert state.calls["subtree"] <= 1 + pieces * per_piece + 1
        found[n] = {"reads": state.calls["read"] / n, "subtrees": state.calls["subtree"]}
    # reads by path (IDENTITY.json, the shards, a rotation per owner): constant per agent
    assert found[120]["reads"] <= found[30]["reads"]


def test_piece_state_serves_its_own_directories_only() -> None:
    files = _registry(8, 2)
    base = Counting(files)
    ab = next(p.split("/")[1] for p in files if p.startswith("agents/"))
    piece = audit.Piece(base, [f"agents/{ab}"])
    mine = [p for p in files if p.startswith(f"agents/{ab}/")]
    assert set(piece.files) == set(mine)
    before = base.calls["read"]
    assert all(piece.read(p) == files[p] for p in mine)
    assert piece.read(f"agents/{ab}/missing/manifest.json") is None
    assert base.calls["read"] == before  # no read of the piece went to the whole state
    assert piece.read(layout.IDENTITY) == files[layout.IDENTITY]
    assert piece.names(f"agents/{ab}") == sorted({p.split("/")[2] for p in mine})
    agent = mine[0].rsplit("/", 1)[0]
    assert piece.names(agent) == sorted(p.rsplit("/", 1)[1] for p in mine
                                        if p.startswith(agent + "/"))
    assert piece.names(agent + "/attestations") == []
    # the listing is built once: a directory's names cost a lookup, not a scan of the piece
    assert isinstance(piece.listed, dict) and agent in piece.listed


def test_reads_outside_the_pieces_are_asked_once_per_process(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """IDENTITY.json (every piece) and each owner's rotation path (every agent) are looked
    up in the whole state once, not per piece or per agent; the memo is bounded."""
    monkeypatch.setattr(audit, "PARALLEL_MIN_PIECES", 10**9)
    files = _registry(60, 2)
    asked: Counter[str] = Counter()

    class Asked(Counting):
        def read(self, path: str) -> bytes | None:
            asked[path] += 1
            return super().read(path)

    assert audit.audit(Asked(files)) == []
    rotations = [p for p in asked if p.startswith("identities/")]
    assert len(rotations) == len(OWNERS)  # one path per owner, the agents share them
    assert all(asked[p] == 1 for p in rotations)
    pieces = len({p.split("/")[1] for p in files if p.startswith("agents/")})
    assert pieces > 3 and asked[layout.IDENTITY] < pieces  # not once per piece
    outside = audit.Outside(Counting(files))
    monkeypatch.setattr(audit.Outside, "MOST", 2)
    for path in ("a", "b", "c", layout.IDENTITY, layout.IDENTITY):
        outside.read(path)
    assert len(outside.known) <= 2 and outside.read(layout.IDENTITY) == files[layout.IDENTITY]
