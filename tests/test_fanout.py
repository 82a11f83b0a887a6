"""The engine's two-core agent checks (git_elite/core/fanout.py) give exactly the serial result:
the same problems in the same order, the same INDEX.json rebuild, also when the child fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import engine, fanout
from git_elite.core.state import MemoryState, additions
from tests.helpers_registry import agent_files, base_files, with_index


def _registry() -> dict[str, bytes]:
    files = dict(base_files())
    for n in range(12):
        files.update(agent_files("alice" if n % 2 else "bob", n))
    files = with_index(files)
    paths = sorted(p for p in files if p.endswith("/manifest.json"))
    body = json.loads(files[paths[3]])
    body["metrics"]["total_tasks"] += 1  # signature no longer matches
    files[paths[3]] = json.dumps(body).encode()
    files[paths[8].replace("manifest.json", "profile.json")] = b'{"not": "a profile"}'
    files[paths[10]] = b"{not json"
    return files


def _audit(files: dict[str, bytes]) -> list[str]:
    found = engine.check_change(MemoryState(), additions(files), MemoryState(files))
    return [p.line() for p in found]


@pytest.mark.parametrize("child", ["works", "fails"])
def test_two_cores_report_what_one_core_does(monkeypatch: pytest.MonkeyPatch,
                                             child: str) -> None:
    files = _registry()
    serial = _audit(files)
    assert {line.split("[")[1].split("]")[0] for line in serial} >= {"signature", "json",
                                                                      "index"}
    monkeypatch.setattr(fanout, "PARALLEL_MIN", 2)
    if child == "fails":
        monkeypatch.setattr(fanout, "_child", lambda *args: (_ for _ in ()).throw(OSError))
    assert _audit(files) == serial


def test_two_cores_rebuild_the_same_index(monkeypatch: pytest.MonkeyPatch) -> None:
    files = with_index({**base_files(), **{k: v for n in range(6)
                                           for k, v in agent_files("alice", n).items()}})
    monkeypatch.setattr(fanout, "PARALLEL_MIN", 2)
    assert _audit(files) == []
    shard = next(p for p, d in sorted(files.items())
                 if p.startswith("index/") and b'"elite": true' in d)
    files[shard] = files[shard].replace(b'"elite": true', b'"elite": false', 1)
    assert [line.split("]")[0] for line in _audit(files)] == [f"{shard}: [index"]


def test_a_forked_half_runs_its_end_after_its_result(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`at_child_end` in a forked half runs once its result is sent, before it exits; in
    the parent (or without a fork) it does nothing."""
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    marker = tmp_path / "ended"

    def work(part: Any) -> int:
        fanout.at_child_end(lambda: marker.write_text(f"{os.getpid()} {marker.exists()}"))
        return os.getpid()

    first, second = fanout.halves([1, 2], work)
    assert first == os.getpid() and second != first
    assert marker.read_text() == f"{second} False"  # the child's, once
    assert fanout._AT_CHILD_END == []  # nothing was kept in the parent
