"""`git elite discover` over real registries (git elite init + real commits, bare copies)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli
from tests.helpers_discover import T0, discover, registry_with, score_ppm
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


SPEC_KEYS = {"rank", "agent_id", "owner_did", "trusted", "trust_path", "registry",
             "success_rate", "total_tasks", "score_ppm", "task_type", "created_at",
             "attestations"}


def test_json_shape_filters_and_top(tmp_path: Path) -> None:
    _, bare = registry_with(tmp_path, "reg", AGENTS)
    rows = discover("--registry", str(bare))
    assert all(set(r) == SPEC_KEYS | {"sources"} for r in rows)
    assert rows[0]["registry"] == "reg" and rows[0]["sources"] == ["reg"]
    assert rows[0]["trusted"] is False and rows[0]["trust_path"] == []
    assert rows[0]["task_type"] == "general" and rows[0]["created_at"] == T0
    assert [r["agent_id"] for r in discover("--registry", str(bare), "--top", "2")] == \
        [r["agent_id"] for r in rows[:2]]
    picky = discover("--registry", str(bare), "--min-success", "0.9", "--min-tasks", "100")
    assert {r["agent_id"] for r in picky} == {agent_id_of(profile(n)) for n in (1, 4)}
    assert [r["rank"] for r in picky] == [1, 2]


def test_task_type_ranking(tmp_path: Path) -> None:
    stats = [(1, 0.70, 40), (2, 0.99, 30), (3, 0.90, 9), (4, 0.95, 50)]
    agents = [{"owner": "alice", "n": n, "rate": 0.9, "total": 100, "recent": 20,
               "task_type_stats": {"refactor": {"success_rate": r, "count": c}}}
              for n, r, c in stats]
    _, bare = registry_with(tmp_path, "reg", agents)
    rows = discover("--registry", str(bare), "--task-type", "refactor")
    expected = sorted((-score_ppm(r, c, 20), agent_id_of(profile(n))) for n, r, c in stats
                      if c >= 10)
    assert [(-r["score_ppm"], r["agent_id"]) for r in rows] == expected
    assert {r["task_type"] for r in rows} == {"refactor"}
    per_id = {agent_id_of(profile(n)): (r, c) for n, r, c in stats}
    assert all((r["success_rate"], r["total_tasks"]) == per_id[r["agent_id"]] for r in rows)
    assert discover("--registry", str(bare), "--task-type", "nothing") == []


def test_table_output(tmp_path: Path) -> None:
    _, bare = registry_with(tmp_path, "reg", AGENTS[:2])
    out = run_cli("discover", "--registry", str(bare)).stdout.splitlines()
    assert out[0].split() == ["rank", "agent", "owner", "trusted", "success", "tasks", "score",
                              "task", "type", "registry"]
    assert out[1].split()[:2] == ["1", agent_id_of(profile(1))[:12]]
    assert out[1].split()[3] == "-" and out[1].split()[-1] == "reg"
