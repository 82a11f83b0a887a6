"""The reader's memory of the agents it has shown from each registry (SPEC §6.2, issue 24),
in `$AGENTD_HOME/freshness/agents/<key>.json` (mode 0600) next to the identity memory,
under the same key (edges/identity_seen: the root commit over git, owner and name over
HTTP). Every decision is `agent_pin.judge`'s.

One `Memory` per registry read: the file is read once, at the first agent checked, and
written at most once, by `flush` when something was learned (atomic; a damaged file is
ignored and replaced). `--allow-stale` does not bypass the check (docs/freshness.md).
"""

from __future__ import annotations

import os

from git_elite.core import agent_pin
from git_elite.core.agent_pin import Seen
from git_elite.core.state import sha256_hex
from git_elite.edges import freshness, store


def _file(key: str) -> str:
    return os.path.join(store.home_dir(), freshness.SEEN_DIR, "agents", f"{key}.json")


def _read(key: str) -> bytes | None:
    try:
        return freshness.raw_bytes(_file(key))
    except OSError:
        return None


class Memory:
    """What this reader has shown of one registry's agents (loaded on first use)."""

    def __init__(self, key: str, registry: str) -> None:
        self.key, self.registry = key, registry
        self._agents: dict[str, Seen] | None = None
        self.dirty = False

    def _loaded(self) -> dict[str, Seen]:
        if self._agents is None:
            self._agents, self.dirty = agent_pin.parse(_read(self.key))
        return self._agents

    def check(self, agent_id: str, created_at: int, manifest: bytes) -> str | None:
        """Why this manifest of `agent_id` is refused (`rollback`), or None: then it is
        remembered (written by `flush`)."""
        agents = self._loaded()
        served = Seen(created_at, sha256_hex(manifest))
        seen = agents.get(agent_id)
        why = agent_pin.judge(seen, served, agent_id, self.registry)
        if why is None:
            if seen != served:
                self.dirty = True
            agents.pop(agent_id, None)  # most recently shown last: evicted last
            agents[agent_id] = served
        return why

    def flush(self) -> None:
        """Write what was learned (merged with the file as it is now: another reader may
        have written it), once; nothing when nothing changed."""
        if not self.dirty or self._agents is None:
            return
        now, _ = agent_pin.parse(_read(self.key))
        self._agents = agent_pin.merged(self._agents, now)
        store.ensure_home()
        store.atomic_write(_file(self.key),
                           agent_pin.dump(self._agents, self.registry, self.key), 0o600)
        self.dirty = False
