"""Builders for discover/import tests: real registries (`git elite init`), agents committed
with INDEX.json rebuilt, bare copies served as plain git URLs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tests.conftest import git, run_cli
from tests.helpers_registry import T0, agent_files, commit_raw, make_registry

Z = 1.96


def registry_with(tmp: Path, name: str, agents: list[dict[str, Any]],
                  owner: str = "server") -> tuple[Path, Path]:
    """A registry work tree `tmp/name` holding `agents` (kwargs of helpers_registry.agent_files:
    owner, n, rate, total, recent, created_at, ...) and a bare copy `tmp/name.git`."""
    work = make_registry(tmp / name, owner)
    files: dict[str, bytes | None] = {}
    for spec in agents:
        spec = dict(spec)
        files.update(agent_files(spec.pop("owner", "alice"), spec.pop("n", 0), **spec))
    if files:
        commit_raw(work, files, "agents", index=True)
    bare = tmp / f"{name}.git"
    git("clone", "-q", "--bare", str(work), str(bare))
    return work, bare


def discover(*args: str, cwd: Path | None = None, check: int | None = 0
             ) -> list[dict[str, Any]]:
    proc = run_cli("discover", "--json", *args, cwd=cwd, check=check)
    return list(json.loads(proc.stdout)) if proc.stdout.strip() else []


# SPEC §6 written out again, independently of git_elite.core.indexing ----------------------------
def wilson(rate: float, n: int) -> float:
    if n == 0:
        return 0.0
    p = round(rate * n) / n
    centre = p + Z * Z / (2 * n)
    spread = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre - spread) / (1 + Z * Z / n)


def score_ppm(rate: float, n: int, recent: int) -> int:
    if n == 0:
        return round(0.6 * wilson(rate, n) * 1e6)
    value = 0.6 * wilson(rate, n) + 0.2 * min(1.0, recent / n) \
        + 0.2 * min(1.0, math.log10(n) / 3)
    return round(value * 1e6)


__all__ = ["T0", "discover", "registry_with", "score_ppm", "wilson"]
