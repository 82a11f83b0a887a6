"""bench/floors.py, the floor of a whole-registry verify: on a tiny synthetic registry it
checks every agent on two processes with the project's own checks, finds a forged,
schema-invalid or unbound agent with verify's rule ids, and reports sane rows beside
`verify --no-cache` and libsodium (no timing is asserted)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import floors  # noqa: E402
import synth  # noqa: E402
from common import Bench  # noqa: E402

N = 24


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth.build(N, tmp_path_factory.mktemp("floors"))


def test_listing_names_every_agent_once(registry: Path) -> None:
    agents = floors.listing(registry)
    assert len(agents) == N == len({a for a, _, _ in agents})
    for agent_id, manifest, profile in agents:
        assert len(agent_id) == 64 and len(manifest) == 40 and len(profile) == 40
        assert manifest != profile


def test_floor_checks_every_agent_on_two_processes(registry: Path) -> None:
    result = floors.floor(registry)
    assert result["agents"] == N and result["bad"] == [] and result["rules"] == []
    assert result["halves"] == (2 if (os.cpu_count() or 1) >= 2 else 1)


def test_a_bad_agent_gets_verify_s_rule_id() -> None:
    agent_id, manifest, profile = synth.build_agent(3)
    assert floors.check_agent(agent_id, manifest, profile) == []
    body = json.loads(manifest)
    forged = manifest.replace(str(body["metrics"]["total_tasks"]).encode(),
                              str(body["metrics"]["total_tasks"] + 1).encode(), 1)
    assert forged != manifest
    assert [p.rule for p in floors.check_agent(agent_id, forged, profile)] == ["signature"]
    schema_bad = manifest.replace(b'"agent_id"', b'"agent_idx"', 1)
    assert {p.rule for p in floors.check_agent(agent_id, schema_bad, profile)} == {"schema"}
    other_id, _, other_profile = synth.build_agent(4)
    assert other_id != agent_id
    rules = [p.rule for p in floors.check_agent(agent_id, manifest, other_profile)]
    assert rules and set(rules) == {"binding"}
    assert [p.rule for p in floors.check_agent(agent_id, b"{", profile)] == ["json"]


def test_measure_floors_reports_sane_rows(registry: Path) -> None:
    b = Bench(repeat=1, quick=True, sizes=[N], out=registry.parent)
    rows = floors.measure_floors(b)
    assert [r.key for r in rows] == [f"floor rate {N}", f"floor verify {N}",
                                     f"floor cpu {N}"]
    rate, verify, cpu = rows
    assert rate.unit == verify.unit == "manifests/s" and cpu.unit == "µs"
    assert rate.value > 0 and rate.baseline > 0  # the floor, libsodium
    assert verify.baseline == rate.value  # verify against the floor of the same rounds
    assert verify.value > 0 and cpu.value > 0 and cpu.baseline > 0
    assert all(r.target is None for r in rows)  # reported, not a goal of their own


# --- the second verify's floor (bench/floor_second.py) ---------------------------------------

def _add_agent(registry: Path, k: int, spoil: bool = False) -> str:
    """Agent k committed onto main of `registry` (its manifest's signature spoiled with
    `spoil`), with the rebuilt index; its agent_id."""
    import subprocess

    import e2e

    from git_elite.core import layout
    from git_elite.edges import git

    files = e2e.new_agent_files(k)
    path = next(p for p in files if p.endswith("manifest.json"))
    if spoil:
        body = json.loads(files[path])
        files[path] = files[path].replace(
            b'"total_tasks": %d' % body["metrics"]["total_tasks"],
            b'"total_tasks": %d' % (body["metrics"]["total_tasks"] + 1), 1)
    repo = git.open_repo(registry)
    commit = git.build_commit(repo, "refs/heads/main",
                              {**files, **e2e.index_files(repo, files)}, "one agent")
    subprocess.run(["git", "update-ref", "refs/heads/main", commit], cwd=registry, check=True)
    agent_id = layout.agent_id_in(path)
    assert agent_id is not None
    return agent_id


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import subprocess

    copy = tmp_path_factory.mktemp("second") / f"registry-{N}.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(synth.build(
        N, tmp_path_factory.mktemp("second-src"))), str(copy)], check=True)
    return copy


def test_the_second_floor_checks_the_new_agent_on_two_git_processes(
        second: Path, tmp_path: Path) -> None:
    import shutil
    import subprocess

    import floor_second

    agent_id = _add_agent(second, N + 1)
    assert floor_second.main(str(second), agent_id) == 0
    other = _add_agent(second, N + 2, spoil=True)
    assert floor_second.main(str(second), other) == 1  # a forged signature
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    trace = tmp_path / "trace"
    subprocess.run(["strace", "-f", "-e", "trace=execve", "-o", str(trace), sys.executable,
                    floor_second.__file__, str(second), agent_id], check=False)
    started = [line.split('"git", ')[1].split(", ")[2] for line in
               trace.read_text().splitlines() if "execve(" in line and '"git", ' in line
               and "ENOENT" not in line]
    assert started == ['"config"', '"cat-file"']


def test_measure_verify_memory_reports_the_floor_beside_its_row(tmp_path: Path) -> None:
    import reads

    b = Bench(repeat=1, quick=True, sizes=[N], out=tmp_path)
    rows = reads.measure_verify_memory(b)
    assert [r.key for r in rows] == [f"verify again {N}", f"verify again floor {N}"]
    verify, floor = rows
    assert verify.baseline == floor.baseline  # --version, the same rounds
    assert floor.value > 0 and floor.unit == "ms" and floor.target is None
