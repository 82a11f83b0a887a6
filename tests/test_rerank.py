"""indexing.rerank (the rankings of an updated INDEX.json from the parent's) equals the
from-scratch `rankings` for any parent and any handful of changed, added or removed agents."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from git_elite.core import indexing

TYPES = ("file-edit", "search", "review")
_stats = st.fixed_dictionaries({"success_rate": st.sampled_from([0.5, 0.8, 0.9, 1.0]),
                                "count": st.sampled_from([0, 9, 10, 30])})
_entry = st.fixed_dictionaries({
    "elite": st.booleans(), "score_ppm": st.sampled_from([1, 500_000, 700_000, 900_000]),
    "recent_tasks_7d": st.sampled_from([0, 10, 50]),
    "task_types": st.dictionaries(st.sampled_from(TYPES), _stats, max_size=3)})
_ids = st.sampled_from([f"{c}{c}" for c in "abcdefghij"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_ids, _entry, max_size=10),
       st.dictionaries(_ids, st.none() | _entry, min_size=1, max_size=4))
def test_rerank_equals_rankings(parent: dict[str, Any], changes: dict[str, Any]) -> None:
    agents = {**parent, **{a: e for a, e in changes.items() if e is not None}}
    for agent_id in [a for a, e in changes.items() if e is None]:
        agents.pop(agent_id, None)
    old = indexing.rankings(parent)
    assert indexing.rerank(old, agents, changes) == indexing.rankings(agents)


def test_not_rankings_falls_back() -> None:
    assert indexing.rerank({"file-edit": []}, {}, ["aa"]) is None
    assert indexing.rerank([], {}, ["aa"]) is None
