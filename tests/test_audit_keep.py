"""audit.Tally.join drops the entries of unranked agents in batches (not a scan of every
ranking row per piece, issue 26 item 3) and still keeps memory flat: `ranked` never holds
more than twice what the last drop kept plus KEEP_SLACK, and every ranked agent's entry is
there."""

from __future__ import annotations

from typing import Any

from git_elite.core import audit, shards


def _entry(score: int) -> dict[str, Any]:
    return {"elite": True, "score_ppm": score, "recent_tasks_7d": 0, "task_types": {}}


def _piece(n: int) -> audit.Tally:
    """One piece of 40 elite agents, scores rising with n (later pieces rank higher)."""
    live = {f"{n:04x}{i:060x}": _entry(n * 100 + i) for i in range(40)}
    mine = audit.Tally(ranks=shards.Ranks.build(live.items(), depth=50))
    mine.ranked.update(live)
    mine.keep_ranked()
    return mine


def test_join_keeps_ranked_bounded_and_complete() -> None:
    whole = audit.Tally(ranks=shards.Ranks(depth=50))
    most = 0
    for n in range(200):
        whole.join(_piece(n))
        most = max(most, len(whole.ranked))
        assert len(whole.ranked) <= 2 * whole.kept + audit.KEEP_SLACK + 40
        ranked = {a for rows in whole.ranks.rows.values() for _, a in rows}
        assert ranked <= set(whole.ranked)
    assert most < 200 * 40 // 4  # far fewer than every agent seen
    whole.keep_ranked()
    assert set(whole.ranked) == {a for rows in whole.ranks.rows.values() for _, a in rows}
