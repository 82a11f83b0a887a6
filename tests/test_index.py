"""INDEX.json (SPEC §6): exact numbers, incremental rebuild equals the from-scratch one."""

from __future__ import annotations

import json

import pytest

from git_elite.core import engine, indexing, layout
from git_elite.core.state import MemoryState, additions, diff
from tests.helpers_registry import agent_files, base_files, identity, with_index


@pytest.mark.parametrize(("rate", "total", "recent", "wilson", "score"), [
    pytest.param(0.9, 100, 20, 825633, 668713, id="typical"),
    pytest.param(0.0, 0, 0, 0, 0, id="no-tasks"),
    pytest.param(1.0, 1, 1, 206543, 323926, id="one-task"),  # 1/(1+z²)
    pytest.param(0.5, 10, 10, 236590, 408620, id="half"),
])
def test_score_ppm(rate: float, total: int, recent: int, wilson: int, score: int) -> None:
    assert indexing.score(rate, total, recent) == (wilson, score)


def _entries(files: dict[str, bytes]) -> dict[str, dict[str, object]]:
    from git_elite.core.index_read import IndexReader

    reader = IndexReader(files.get, "test")
    return dict(reader.entries())


def test_incremental_equals_from_scratch() -> None:
    files = base_files()
    for n, owner in enumerate(["alice", "bob", "carol", "dave"]):
        files.update(agent_files(owner, n, total=40 + 10 * n, recent=5 * n))
    files = with_index(files)
    after = dict(files)
    after.update(agent_files("eve", 9))
    removed = next(p for p in files if p.endswith("manifest.json"))
    del after[removed]
    changes = diff(files, after)
    incremental = engine.expected_files(MemoryState(files), changes, MemoryState(after))
    scratch = engine.full_index(MemoryState(after))
    assert set(incremental) < set(scratch) | {p for p, d in incremental.items() if d is None}
    assert all(scratch.get(p) == data for p, data in incremental.items())
    assert scratch == engine.expected_files(MemoryState(), additions(after), MemoryState(after))
    assert json.loads(scratch[layout.INDEX] or b"")["agent_count"] == 4


def test_policy_thresholds_and_rankings() -> None:
    files = base_files()
    files.update(agent_files("alice", 1, total=60, recent=10))
    files.update(agent_files("bob", 2, total=100, recent=30))
    index = json.loads(with_index(files)[layout.INDEX])
    assert index["rankings"]["general"][0] == index["rankings"]["file-edit"][0]
    assert len(index["rankings"]["general"]) == 2
    assert index["elite_count"] == 2
    strict = dict(files)
    strict[layout.IDENTITY] = json.dumps(identity(elite_min_total_tasks=80)).encode()
    built = with_index(strict)
    assert [a["elite"] for a in _entries(built).values()].count(True) == 1
    assert json.loads(built[layout.INDEX])["elite_count"] == 1


def test_written_form() -> None:
    raw = with_index(base_files())[layout.INDEX]
    value = json.loads(raw)
    assert raw == (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    assert value["agent_count"] == 0 and value["rankings"] == {"general": []}
    assert value["schema_version"] == 2 and value["shards"] == {}
    assert value["rankings_limit"] == 100 and value["elite_count"] == 0


def test_merge_driver_union() -> None:
    """Two shards that gained different agents merge to their union (entries as the
    rebuild writes them)."""
    alice = _entries(with_index({**base_files(), **agent_files("alice", 1)}))
    bob = _entries(with_index({**base_files(), **agent_files("bob", 2)}))
    base = {"schema_version": 2, "shard": "ab", "agents": {}}
    ours = {**base, "agents": alice}
    theirs = {**base, "agents": bob}
    merged, conflicts = indexing.merge(base, ours, theirs)
    assert conflicts == [] and merged == {**base, "agents": {**alice, **bob}}
    changed = {**base, "agents": {a: {**e, "score_ppm": 1} for a, e in alice.items()}}
    _, conflicts = indexing.merge(ours, changed, {**base, "agents": {}})
    assert conflicts == sorted(alice)
