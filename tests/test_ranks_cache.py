"""The rankings data kept in the cache (shards.Ranks.dump/load): written as two lists per
ranking (scores, agent ids), read back equal; the earlier form (rows as pairs, which
edges/verified.py still passes, and cache files written before) still loads; anything else
is no cache (None), so the caller rebuilds the data from the shards."""

from __future__ import annotations

import marshal
from typing import Any

import pytest

from git_elite.core import shards

IDS = [f"{i:02x}" + "a" * 62 for i in range(12)]


def _ranks() -> shards.Ranks:
    entries = [(agent_id, {"elite": True, "score_ppm": 900_000 - 1000 * (i % 5),
                           "recent_tasks_7d": 20,
                           "task_types": {"file-edit": {"count": 10 + i, "success_rate": 0.9}}})
               for i, agent_id in enumerate(IDS)]
    return shards.Ranks.build(entries)


def test_dump_then_load_through_marshal_is_the_same() -> None:
    ranks = _ranks()
    dumped = ranks.dump()
    assert dumped["version"] == 2
    loaded = shards.Ranks.load(marshal.loads(marshal.dumps(dumped)))
    assert loaded is not None
    assert (loaded.counts, loaded.rows) == (ranks.counts, ranks.rows)
    assert loaded.rankings() == ranks.rankings()


@pytest.mark.parametrize("as_pairs", [tuple, list], ids=["tuples", "lists"])
def test_the_earlier_form_still_loads(as_pairs: Any) -> None:
    ranks = _ranks()
    value = {"version": 1, "depth": shards.DEPTH, "counts": ranks.counts,
             "rows": {k: [as_pairs(r) for r in rows] for k, rows in ranks.rows.items()}}
    loaded = shards.Ranks.load(marshal.loads(marshal.dumps(value)))
    assert loaded is not None and loaded.rows == ranks.rows


def _damaged(change: Any) -> dict[str, Any]:
    value = marshal.loads(marshal.dumps(_ranks().dump()))
    change(value)
    return value  # type: ignore[no-any-return]


def _set(key: str, new: Any) -> Any:
    return lambda value: value.__setitem__(key, new)


def _rows(new: Any) -> Any:
    return lambda value: value["rows"].__setitem__("", new)


BAD = {
    "another version": _set("version", 3),
    "another depth": _set("depth", shards.DEPTH + 1),
    "rows not a dict": _set("rows", [1]),
    "a ranking as pairs in version 2": _rows([(1, IDS[0])]),
    "three columns": _rows(([1], [IDS[0]], [])),
    "columns of different lengths": _rows(([1, 2], [IDS[0]])),
    "a score not an int": _rows(([1.5], [IDS[0]])),
    "an id not a str": _rows(([1], [b"x"])),
    "columns not lists": _rows(((1,), (IDS[0],))),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_anything_else_is_no_cache(name: str) -> None:
    assert shards.Ranks.load(_damaged(BAD[name])) is None
