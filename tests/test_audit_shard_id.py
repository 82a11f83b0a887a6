"""verify's shard check by blob id (issue 26 item 3, docs/scale.md): a whole-registry audit
over a git tree does not read index/<ab>.json when the tree's blob id for it is the id of
the rebuilt bytes (equal ids are equal bytes); a shard whose bytes differ in any way is read
and gets exactly the problem it got before. Real registry, real commits, real signatures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import layout
from git_elite.core.errors import Problem
from git_elite.edges import git, gitcheck
from tests.helpers_registry import commit_raw, registry_copy


@pytest.fixture
def reg(pieces_template: Path, tmp_path: Path) -> Path:
    return registry_copy(pieces_template, tmp_path)


def _audit(work: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Problem], list[str]]:
    """The audit's problems and the shard paths it read by path."""
    read: list[str] = []
    real = git.TreeState.read

    def reading(self: Any, path: str) -> bytes | None:
        slot = layout.classify(path)
        if slot is not None and slot.kind == "shard":
            read.append(path)
        return real(self, path)

    monkeypatch.setattr(git.TreeState, "read", reading)
    return gitcheck.audit(git.open_reader(work), "HEAD"), read


def _shards(work: Path) -> list[str]:
    return sorted(f"index/{p.name}" for p in (work / "index").glob("??.json"))


def test_a_clean_registry_reads_no_shard(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problems, read = _audit(reg, monkeypatch)
    assert problems == []
    assert len(_shards(reg)) >= 3
    assert read == []


def _respaced(raw: bytes) -> bytes:
    return json.dumps(json.loads(raw), indent=4, sort_keys=True).encode() + b"\n"


def _recounted(raw: bytes) -> bytes:
    value = json.loads(raw)
    entry = next(iter(value["agents"].values()))
    entry["total_tasks"] = entry.get("total_tasks", 0) + 1
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"


@pytest.mark.parametrize(("change", "message"), [
    (_respaced, "its bytes are not the written form"),
    (_recounted, "is not the rebuild"),
    (lambda raw: raw + b" ", "its bytes are not the written form"),
    (lambda raw: b"{", "is not strict JSON"),
], ids=["respaced", "recounted", "trailing-space", "truncated"])
def test_a_shard_of_other_bytes_is_read_and_refused(reg: Path, monkeypatch: pytest.MonkeyPatch,
                                                    change: Any, message: str) -> None:
    path = _shards(reg)[0]
    raw = (reg / path).read_bytes()
    commit_raw(reg, {path: change(raw)}, "tampered shard")
    problems, read = _audit(reg, monkeypatch)
    assert read == [path]
    mine = [p for p in problems if p.path == path]
    assert len(mine) == 1 and mine[0].rule == "index" and message in mine[0].message


def test_a_missing_shard_is_still_missing(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _shards(reg)[0]
    commit_raw(reg, {path: None}, "no shard")
    problems, _ = _audit(reg, monkeypatch)
    assert Problem("index", path, f"{path} is missing; run `git elite index`") in \
        [Problem(p.rule, p.path, p.message) for p in problems]
