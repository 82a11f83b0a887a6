"""The engine's two-core agent checks (git_elite/core/fanout.py) give exactly the serial result:
the same problems in the same order, the same INDEX.json rebuild, also when the child fails."""

from __future__ import annotations

import json

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
