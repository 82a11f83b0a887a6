"""bench/discover_floor.py, the floor of `discover --offline` top 20: on a small synthetic
registry it reads the agents discover shows, in discover's order, through the same three
git processes; it refuses a cache whose top agent was forged; and bench/reads.py reports it
beside discover and `--version` (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import discover_floor  # noqa: E402
import reads  # noqa: E402
import synth  # noqa: E402
from common import Bench  # noqa: E402
from e2e import sandbox  # noqa: E402

N = 64  # more elite agents than a top 20


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth.build(N, tmp_path_factory.mktemp("discover-floor"))


@pytest.fixture(scope="module")
def cached(registry: Path) -> Iterator[tuple[Path, list[str]]]:
    """(the cache clone `discover` filled, the agent ids it shows offline, in order)."""
    with sandbox() as tmp:
        args = ["git", "elite", "discover", "--registry", str(registry), "--json"]
        subprocess.run(args, check=True, capture_output=True, cwd=tmp)
        shown = json.loads(subprocess.run([*args, "--offline"], check=True,
                                          capture_output=True, cwd=tmp).stdout)
        [cache] = (tmp / "agentd" / "cache" / "registries").glob(f"{registry.stem}-*.git")
        yield cache, [row["agent_id"] for row in shown]


def test_the_floor_reads_the_agents_discover_shows(registry: Path,
                                                    cached: tuple[Path, list[str]]) -> None:
    cache, shown = cached
    assert len(shown) == discover_floor.TOP
    rows = discover_floor.top(str(cache), str(registry))
    assert [row["agent_id"] for row in rows] == shown
    assert [row["rank"] for row in rows] == list(range(1, discover_floor.TOP + 1))
    assert not any(row["cache_behind"] for row in rows)


def test_the_floor_refuses_a_forged_top_agent(registry: Path, cached: tuple[Path, list[str]],
                                              tmp_path: Path) -> None:
    cache, shown = cached
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(cache), str(work)], check=True)
    manifest = work / "agents" / shown[0][:2] / shown[0] / "manifest.json"
    body = json.loads(manifest.read_bytes())
    total = str(body["metrics"]["total_tasks"]).encode()
    raw = manifest.read_bytes()
    manifest.write_bytes(raw.replace(total, str(int(total) + 1).encode(), 1))
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "commit", "-q", "--no-verify", "-am", "forged"], check=True)
    with pytest.raises(SystemExit) as exc:
        discover_floor.top(str(work / ".git"), str(registry))
    assert shown[0] in str(exc.value) and "signature" in str(exc.value)


def test_measure_discover_reports_the_floor_beside_discover(registry: Path) -> None:
    b = Bench(repeat=1, quick=True, sizes=[N], out=registry.parent)
    rows = {r.key: r for r in reads.measure_discover(b)}
    top, floor, against = (rows[f"discover {k} {N}"] for k in ("top 20", "floor", "vs floor"))
    assert top.target == reads.DISCOVER_VS_VERSION and floor.target is None
    assert top.baseline == floor.baseline > 0  # the same rounds' --version
    assert against.value == top.value and against.baseline == floor.value > 0
    assert f"discover --min-success 0.9 (every shard) {N}" in rows
