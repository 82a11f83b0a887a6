"""The format-2 index (SPEC §6): shards `index/<ab>.json` and the small head INDEX.json. Pure.

A shard holds the entries (`indexing.entry` plus `"attestations"`) of the live agents under
`agents/<ab>/`. The head holds the counts, each shard's agent count and sha256, and the top
`RANKINGS_LIMIT` of each ranking. The rankings are computed from `Ranks`, the derived data
behind them: for the general ranking ("" here) and each task type, the number of agents it
ranks and the best `DEPTH` of them as (-score_ppm, agent_id) rows. `Ranks` is what the
engine keeps in the cache of the parent's derived data, so that a commit touching k agents
updates the rankings in O(k) (`Ranks.update`); it is rebuilt from the shards only when an
agent leaves a ranking whose next best is not among the rows kept.
"""

from __future__ import annotations

from bisect import insort

from git_elite.core import indexing
from git_elite.core.state import hasher

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

SCHEMA_VERSION = 2
RANKINGS_LIMIT = 100
MAX_TASK_TYPES = 64
DEPTH = 4 * RANKINGS_LIMIT  # rows kept per ranking in the derived data
GENERAL = ""  # the general ranking's key in Ranks (task type names are never empty)
Row = tuple[int, str]


def shard(ab: str, agents: Mapping[str, Any]) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "shard": ab, "agents": dict(agents)}


def entry(raw: bytes, manifest: Mapping[str, Any], limits: Mapping[str, float],
          attestations: int | Mapping[str, str] = 0) -> dict[str, Any]:
    """A shard entry: the INDEX entry of the manifest plus its live attestations: their
    count, and (SPEC §6.2) with `attestations` given as {attester nid: sha256 of the file's
    bytes}, `attestation_sha256` when there is any."""
    out = indexing.entry(raw, manifest, limits)
    if isinstance(attestations, int):
        out["attestations"] = attestations
        return out
    out["attestations"] = len(attestations)
    if attestations:
        out["attestation_sha256"] = dict(sorted(attestations.items()))
    return out


# The sha256 of the last few shards the index check hashed two at once (remember_digest),
# by value (a dict lookup hashes the bytes with Python's own hash, ~10x cheaper than
# SHA-256, and compares them in full): one check of a one-agent push into 1M hashed the
# pushed 2.9 MB shard three times (branch prerecv). Empty elsewhere: a full rebuild or a
# reader hashes each shard once and pays nothing for it.
MEMO_SIZE = 4
_DIGESTS: dict[bytes, str] = {}


def digest(data: bytes) -> str:
    if _DIGESTS and type(data) is bytes:  # (empty unless a check recorded some)
        found = _DIGESTS.get(data)
        if found is not None:
            return found
    return str(hasher("sha256", len(data))(data).hexdigest())


def remember_digest(data: bytes, hexdigest: str) -> None:
    """Record `hexdigest` as the sha256 of `data`; only for a digest just computed from
    exactly these bytes (shardsplice.digests gives two at once)."""
    if type(data) is bytes:
        if len(_DIGESTS) >= MEMO_SIZE:
            _DIGESTS.pop(next(iter(_DIGESTS)))
        _DIGESTS[data] = hexdigest


def rows_of(agent_id: str, item: Mapping[str, Any]) -> dict[str, Row]:
    """The rankings one entry takes part in: {"" (general) or task type: row}."""
    if not item.get("elite"):
        return {}
    out = {GENERAL: (-item["score_ppm"], agent_id)}
    recent = item["recent_tasks_7d"]
    for name, stats in item["task_types"].items():
        if stats["count"] >= indexing.TASK_TYPE_MIN_COUNT and name != "general":
            out[name] = (-indexing.score(stats["success_rate"], stats["count"], recent)[1],
                         agent_id)
    return out


class Ranks:
    """counts[key] = agents in ranking `key`; rows[key] = the best of them, sorted."""

    def __init__(self, counts: dict[str, int] | None = None,
                 rows: dict[str, list[Row]] | None = None, *, limit: int = RANKINGS_LIMIT,
                 depth: int = DEPTH):
        self.counts = counts or {}
        self.rows = rows or {}
        self.limit, self.depth = limit, depth  # (other values only in tests)

    @classmethod
    def build(cls, entries: Iterable[tuple[str, Mapping[str, Any]]], *,
              limit: int = RANKINGS_LIMIT, depth: int = DEPTH) -> Ranks:
        ranks = cls(limit=limit, depth=depth)
        ranks.add(entries)
        return ranks

    def add(self, entries: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Take in entries of agents not counted yet (a build, shard by shard)."""
        for agent_id, item in entries:
            for key, row in rows_of(agent_id, item).items():
                self.counts[key] = self.counts.get(key, 0) + 1
                rows = self.rows.setdefault(key, [])
                rows.append(row)
                if len(rows) > 4 * self.depth:  # memory stays flat in the registry's size
                    rows.sort()
                    del rows[self.depth:]
        for rows in self.rows.values():
            rows.sort()
            del rows[self.depth:]

    def join(self, other: Ranks) -> None:
        """Take in another Ranks of disjoint agents (the other half of an audit)."""
        for key, count in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + count
        for key, rows in other.rows.items():
            mine = self.rows.setdefault(key, [])
            mine += rows
            mine.sort()
            del mine[self.depth:]

    def update(self, old: Mapping[str, Mapping[str, Any] | None],
               new: Mapping[str, Mapping[str, Any] | None]) -> bool:
        """Replace the entries `old` (agent_id -> entry or None) by `new`. False when a
        ranking the head shows is now shorter than it should be and its next best is not
        among the rows kept (then rebuild from the shards)."""
        complete = {k: len(self.rows.get(k, ())) == n for k, n in self.counts.items()}
        bound = {k: rows[-1] for k, rows in self.rows.items() if rows}
        gone = set(old) | set(new)
        for agent_id, item in old.items():
            for key in rows_of(agent_id, item or {}):
                self.counts[key] = self.counts.get(key, 0) - 1
        for key in {k for a, item in old.items() for k in rows_of(a, item or {})}:
            self.rows[key] = [r for r in self.rows.get(key, []) if r[1] not in gone]
        for agent_id, item in new.items():
            for key, row in rows_of(agent_id, item or {}).items():
                self.counts[key] = self.counts.get(key, 0) + 1
                edge = bound.get(key)
                if complete.get(key, True) or (edge is not None and row < edge):
                    insort(self.rows.setdefault(key, []), row)
        for key in [k for k, n in self.counts.items() if n <= 0]:
            self.counts.pop(key)
            self.rows.pop(key, None)
        for rows in self.rows.values():
            del rows[self.depth:]
        shown = set(self.shown()) | {GENERAL}
        return all(len(self.rows.get(k, ())) >= min(n, self.limit)
                   for k, n in self.counts.items() if k in shown)

    def shown(self) -> list[str]:
        """The task types that get a head ranking: the MAX_TASK_TYPES with most agents
        (ties by name)."""
        types = sorted((-n, k) for k, n in self.counts.items() if k != GENERAL)
        return [k for _, k in types[:MAX_TASK_TYPES]]

    def rankings(self) -> dict[str, list[str]]:
        out = {"general": [a for _, a in self.rows.get(GENERAL, [])[:self.limit]]}
        for key in self.shown():
            out[key] = [a for _, a in self.rows.get(key, [])[:self.limit]]
        return out

    def dump(self) -> dict[str, Any]:
        """The cache's value: each ranking's rows as two lists (scores, agent ids), which
        `marshal` gives back and `load` checks and pairs up in a few C-level passes (the
        rows as (score, id) tuples took ~3x as long to check, at 100k agents)."""
        rows = {k: ([n for n, _ in r], [a for _, a in r]) for k, r in self.rows.items()}
        return {"version": 2, "depth": self.depth, "counts": self.counts, "rows": rows}

    @classmethod
    def load(cls, value: Any) -> Ranks | None:
        """Ranks from `dump`'s value (as the cache gives it back; version 1: the rows as
        (score, id) pairs, as edges/verified.py keeps them), or None if not that."""
        if not isinstance(value, dict) or value.get("version") not in (1, 2) or \
                value.get("depth") != DEPTH:
            return None
        counts, rows = value.get("counts"), value.get("rows")
        if not isinstance(counts, dict) or not isinstance(rows, dict):
            return None
        unpack = _rows if value["version"] == 1 else _columns
        try:
            return cls(dict(counts), {k: unpack(v) for k, v in rows.items()})
        except (TypeError, ValueError):
            return None


def _columns(value: Any) -> list[Row]:
    """A ranking's rows from the cache's two lists (scores, agent ids)."""
    if type(value) is not tuple or len(value) != 2:
        raise TypeError("rows")
    scores, ids = value
    if type(scores) is not list or type(ids) is not list or len(scores) != len(ids) or \
            not set(map(type, scores)) <= {int} or not set(map(type, ids)) <= {str}:
        raise TypeError("rows")
    return list(zip(scores, ids, strict=True))


def _rows(value: Any) -> list[Row]:
    """A ranking's rows as (int, str) pairs (version 1): checked by C-level passes when
    they are already tuples, converted one by one otherwise."""
    if type(value) is not list:
        raise TypeError("rows")
    if set(map(type, value)) <= {tuple} and set(map(len, value)) <= {2}:
        if not value:
            return []
        scores, ids = zip(*value, strict=True)
        if set(map(type, scores)) <= {int} and set(map(type, ids)) <= {str}:
            return list(value)
    return [(int(n), str(a)) for n, a in value]


def head(identity: Mapping[str, Any], shards: Mapping[str, Mapping[str, Any]],
         elite_count: int, ranks: Ranks) -> dict[str, Any]:
    """The head: `shards` is {ab: {"agents": n, "sha256": hex}} of every non-empty shard."""
    return {"schema_version": SCHEMA_VERSION,
            "registry": {"name": identity.get("name", ""),
                         "owner_did": identity.get("owner_did", "")},
            "agent_count": sum(s["agents"] for s in shards.values()),
            "elite_count": elite_count, "shards": {ab: dict(shards[ab]) for ab in shards},
            "rankings": ranks.rankings(), "rankings_limit": RANKINGS_LIMIT}


def build(identity: Mapping[str, Any], entries: Iterable[tuple[str, Mapping[str, Any]]]
          ) -> tuple[dict[str, Any], dict[str, tuple[dict[str, Any], bytes]], Ranks]:
    """From scratch: (head, {ab: (shard, its bytes)}, ranks) of the live agents' entries."""
    by_shard: dict[str, dict[str, Any]] = {}
    for agent_id, item in entries:
        by_shard.setdefault(agent_id[:2], {})[agent_id] = item
    out: dict[str, tuple[dict[str, Any], bytes]] = {}
    for ab, agents in sorted(by_shard.items()):
        value = shard(ab, agents)
        out[ab] = (value, indexing.dumps(value))
    ranks = Ranks.build((a, e) for v, _ in out.values() for a, e in v["agents"].items())
    summary = {ab: {"agents": len(v["agents"]), "sha256": digest(data)}
               for ab, (v, data) in out.items()}
    elite = sum(1 for v, _ in out.values() for e in v["agents"].values() if e.get("elite"))
    return head(identity, summary, elite, ranks), out, ranks


def is_head(value: Any) -> bool:
    """A format-2 head in shape (enough to build on: every field the update uses)."""
    if not isinstance(value, dict) or value.get("schema_version") != SCHEMA_VERSION:
        return False
    shards, elite = value.get("shards"), value.get("elite_count")
    return isinstance(shards, dict) and type(elite) is int and all(
        isinstance(s, dict) and type(s.get("agents")) is int and isinstance(s.get("sha256"), str)
        for s in shards.values())


def is_shard(value: Any, ab: str) -> bool:
    """A shard in shape: its agents are entries (each with the fields the rankings use)."""
    if not isinstance(value, dict) or value.get("shard") != ab or \
            value.get("schema_version") != SCHEMA_VERSION or \
            not isinstance(value.get("agents"), dict):
        return False
    return all(isinstance(a, str) and a[:2] == ab and is_entry(e)
               for a, e in value["agents"].items())


def is_entry(item: Any) -> bool:
    if not isinstance(item, dict) or type(item.get("elite")) is not bool:
        return False
    if type(item.get("score_ppm")) is not int or type(item.get("recent_tasks_7d")) is not int:
        return False
    types = item.get("task_types")
    return isinstance(types, dict) and all(
        isinstance(s, dict) and type(s.get("count")) is int
        and type(s.get("success_rate")) in (int, float) for s in types.values())
