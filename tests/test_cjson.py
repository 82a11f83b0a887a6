"""core/cjson: json's C parser and encoder driven without the `json` package give json's own
values and errors — for every fixture document, for hypothesis-drawn JSON values, and for
broken, odd and hostile inputs (each falls back to `json`, whose error is then the one
raised)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_elite.core import cjson

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted(p for p in (ROOT / "fixtures").rglob("*.json") if p.stat().st_size < 1 << 20)

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=5),
    max_leaves=30)


def _both(data: bytes | str) -> tuple[object, object]:
    """(json's result or exception, cjson's); a value as json writes it back (NaN too), with
    its types (1 and 1.0 differ)."""
    out: list[object] = []
    for loads in (json.loads, cjson.loads):
        try:
            value = loads(data)
            out.append(("value", json.dumps(value, sort_keys=True), _types(value)))
        except Exception as err:  # noqa: BLE001 - compared below
            out.append(("error", type(err), str(err)))
    return out[0], out[1]


def _types(value: object) -> object:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__


@pytest.mark.parametrize("path", FIXTURES, ids=[str(p.relative_to(ROOT)) for p in FIXTURES])
def test_every_fixture_parses_as_json_parses_it(path: Path) -> None:
    data = path.read_bytes()
    expected, got = _both(data)
    assert expected == got


@settings(max_examples=300, deadline=None)
@given(value=VALUES, indent=st.sampled_from([None, 2]), pad=st.sampled_from(["", " \n", "\t"]))
def test_drawn_values_round_trip_as_json(value: object, indent: int | None, pad: str) -> None:
    text = pad + json.dumps(value, indent=indent, ensure_ascii=False) + pad
    expected, got = _both(text)
    assert expected == got and got[0] == "value"
    expected, got = _both(text.encode("utf-8", "surrogatepass"))
    assert expected == got


BROKEN = ["", " ", "{", '{"a" 1}', '{"a": 1,}', "[1,]", "[1] x", "[1] [2]", '"\\ud800"',
          '"a\nb"', "\ufeff{}", "NaN", "-Infinity", "[Infinity]", "01", "1.", "tru", "nul",
          '{"a": 1}\n\n', " \t\r\n[]\r\n", "1e999", "-0", "[-0.0]", '"\\u00e9"', "é",
          "[" * 50 + "]" * 50]
BROKEN_BYTES = [b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"\x00{", b'{"a": "\xff"}',
                b'"\xed\xa0\x80"', "{}".encode("utf-16-le"), "[1]".encode("utf-32")]


@pytest.mark.parametrize("text", BROKEN + [t.encode() for t in BROKEN] + BROKEN_BYTES)
def test_odd_and_broken_input_gives_json_s_value_or_error(text: str | bytes) -> None:
    expected, got = _both(text)
    assert expected == got


def test_a_hook_s_own_error_comes_through() -> None:
    class Refused(ValueError):
        pass

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        if len({k for k, _ in items}) != len(items):
            raise Refused("duplicate")
        return dict(items)

    decoder = cjson.Decoder(object_pairs_hook=pairs)
    assert decoder.decode('{"a": {"b": 1}}') == {"a": {"b": 1}}
    with pytest.raises(Refused):
        decoder.decode('{"a": 1, "a": 2}')
    with pytest.raises(json.JSONDecodeError, match="Expecting"):
        decoder.decode('{"a": 1, "a": }')


@settings(max_examples=300, deadline=None)
@given(value=VALUES.filter(lambda v: isinstance(v, (dict, list))))
def test_the_encoder_is_json_s(value: dict[str, object] | list[object]) -> None:
    expected = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                                allow_nan=False, check_circular=False).encode(value)
    assert cjson.Encoder(sort_keys=True).encode(value) == expected


@pytest.mark.parametrize("text", ["", "a", 'q"\\', "é\u2028\x00\x1f", "😀", "\ud800"])
def test_string_encoding_is_json_s(text: str) -> None:
    assert cjson.encode_string(text) == json.dumps(text, ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(value=VALUES, sort_keys=st.booleans())
def test_the_indented_writer_is_json_dumps(value: object, sort_keys: bool) -> None:
    """cjson.indented, the one writer of INDEX.json, the shards and `--json`."""
    expected = json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False)
    assert cjson.indented(value, sort_keys=sort_keys) == expected


DEEP: object = 0
for _ in range(70):
    DEEP = [DEEP]


@pytest.mark.parametrize(("value", "written"), [
    ({"n": float("nan")}, False), ([float("inf")], False), ({1: 2}, False),
    ([True, 1.5, None, (1, "t")], True), ({"a": [[[]]] * 3}, True), (DEEP, False)])
def test_the_indented_writer_leaves_what_it_does_not_write(value: object,
                                                           written: bool) -> None:
    """None (json.dumps must write it) for a non-str key, a NaN or an infinity, or nesting
    past 64; what it writes is json's."""
    text = cjson.indented(value, sort_keys=True)
    assert (text is not None) == written
    if written:
        assert text == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
