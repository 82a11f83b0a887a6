"""A registry work tree on disk as a State (core/state.py), for `git elite index`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from git_elite.core.state import agent_ids_of


class DirState:
    """A registry work tree on disk (for `git elite index`)."""

    def __init__(self, root: str):
        self.root = Path(root)

    def read(self, path: str) -> bytes | None:
        target = self.root / path
        return target.read_bytes() if target.is_file() else None

    def names(self, directory: str) -> list[str]:
        folder = self.root / directory
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def subtree(self, directory: str) -> dict[str, bytes]:
        folder = self.root / directory
        return {p.relative_to(self.root).as_posix(): p.read_bytes()
                for p in sorted(folder.rglob("*")) if p.is_file() and ".git" not in p.parts}

    def agent_ids(self) -> Iterator[str]:
        return agent_ids_of(self)
