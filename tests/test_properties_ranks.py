"""Property: the rankings data (shards.Ranks) kept incrementally — with the few rows a
cache keeps — gives the same head rankings as a build from every entry, and no ranking
exceeds its limits (100 ids, 64 task types) whatever the entries say."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_elite.core import shards

IDS = [f"{i:02x}" + "0" * 62 for i in range(40)]
TYPES = [f"t{i}" for i in range(6)] + ["general"]


def entry(elite: bool, score: int, recent: int, types: dict[str, tuple[float, int]]
          ) -> dict[str, Any]:
    return {"elite": elite, "score_ppm": score, "recent_tasks_7d": recent,
            "task_types": {t: {"success_rate": r, "count": c} for t, (r, c) in types.items()}}


entries = st.builds(entry, st.booleans(), st.integers(0, 1_000_000), st.integers(0, 50),
                    st.dictionaries(st.sampled_from(TYPES),
                                    st.tuples(st.floats(0, 1), st.integers(0, 40)),
                                    max_size=4))
changes = st.lists(st.tuples(st.sampled_from(IDS), st.none() | entries), max_size=40)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.dictionaries(st.sampled_from(IDS), entries), steps=changes,
       limit=st.integers(1, 4), depth=st.integers(1, 8))
def test_incremental_ranks_equal_a_build(start: dict[str, Any], steps: list[Any],
                                         limit: int, depth: int) -> None:
    depth = max(depth, limit)
    live = dict(start)
    ranks = shards.Ranks.build(live.items(), limit=limit, depth=depth)
    for agent_id, item in steps:
        old = {agent_id: live.get(agent_id)}
        if item is None:
            live.pop(agent_id, None)
        else:
            live[agent_id] = item
        if not ranks.update(old, {agent_id: item}):
            ranks = shards.Ranks.build(live.items(), limit=limit, depth=depth)
        want = shards.Ranks.build(live.items(), limit=limit, depth=depth)
        assert ranks.rankings() == want.rankings()
        assert ranks.counts == want.counts


many_types = st.lists(st.sampled_from([f"type-{i}" for i in range(120)]), min_size=1,
                      max_size=120, unique=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(types=many_types, agents=st.integers(1, 250), seed=st.integers(0, 1000))
def test_rankings_never_exceed_their_limits(types: list[str], agents: int, seed: int) -> None:
    import random

    rnd = random.Random(seed)
    live = {f"{i:064x}": entry(True, rnd.randint(0, 10**6), 20,
                               {t: (rnd.random(), rnd.randint(10, 90)) for t in types})
            for i in range(agents)}
    head, _, _ = shards.build({"name": "r"}, live.items())
    assert len(head["rankings"]) <= shards.MAX_TASK_TYPES + 1
    assert all(len(rows) <= shards.RANKINGS_LIMIT for rows in head["rankings"].values())
    assert len(head["rankings"]["general"]) == min(agents, shards.RANKINGS_LIMIT)
    shown = sorted(types)[:shards.MAX_TASK_TYPES]  # every type ranks every agent: by name
    assert sorted(k for k in head["rankings"] if k != "general") == shown
