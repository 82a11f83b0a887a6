"""The pushed INDEX.json is compared with the rebuild after a strict parse (SPEC §3, §7.8):
bytes that equal the rebuild as a value but carry a duplicate key, a NaN or a BOM are refused,
since another reader could see a different value (a parser differential)."""

from __future__ import annotations

import pytest

from git_elite import engine, layout
from git_elite.state import MemoryState, diff
from tests.helpers_registry import agent_files, base_files, with_index


def _check(index: bytes) -> list[str]:
    parent = base_files()
    files = {**with_index({**parent, **agent_files("alice", 1)})}
    new = {**files, layout.INDEX: index if index else files[layout.INDEX]}
    problems = engine.check_change(MemoryState(parent), diff(parent, new), MemoryState(new))
    return [f"{p.rule} {p.path} {p.message}" for p in problems]


def _good() -> bytes:
    parent = base_files()
    return with_index({**parent, **agent_files("alice", 1)})[layout.INDEX]


def test_the_rebuild_itself_passes() -> None:
    assert _check(_good()) == []


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda raw: raw.replace(b'{\n  "agent_count"',
                                         b'{\n  "schema_version": 1,\n  "agent_count"', 1),
                 id="duplicate-key-same-value"),
    pytest.param(lambda raw: raw.replace(b'{\n  "agent_count"',
                                         b'{\n  "agent_count": NaN,\n  "agent_count"', 1),
                 id="nan-literal"),
    pytest.param(lambda raw: b"\xef\xbb\xbf" + raw, id="byte-order-mark"),
])
def test_non_strict_index_is_refused(mutate: object) -> None:
    raw = _good()
    bad = mutate(raw)  # type: ignore[operator]
    assert bad != raw
    found = _check(bad)
    assert len(found) == 1 and found[0].startswith("index INDEX.json INDEX.json is not "
                                                   "strict JSON"), found
