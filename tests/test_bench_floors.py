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
