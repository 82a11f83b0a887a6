"""The index of one registry state, for readers (`discover`, `import`, `verify`), in either
format (SPEC §6). Pure: it reads through a `read(path) -> bytes | None` callable.

- `ranking(task_type)`: the head's ranking (format 2: the top `rankings_limit`), or None
  when the head cannot answer (format 1, or a task type beyond the head's 64);
- `entry(agent_id)`: one agent's entry (format 2: from its shard, read once);
- `entries()`: every entry, shard by shard (format 2: one shard in memory at a time).

Every shard read is checked against the head's sha256 for it; a shard that does not match
(or does not parse) is left out, with a line in `warnings`.
"""

from __future__ import annotations

from git_elite.core import jsonstrict, layout
from git_elite.core.errors import EliteError, RegistryError
from git_elite.core.state import sha256_hex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any

INDEX_MAX_BYTES = 1 << 30
if TYPE_CHECKING:
    Read = Callable[[str], bytes | None]


def load(raw: bytes, name: str) -> dict[str, Any]:
    """An index file, strictly (jsonstrict.load_large); a JSON object or RegistryError.
    Number ranges are checked where numbers are used (`discover.candidate`)."""
    value = jsonstrict.load_large(raw, name=name, max_bytes=INDEX_MAX_BYTES)
    if not isinstance(value, dict):
        raise RegistryError(f"{name}: [json] top level is not a JSON object")
    return value


class IndexReader:
    """INDEX.json (and, in format 2, its shards) of one registry state."""

    def __init__(self, read: Read, name: str, tip: str = ""):
        raw = read(layout.INDEX)
        if raw is None:
            raise RegistryError(f"{name}: no INDEX.json" + (f" at {tip[:12]}" if tip else ""))
        self.read, self.name = read, name
        self.head = load(raw, f"{name}:{layout.INDEX}")
        self.fmt = 2 if self.head.get("schema_version") == 2 else 1
        self.warnings: list[str] = []
        self._shards: dict[str, dict[str, Any]] = {}
        self._ranked: dict[str, Any] | None = None

    @property
    def pinned(self) -> bool:
        """Whether the head carries SPEC §6.2's pins (identity, ranked, trust)."""
        from git_elite.core import pins

        return self.fmt >= 2 and pins.is_pinned(self.head)

    def ranked(self) -> dict[str, Any] | None:
        """{agent_id: entry} of index/ranked.json, checked against the head's pin (read
        once); None for a head without pins; {} (and a warning) when the file is absent or
        not the one pinned: the ranked agents' entries then come from their shards."""
        from git_elite.core import pins

        if not self.pinned:
            return None
        if self._ranked is None:
            try:
                raw = self.read(layout.RANKED)
                if raw is None:
                    raise RegistryError(f"{layout.RANKED}: [index] pinned by INDEX.json "
                                        "but absent")
                self._ranked = pins.checked_ranked(self.head, raw)
            except EliteError as err:
                if type(err).__name__ == "CacheDamaged":
                    raise
                self.warnings.append(f"{self.name}:{err} (the ranked agents are read from "
                                     "their shards)")
                self._ranked = {}
        return self._ranked

    def pinned_entry(self, agent_id: str) -> Any:
        """An agent's entry from a pinned file: index/ranked.json when it lists the agent,
        else its shard (each checked against the head's digest)."""
        ranked = self.ranked() or {}
        found = ranked.get(agent_id)
        return found if found is not None else self.entry(agent_id)

    @property
    def limit(self) -> int:
        value = self.head.get("rankings_limit")
        return value if type(value) is int and value > 0 else 0

    def ranking(self, task_type: str | None) -> list[str] | None:
        """The head's ranked agent ids for `task_type` (None: general), best first; an
        empty list when the head says no agent is ranked there; None when the head cannot
        tell (format 1, a malformed head, a type beyond the head's task types)."""
        rankings = self.head.get("rankings")
        if self.fmt < 2 or not isinstance(rankings, dict):
            return None
        rows = rankings.get(task_type or "general")
        if rows is None:
            from git_elite.core.shards import MAX_TASK_TYPES

            return [] if len(rankings) - 1 < MAX_TASK_TYPES else None
        if not isinstance(rows, list):
            return None
        return [a for a in rows if isinstance(a, str) and layout.is_agent_id(a)]

    def entry(self, agent_id: str) -> Any:
        """The entry of one agent (None when the index does not list it)."""
        if self.fmt < 2:
            agents = self.head.get("agents")
            return agents.get(agent_id) if isinstance(agents, dict) else None
        agents = self.shard(agent_id[:2])
        return agents.get(agent_id)

    def entries(self, shards: Sequence[str] | None = None) -> Iterator[tuple[str, Any]]:
        """Every (agent_id, entry), shard by shard (format 2: of `shards`, default all)."""
        if self.fmt < 2:
            agents = self.head.get("agents")
            yield from (agents.items() if isinstance(agents, dict) else ())
            return
        for ab in self.shard_names() if shards is None else shards:
            yield from self.shard(ab, keep=False).items()

    def shard_names(self) -> list[str]:
        """The `<ab>` of every shard the head lists (format 2), sorted."""
        shards = self.head.get("shards")
        return sorted(shards) if self.fmt >= 2 and isinstance(shards, dict) else []

    def shard(self, ab: str, keep: bool = True) -> dict[str, Any]:
        """The agents of shard `ab` ({} when absent or bad: see `warnings`)."""
        if ab in self._shards:
            return self._shards[ab]
        agents = self._load_shard(ab)
        if keep:
            self._shards[ab] = agents
        return agents

    def _load_shard(self, ab: str) -> dict[str, Any]:
        shards = self.head.get("shards")
        listed = shards.get(ab) if isinstance(shards, dict) else None
        if not isinstance(listed, dict):
            return {}
        path = layout.shard_path(ab)
        try:
            raw = self.read(path)
            if raw is None:
                raise RegistryError(f"{self.name}:{path}: [index] listed in INDEX.json but "
                                    "absent")
            if sha256_hex(raw) != listed.get("sha256"):
                raise RegistryError(f"{self.name}:{path}: [index] its bytes do not hash to "
                                    "INDEX.json's sha256 for it")
            value = load(raw, f"{self.name}:{path}")
        except EliteError as err:
            if type(err).__name__ == "CacheDamaged":  # the whole registry: cache.py says so
                raise
            self.warnings.append(f"{err.message} (its agents are left out)")
            return {}
        agents = value.get("agents")
        if value.get("shard") != ab or not isinstance(agents, dict):
            self.warnings.append(f"{self.name}:{path}: [index] not the shard {ab} (its agents "
                                 "are left out)")
            return {}
        return {a: e for a, e in agents.items() if isinstance(a, str) and a[:2] == ab}
