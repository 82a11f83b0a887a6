"""`git elite discover` over real registries (git elite init + real commits, bare copies)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers_discover import discover, registry_with, score_ppm
from tests.helpers_registry import agent_id_of, key, profile

AGENTS = [
    {"owner": "alice", "n": 1, "rate": 0.95, "total": 200, "recent": 40},
    {"owner": "bob", "n": 2, "rate": 0.85, "total": 60, "recent": 12},
    {"owner": "alice", "n": 3, "rate": 0.99, "total": 50, "recent": 50},
    {"owner": "carol", "n": 4, "rate": 0.9, "total": 1000, "recent": 10},
    {"owner": "bob", "n": 5, "rate": 0.5, "total": 300, "recent": 30},  # not elite
]


def test_ranking_equals_spec_six(tmp_path: Path) -> None:
    _, bare = registry_with(tmp_path, "reg", AGENTS)
    rows = discover("--registry", str(bare))
    expected = sorted(((-score_ppm(a["rate"], a["total"], a["recent"]),
                        agent_id_of(profile(a["n"]))) for a in AGENTS if a["rate"] >= 0.8),)
    assert [r["agent_id"] for r in rows] == [aid for _, aid in expected]
    assert [r["score_ppm"] for r in rows] == [-s for s, _ in expected]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["owner_did"] in {key(n).did for n in ("alice", "bob", "carol")}
