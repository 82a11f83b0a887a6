"""Strict JSON (SPEC §3): a table of bad inputs, each refused with rule `json`."""

from __future__ import annotations

import pytest

from git_elite.core import jsonstrict
from git_elite.core.errors import JsonError

BAD = {
    "duplicate-top": (b'{"a": 1, "a": 2}', "duplicate key"),
    "duplicate-at-depth": (b'{"a": {"b": [{"c": 1, "c": 1}]}}', "duplicate key"),
    "nan": (b'{"a": NaN}', "NaN"),
    "infinity": (b'{"a": Infinity}', "Infinity"),
    "minus-infinity": (b'{"a": -Infinity}', "Infinity"),
    "float-overflow": (b'{"a": 1e400}', "infinity"),
    "bom": (b'\xef\xbb\xbf{"a": 1}', "BOM"),
    "non-utf8": (b'{"a": "\xff"}', "UTF-8"),
    "latin1": ('{"a": "é"}'.encode("latin-1"), "UTF-8"),
    "lone-surrogate-escape": (b'{"a": "\\ud800"}', "surrogate"),
    "lone-surrogate-key": (b'{"\\udc00": 1}', "surrogate"),
    "int-above-2^53": (b'{"a": 9007199254740992}', "2^53"),
    "int-below-minus-2^53": (b'{"a": -9007199254740992}', "2^53"),
    "depth-33": (b'{"a": ' * 33 + b"1" + b"}" * 33, "deeper"),
    "depth-33-arrays": (b"[" * 33 + b"]" * 33, "deeper"),
    "oversize": (b'{"a": "' + b"x" * 70000 + b'"}', "exceeds"),
    "top-level-array": (b"[1, 2]", "not a JSON object"),
    "top-level-string": (b'"x"', "not a JSON object"),
    "trailing-comma": (b'{"a": 1,}', "invalid JSON"),
    "trailing-garbage": (b'{"a": 1} x', "invalid JSON"),
    "empty": (b"", "invalid JSON"),
}


@pytest.mark.parametrize("data,needle", list(BAD.values()), ids=list(BAD))
def test_bad_json_refused(data: bytes, needle: str) -> None:
    with pytest.raises(JsonError) as caught:
        jsonstrict.load_object(data, name="doc.json")
    err = caught.value
    assert err.rule == "json" and err.path == "doc.json"
    assert needle.lower() in err.message.lower()
    assert "\n" not in str(err)


GOOD = {
    "depth-32": (b'{"a": ' * 32 + b"1" + b"}" * 32, 1),
    "max-safe-int": (b'{"a": 9007199254740991}', 9007199254740991),
    "min-safe-int": (b'{"a": -9007199254740991}', -9007199254740991),
    "surrogate-pair": (b'{"a": "\\ud83d\\ude00"}', "\U0001f600"),
    "float": (b'{"a": 1e-7}', 1e-7),
}


@pytest.mark.parametrize("data,first", list(GOOD.values()), ids=list(GOOD))
def test_good_json_accepted(data: bytes, first: object) -> None:
    value = jsonstrict.load_object(data, name="doc.json")
    while isinstance(value, dict):
        value = value["a"]
    assert value == first


def test_size_limit_is_per_call() -> None:
    data = b'{"a": "' + b"x" * 100 + b'"}'
    assert jsonstrict.load_object(data, name="d", max_bytes=len(data))
    with pytest.raises(JsonError):
        jsonstrict.load_object(data, name="d", max_bytes=len(data) - 1)
