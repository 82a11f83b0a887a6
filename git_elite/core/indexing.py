"""INDEX.json (SPEC §6): a pure function of IDENTITY.json and the live manifests.

`build` makes it from scratch; `update` makes it from the parent's index and the k manifests
a commit touched (O(k) entries; the rankings are re-sorted from the small entry dicts).
Exact arithmetic, so every implementation writes the same numbers:

    s = round(success_rate * n); p = s / n
    wilson = (p + z²/(2n) - z·sqrt(p(1-p)/n + z²/(4n²))) / (1 + z²/n),  z = 1.96 (0 when n = 0)
    score  = 0.6·wilson + 0.2·min(1, recent/n) + 0.2·min(1, log10(n)/3)  (terms 0 when n = 0)
    *_ppm  = round(x * 1e6)                                         (round half to even)

`rankings.general` lists elite agents by score_ppm desc, agent_id asc. `rankings[T]` lists the
elite agents whose task type T has count >= 10, scored with T's rate and count in place of
success_rate and total_tasks.
"""

from __future__ import annotations

import math

from git_elite.core import cjson
from git_elite.core.state import hasher

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    # one changed agent: (manifest blob bytes, parsed manifest) or None when it left the index
    Change = tuple[bytes, dict[str, Any]] | None

Z = 1.96
TASK_TYPE_MIN_COUNT = 10
DEFAULT_THRESHOLDS: dict[str, float] = {
    "elite_min_success_rate": 0.80, "elite_min_total_tasks": 50,
    "elite_min_recent_tasks_7d": 10, "elite_max_critical_failures_24h": 0,
}


def thresholds(identity: Mapping[str, Any] | None) -> dict[str, float]:
    """Elite thresholds: the defaults, overridden by the IDENTITY policy's elite_* fields."""
    policy = (identity or {}).get("policy", {})
    return {key: policy.get(key, default) for key, default in DEFAULT_THRESHOLDS.items()}


def wilson_lower(rate: float, total: int) -> float:
    if total <= 0:
        return 0.0
    p = round(rate * total) / total
    z2 = Z * Z
    centre = p + z2 / (2 * total)
    margin = Z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    return max(0.0, (centre - margin) / (1 + z2 / total))


def score(rate: float, total: int, recent: int) -> tuple[int, int]:
    """(wilson_lower_ppm, score_ppm) for a rate over `total` tasks, `recent` in the last 7 days."""
    wilson = wilson_lower(rate, total)
    if total <= 0:
        return round(wilson * 1e6), round(0.6 * wilson * 1e6)
    value = 0.6 * wilson + 0.2 * min(1.0, recent / total) \
        + 0.2 * min(1.0, math.log10(total) / 3)
    return round(wilson * 1e6), round(value * 1e6)


def entry(raw: bytes, manifest: Mapping[str, Any], limits: Mapping[str, float]
          ) -> dict[str, Any]:
    """The INDEX.json entry of one manifest (its blob bytes and parsed body)."""
    metrics = manifest["metrics"]
    rate, total, recent = metrics["success_rate"], metrics["total_tasks"], \
        metrics["recent_tasks_7d"]
    wilson_ppm, score_ppm = score(rate, total, recent)
    elite = (rate >= limits["elite_min_success_rate"]
             and total >= limits["elite_min_total_tasks"]
             and recent >= limits["elite_min_recent_tasks_7d"]
             and metrics["critical_failures_24h"] <= limits["elite_max_critical_failures_24h"])
    types = {name: {"success_rate": stats["success_rate"], "count": stats["count"]}
             for name, stats in manifest.get("task_type_stats", {}).items()}
    return {"owner_did": manifest["owner_did"], "module": manifest["module"],
            "profile": manifest["profile"], "created_at": manifest["created_at"],
            "success_rate": rate, "total_tasks": total, "recent_tasks_7d": recent,
            "task_types": types, "wilson_lower_ppm": wilson_ppm, "score_ppm": score_ppm,
            "elite": elite, "manifest_sha256": hasher("sha256", len(raw))(raw).hexdigest()}


def rankings(agents: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    general: list[tuple[int, str]] = []
    by_type: dict[str, list[tuple[int, str]]] = {}
    scores: dict[tuple[float, int, int], int] = {}  # many agents share (rate, count, recent)
    for agent_id, item in agents.items():
        if not item["elite"]:
            continue
        general.append((-item["score_ppm"], agent_id))
        recent = item["recent_tasks_7d"]
        for name, stats in item["task_types"].items():
            count = stats["count"]
            if count >= TASK_TYPE_MIN_COUNT:
                key = (stats["success_rate"], count, recent)
                type_score = scores.get(key)
                if type_score is None:
                    type_score = scores[key] = score(*key)[1]
                by_type.setdefault(name, []).append((-type_score, agent_id))
    general.sort()
    out = {"general": [agent_id for _, agent_id in general]}
    for name, rows in by_type.items():
        rows.sort()
        out[name] = [agent_id for _, agent_id in rows]
    return out


def _assemble(identity: Mapping[str, Any], agents: dict[str, Any],
              ranked: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"schema_version": 1,
            "registry": {"name": identity.get("name", ""),
                         "owner_did": identity.get("owner_did", "")},
            "agent_count": len(agents), "agents": agents,
            "rankings": rankings(agents) if ranked is None else ranked}


def rerank(old: Any, agents: Mapping[str, Mapping[str, Any]], changed: Iterable[str]
           ) -> dict[str, list[str]] | None:
    """`rankings(agents)` from the parent's rankings `old` when only the agents `changed`
    differ: they are taken out and put back in place by binary search (O(k log n) score
    computations instead of one per elite agent). None when `old` is not rankings."""
    from bisect import insort

    if not isinstance(old, dict) or not isinstance(old.get("general"), list) or \
            not all(isinstance(rows, list) for rows in old.values()):
        return None
    gone = set(changed)
    out = {name: [a for a in rows if a not in gone] for name, rows in old.items()}
    for agent_id in sorted(gone):
        item = agents.get(agent_id)
        if item is None or not item["elite"]:
            continue
        insort(out["general"], agent_id, key=lambda a: (-agents[a]["score_ppm"], a))
        for name, stats in item["task_types"].items():
            if stats["count"] >= TASK_TYPE_MIN_COUNT:
                insort(out.setdefault(name, []), agent_id, key=_by_type(agents, name))
    return {name: rows for name, rows in out.items() if rows or name == "general"}


def _by_type(agents: Mapping[str, Mapping[str, Any]], name: str
             ) -> Callable[[str], tuple[int, str]]:
    return lambda a: (-_type_score(agents[a], name), a)


def _type_score(item: Mapping[str, Any], name: str) -> int:
    stats = item["task_types"][name]
    return score(stats["success_rate"], stats["count"], item["recent_tasks_7d"])[1]


def build(identity: Mapping[str, Any], manifests: Iterable[tuple[str, bytes, dict[str, Any]]]
          ) -> dict[str, Any]:
    """From scratch: `manifests` yields (agent_id, blob bytes, parsed body) of live agents."""
    limits = thresholds(identity)
    agents = {agent_id: entry(raw, body, limits) for agent_id, raw, body in manifests}
    return _assemble(identity, agents)


def update(base: Mapping[str, Any] | None, identity: Mapping[str, Any],
           changed: Mapping[str, Change]) -> dict[str, Any]:
    """The parent's index plus the changed agents (None = removed). Thresholds must be the
    same as the base's; when IDENTITY's elite_* policy changes, use `build`."""
    limits = thresholds(identity)
    agents = dict(base.get("agents", {})) if base else {}
    for agent_id, change in changed.items():
        if change is None:
            agents.pop(agent_id, None)
        else:
            agents[agent_id] = entry(change[0], change[1], limits)
    return _assemble(identity, agents)


def update_entries(base: Mapping[str, Any] | None, identity: Mapping[str, Any],
                   entries: Mapping[str, dict[str, Any] | None]) -> dict[str, Any]:
    """Like `update`, with the changed agents' entries already made (None = removed)."""
    agents = dict(base.get("agents", {})) if base else {}
    for agent_id, item in entries.items():
        if item is None:
            agents.pop(agent_id, None)
        else:
            agents[agent_id] = item
    ranked = rerank(base.get("rankings"), agents, entries) if base else None
    return _assemble(identity, agents, ranked)


def dumps(index: Mapping[str, Any]) -> bytes:
    """`json.dumps(index, indent=2, sort_keys=True, ensure_ascii=False) + "\\n"`, byte for
    byte: core/cjson's indented writer (about twice as fast as the standard library's);
    anything unusual (non-str keys, non-finite floats, other types) goes through
    `json.dumps` itself."""
    text = cjson.indented(index, sort_keys=True)
    if text is None:
        import json

        text = json.dumps(index, indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode()


def merge(base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any]
          ) -> tuple[dict[str, Any], list[str]]:
    """Three-way merge of two format-1 indexes or two format-2 shards, agent by agent (the
    `elite-index` merge driver). Returns the merged value and the agents both sides changed
    differently (ours kept)."""
    old, mine, other = (_agents(x) for x in (base, ours, theirs))
    agents = dict(mine)
    conflicts: list[str] = []
    for agent_id in sorted(set(old) | set(other)):
        was, now = old.get(agent_id), other.get(agent_id)
        if was == now:
            continue
        if mine.get(agent_id) == was:
            if now is None:
                agents.pop(agent_id, None)
            else:
                agents[agent_id] = now
        elif mine.get(agent_id) != now:
            conflicts.append(agent_id)
    if ours.get("schema_version") == 2 or theirs.get("schema_version") == 2:  # a shard
        shard = ours.get("shard") or theirs.get("shard") or ""
        return {"schema_version": 2, "shard": shard, "agents": agents}, conflicts
    registry = ours.get("registry") or theirs.get("registry") or {}
    return _assemble(registry if isinstance(registry, dict) else {}, agents), conflicts


def _agents(index: Mapping[str, Any]) -> dict[str, Any]:
    agents = index.get("agents")
    return dict(agents) if isinstance(agents, dict) else {}
