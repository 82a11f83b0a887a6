"""The core of `discover` (SPEC §6, §8, §10): candidates from INDEX.json values, merge of
duplicates across registries, ranking, filters and trust annotation. Pure: values in,
values out; the one thing that touches the outside is the `verify` callable passed in.

Only what is shown is verified: candidates are kept in a heap keyed by an upper bound of
their score, and a group (one agent_id, one candidate per registry) is resolved — its newest
valid candidate found by calling `verify` newest first — only when it reaches the top. A
resolved group goes back with its exact score, so the order is exact and a registry of
100,000 agents costs one heap plus `top` verifications.
"""

from __future__ import annotations

from git_elite.core import indexing
from git_elite.core.attest_summary import Summary
from git_elite.core.errors import Problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    import heapq
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any, NamedTuple, TypeGuard
else:
    from git_elite.core.records import NamedTuple
    try:  # heapq's C functions without heapq.py (its import is most of its cost)
        import _heapq as heapq
    except ImportError:  # another Python than CPython
        import heapq

GENERAL = "general"
SAFE = 2**53 - 1


class Candidate(NamedTuple):
    """One agent as one registry's INDEX.json lists it (not verified yet). A NamedTuple:
    a 100,000-agent registry makes 100,000 of them."""

    registry: str
    agent_id: str
    entry: Mapping[str, Any]
    task_type: str
    success_rate: float
    total_tasks: int
    score_ppm: int

    @property
    def owner_did(self) -> str:
        return str(self.entry.get("owner_did", ""))

    @property
    def created_at(self) -> int:
        value = self.entry.get("created_at")
        return value if type(value) is int else 0


class Row(NamedTuple):
    """A shown result: the winning candidate, where else it was found, and trust. (Row,
    Dropped and Filters are NamedTuples: immutable values, no `dataclasses` import.)"""

    rank: int
    candidate: Candidate
    sources: tuple[str, ...]
    trusted: bool
    trust_path: tuple[str, ...]
    attestations: Summary | None = None  # as this reader weighs them (None: not read)

    def to_dict(self) -> dict[str, Any]:
        c = self.candidate
        count = c.entry.get("attestations")
        summary = self.attestations or Summary(count if _count(count) else 0, ())
        return {"rank": self.rank, "agent_id": c.agent_id, "owner_did": c.owner_did,
                "trusted": self.trusted, "trust_path": list(self.trust_path),
                "registry": c.registry, "success_rate": c.success_rate,
                "total_tasks": c.total_tasks, "score_ppm": c.score_ppm,
                "task_type": c.task_type, "created_at": c.created_at,
                "sources": list(self.sources),
                "attestations": {**summary.to_dict(),
                                 "max_disagreement": summary.disagreement(c.success_rate)}}


class Dropped(NamedTuple):
    """A candidate that failed verification (shown as a warning)."""

    candidate: Candidate
    problems: tuple[Problem, ...]


class Filters(NamedTuple):
    top: int = 20  # 0 = all
    min_success: float | None = None
    min_tasks: int | None = None
    trusted_only: bool = False


def _number(value: Any) -> bool:
    """A finite number within ±(2^53-1) (INDEX.json's numbers are checked where used)."""
    return type(value) in (int, float) and -SAFE <= value <= SAFE


def _count(value: Any) -> TypeGuard[int]:
    return type(value) is int and 0 <= value <= SAFE


def candidate(registry: str, agent_id: str, entry: Any, task_type: str | None, *,
              elite_only: bool = True) -> Candidate | None:
    """The candidate an INDEX entry gives for `task_type` (None: general ranking), or None
    when it is not ranked there (not elite, type missing or count < 10, malformed)."""
    if not isinstance(entry, dict) or (elite_only and entry.get("elite") is not True):
        return None
    if task_type is None:
        rate: Any = entry.get("success_rate")
        total, score = entry.get("total_tasks"), entry.get("score_ppm")
        if not (_number(rate) and _count(total) and _count(score)):
            return None
        return Candidate(registry, agent_id, entry, GENERAL, rate, total, score)
    types = entry.get("task_types")
    stats = types.get(task_type) if isinstance(types, dict) else None
    recent = entry.get("recent_tasks_7d")
    if not isinstance(stats, dict) or not _count(recent):
        return None
    rate = stats.get("success_rate")
    count = stats.get("count")
    if not (_number(rate) and _count(count)) or count < indexing.TASK_TYPE_MIN_COUNT:
        return None
    _, score = indexing.score(rate, count, recent)
    return Candidate(registry, agent_id, entry, task_type, rate, count, score)


def candidates(registry: str, index: Mapping[str, Any], task_type: str | None
               ) -> list[Candidate]:
    """Every ranked candidate of one registry's INDEX.json value."""
    agents = index.get("agents")
    if not isinstance(agents, dict):
        return []
    out = []
    for agent_id, entry in agents.items():
        found = candidate(registry, agent_id, entry, task_type)
        if found is not None:
            out.append(found)
    return out


def merge(found: Iterable[Candidate], order: Mapping[str, int] | None = None
          ) -> dict[str, list[Candidate]]:
    """Group by agent_id; each group newest first (created_at desc, then registry order:
    the position in `order`, the order the registries were given; then registry name)."""
    groups: dict[str, list[Candidate]] = {}
    for c in found:
        groups.setdefault(c.agent_id, []).append(c)
    rank = order or {}
    for group in groups.values():
        if len(group) > 1:
            group.sort(key=lambda c: (-c.created_at, rank.get(c.registry, len(rank)),
                                      c.registry))
    return groups


def passes(c: Candidate, filters: Filters, trusted: Mapping[str, Sequence[str]]) -> bool:
    if filters.min_success is not None and c.success_rate < filters.min_success:
        return False
    if filters.min_tasks is not None and c.total_tasks < filters.min_tasks:
        return False
    return not filters.trusted_only or c.owner_did in trusted


if TYPE_CHECKING:
    Verify = Callable[[Candidate], Sequence[Problem]]


def select(groups: Mapping[str, list[Candidate]], filters: Filters,
           trusted: Mapping[str, Sequence[str]], verify: Verify
           ) -> tuple[list[Row], list[Dropped]]:
    """The ranked rows (score_ppm desc, agent_id asc), each group's newest valid candidate,
    filtered; verifying only what is needed to fill `top`."""
    heap: list[tuple[int, str, int]] = []  # (-score bound, agent_id, resolved index or -1)
    plain = filters == Filters(filters.top)
    for agent_id, group in groups.items():
        if len(group) == 1 and (plain or passes(group[0], filters, trusted)):
            heap.append((-group[0].score_ppm, agent_id, -1))
        elif len(group) > 1 and any(passes(c, filters, trusted) for c in group):
            heap.append((-max(c.score_ppm for c in group), agent_id, -1))
    heapq.heapify(heap)
    rows: list[Row] = []
    dropped: list[Dropped] = []
    while heap and (filters.top <= 0 or len(rows) < filters.top):
        _, agent_id, resolved = heapq.heappop(heap)
        group = groups[agent_id]
        if resolved >= 0:
            rows.append(_row(len(rows) + 1, group, resolved, trusted))
            continue
        winner = resolve(group, verify, dropped)
        if winner is not None and passes(group[winner], filters, trusted):
            heapq.heappush(heap, (-group[winner].score_ppm, agent_id, winner))
    return rows, dropped


def resolve(group: list[Candidate], verify: Verify, dropped: list[Dropped]) -> int | None:
    """Position of the newest valid candidate of a (newest first) group; failures noted."""
    for position, c in enumerate(group):
        problems = tuple(verify(c))
        if not problems:
            return position
        dropped.append(Dropped(c, problems))
    return None


def _row(rank: int, group: list[Candidate], winner: int,
         trusted: Mapping[str, Sequence[str]]) -> Row:
    c = group[winner]
    sources = tuple(sorted({g.registry for g in group}))
    path = tuple(trusted.get(c.owner_did, ()))
    return Row(rank, c, sources, bool(path), path)


# --attested: ranked by the attestations of DIDs the reader trusts --------------------------
if TYPE_CHECKING:
    Weigh = Callable[[Candidate], Summary]


def attested_count(c: Candidate) -> int:
    """The live attestations its index entry counts (0 when absent or malformed)."""
    value = c.entry.get("attestations")
    return value if _count(value) else 0


def select_attested(groups: Mapping[str, list[Candidate]], filters: Filters,
                    trusted: Mapping[str, Sequence[str]], verify: Verify, weigh: Weigh
                    ) -> tuple[list[Row], list[Dropped]]:
    """Only agents with at least one trusted attestation, ranked by the attested numbers
    pooled (Summary.pooled: score_ppm is theirs, success_rate stays the owner's); the
    filters apply to the attested numbers. Reads every agent whose entry counts one."""
    dropped: list[Dropped] = []
    ranked: list[tuple[int, str, Candidate, Summary]] = []
    for agent_id, group in groups.items():
        if not any(attested_count(c) for c in group):
            continue
        winner = resolve(group, verify, dropped)
        if winner is None:
            continue
        summary = weigh(group[winner])
        pooled, score = summary.pooled(), summary.score_ppm()
        if pooled is None or score is None or not _attested_passes(pooled, filters) \
                or (filters.trusted_only and group[winner].owner_did not in trusted):
            continue
        ranked.append((-score, agent_id, group[winner]._replace(score_ppm=score), summary))
    ranked.sort(key=lambda item: (item[0], item[1]))
    shown = ranked if filters.top <= 0 else ranked[:filters.top]
    rows = [Row(rank, c, tuple(sorted({g.registry for g in groups[agent_id]})),
                bool(trusted.get(c.owner_did)), tuple(trusted.get(c.owner_did, ())), summary)
            for rank, (_, agent_id, c, summary) in enumerate(shown, start=1)]
    return rows, dropped


def _attested_passes(pooled: tuple[float, int, int], filters: Filters) -> bool:
    rate, total, _ = pooled
    if filters.min_success is not None and rate < filters.min_success:
        return False
    return filters.min_tasks is None or total >= filters.min_tasks
