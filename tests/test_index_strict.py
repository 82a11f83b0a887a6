"""The pushed INDEX.json is compared with the rebuild after a strict parse (SPEC §3, §7.8):
bytes that equal the rebuild as a value but carry a duplicate key, a NaN or a BOM are refused,
since another reader could see a different value (a parser differential)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_elite.core import engine, indexing, layout
from git_elite.core.state import MemoryState, diff
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


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**60, 2**60) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_fast_writer_is_byte_identical_to_json_dumps(value: object) -> None:
    """indexing.dumps is SPEC §6's `json.dumps(indent=2, sort_keys=True,
    ensure_ascii=False) + "\\n"`, byte for byte, on any JSON value (NaN and infinities
    included, which take the standard library's path)."""
    want = (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode(
        "utf-8", "surrogatepass")
    try:
        got = indexing.dumps(value)  # type: ignore[arg-type]
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
        return
    assert got == want


LARGE_BAD = {
    "duplicate-key-deep": b'{"agents": {"a": {"x": 1, "x": 2}}}',
    "nan": b'{"agents": NaN}',
    "infinity": b'{"agents": -Infinity}',
    "bom": b'\xef\xbb\xbf{"agents": {}}',
    "not-utf8": b'{"agents": "\xff"}',
    "lone-surrogate": b'{"agents": "\\ud800"}',
    "oversize": b'{"agents": {}}' + b" " * 64,
    "truncated": b'{"agents": {',
}


@pytest.mark.parametrize("name", sorted(LARGE_BAD))
def test_load_large_refuses_what_the_strict_parser_refuses(name: str) -> None:
    """The one fast strict reader of big derived documents (engine, discover, index --check)."""
    from git_elite.core import jsonstrict
    from git_elite.core.errors import JsonError

    with pytest.raises(JsonError) as err:
        jsonstrict.load_large(LARGE_BAD[name], name="INDEX.json", max_bytes=64)
    assert err.value.path == "INDEX.json" and err.value.rule == "json"


def test_load_large_equals_json_loads_on_good_input() -> None:
    from git_elite.core import jsonstrict

    raw = _good()
    assert jsonstrict.load_large(raw, name="INDEX.json", max_bytes=len(raw)) == json.loads(raw)
