"""The reader's memory of the agents it has shown from one registry (SPEC §6.2, issue 24):
for each agent, the highest manifest `created_at` and that manifest's sha256. A copy that
serves an agent's manifest older than the remembered one, or another manifest with the
same `created_at` (equivocation: push rule 4 makes created_at strictly increase, so one
registry never holds two), is refused as `rollback`. Pure: the memory's bytes come in and
go out (edges/agents_seen keeps them under $AGENTD_HOME).

The memory is bounded (`CAP` agents per registry): the entries are kept in the order they
were last learned or shown, and the least recent ones are forgotten first.
"""

from __future__ import annotations

import time

from git_elite.core import cjson

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

RULE = "rollback"
CAP = 4096  # agents remembered per registry (about 140 bytes each on disk)
_HEX = frozenset("0123456789abcdef")


class Seen(NamedTuple):
    created_at: int
    sha256: str


def _valid(agent_id: Any, value: Any) -> bool:
    return (isinstance(agent_id, str) and len(agent_id) == 64 and set(agent_id) <= _HEX
            and isinstance(value, list) and len(value) == 2 and type(value[0]) is int
            and isinstance(value[1], str) and len(value[1]) == 64 and set(value[1]) <= _HEX)


def parse(raw: bytes | None) -> tuple[dict[str, Seen], bool]:
    """The remembered agents (oldest first) and whether `raw` was damaged (not the JSON this
    module writes: ignored, to be replaced; entries that are not well formed are dropped)."""
    if raw is None:
        return {}, False
    try:
        value = cjson.loads(raw)
    except ValueError:
        return {}, True
    agents = value.get("agents") if isinstance(value, dict) else None
    if not isinstance(agents, dict):
        return {}, True
    kept = {a: Seen(v[0], v[1]) for a, v in agents.items() if _valid(a, v)}
    return kept, len(kept) != len(agents)


def dump(agents: dict[str, Seen], registry: str, key: str) -> bytes:
    """The memory file's bytes: the `CAP` most recent entries, oldest first."""
    import json  # (a write, when something new was shown: reads take core/cjson)

    items = list(agents.items())[-CAP:]
    body = {"registry": registry, "key": key,
            "agents": {a: [s.created_at, s.sha256] for a, s in items}}
    return (json.dumps(body, separators=(",", ":")) + "\n").encode()


def merged(mine: dict[str, Seen], theirs: dict[str, Seen]) -> dict[str, Seen]:
    """Two memories of one registry as one (another reader may have written the file since
    it was read): the newer of each agent's entries, in `mine`'s order after theirs."""
    out = dict(theirs)
    for agent_id, seen in mine.items():
        old = out.pop(agent_id, None)
        out[agent_id] = seen if old is None or seen.created_at >= old.created_at else old
    return out


def _date(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if 0 <= ts < 2**37 else "?"


def judge(seen: Seen | None, served: Seen, agent_id: str, registry: str) -> str | None:
    """Why the `served` manifest of `agent_id` is refused, given what was `seen` of it from
    this registry (None: accepted)."""
    if seen is None or served.created_at > seen.created_at or served == seen:
        return None
    where = f"agent {agent_id[:12]} of registry {registry}"
    if served.created_at == seen.created_at:
        return (f"{where}: manifest {served.sha256[:12]} has created_at {served.created_at}, "
                f"the date of another manifest ({seen.sha256[:12]}) already shown from this "
                "registry: two manifests with one date (equivocation); not shown "
                "(docs/freshness.md)")
    return (f"{where}: manifest created_at {served.created_at} ({_date(served.created_at)}) "
            f"is older than created_at {seen.created_at} ({_date(seen.created_at)}) already "
            "shown from this registry: this copy serves an older state; not shown "
            "(docs/freshness.md)")
