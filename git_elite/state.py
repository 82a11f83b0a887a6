"""Registry states and changes, the values the rule engine works on. Pure (no git here).

A state reads files by path, lazily: a 10,000-agent registry is never read whole. git.py
provides the tree-backed state; `MemoryState` serves tests, the work tree and new registries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple, Protocol

from git_elite.errors import Problem


class State(Protocol):
    """A registry snapshot: bytes by path, and the agent ids under agents/."""

    def read(self, path: str) -> bytes | None: ...

    def agent_ids(self) -> Iterable[str]: ...


class Change(NamedTuple):
    """One entry of a commit's diff: bytes before (None = added) and after (None = deleted).
    `refused`: the new entry was not read at all (a mode or size problem found before
    inflating it, git.py/gittree.py); `new` is then None and the engine reports the problem."""

    path: str
    old: bytes | None
    new: bytes | None
    refused: Problem | None = None


class MemoryState:
    """A state held in a dict (path -> bytes)."""

    def __init__(self, files: Mapping[str, bytes] | None = None):
        self.files = dict(files or {})

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def agent_ids(self) -> Iterator[str]:
        seen: set[str] = set()
        for path in self.files:
            parts = path.split("/")
            if len(parts) == 3 and parts[0] == "agents" and parts[1] not in seen:
                seen.add(parts[1])
                yield parts[1]


class Overlay:
    """A base state with changes applied on top (what a commit would make)."""

    def __init__(self, base: State, changes: Iterable[Change]):
        self.base = base
        self.changed = {c.path: c.new for c in changes}

    def read(self, path: str) -> bytes | None:
        if path in self.changed:
            return self.changed[path]
        return self.base.read(path)

    def agent_ids(self) -> Iterator[str]:
        seen = set(self.base.agent_ids())
        yield from seen
        for path in self.changed:
            parts = path.split("/")
            if len(parts) == 3 and parts[0] == "agents" and parts[1] not in seen:
                seen.add(parts[1])
                yield parts[1]


EMPTY: State = MemoryState()


def additions(files: Mapping[str, bytes]) -> list[Change]:
    """Every file as added to an empty registry (a full audit of one revision)."""
    return [Change(path, None, data) for path, data in sorted(files.items())]


def diff(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> list[Change]:
    """The changes between two in-memory file maps."""
    paths = sorted(set(old) | set(new))
    return [Change(p, old.get(p), new.get(p)) for p in paths if old.get(p) != new.get(p)]


class DirState:
    """A registry work tree on disk (for `git elite index`)."""

    def __init__(self, root: str):
        from pathlib import Path

        self.root = Path(root)

    def read(self, path: str) -> bytes | None:
        target = self.root / path
        return target.read_bytes() if target.is_file() else None

    def agent_ids(self) -> list[str]:
        agents = self.root / "agents"
        return sorted(p.name for p in agents.iterdir() if p.is_dir()) if agents.is_dir() else []
