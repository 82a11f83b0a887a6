"""Strict JSON input (SPEC §3).

UTF-8 only, no BOM, no duplicate keys at any depth, no NaN/Infinity, integers within
±(2^53−1), nesting depth ≤ 32, a size limit per document type, no lone surrogates.
Every violation raises `JsonError` naming the file; nothing here prints.
"""

from __future__ import annotations

import math

from git_elite.core import cjson
from git_elite.core.errors import JsonError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_SAFE_INT = 2**53 - 1
MAX_DEPTH = 32
DEFAULT_MAX_BYTES = 64 * 1024
# the escapes of UTF-16 surrogates, \\uD800 to \\uDFFF in either case (a lone one may follow)
_SURROGATE_ESCAPES = tuple(f"\\u{d}{x}".encode() for d in "dD" for x in "89abcdefABCDEF")


class _Reject(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Reject(f"duplicate key {cjson.encode_string(key)}")
            seen.add(key)
    return obj


def _int(text: str) -> int:
    if len(text.lstrip("-")) > len(str(MAX_SAFE_INT)):  # int() refuses > 4300 digits anyway
        raise _Reject(f"integer {text[:40]} is outside ±(2^53−1)")
    value = int(text)
    if -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
        return value
    raise _Reject(f"integer {text[:40]} is outside ±(2^53−1)")


def _float(text: str) -> float:
    value = float(text)
    if math.isfinite(value):
        return value
    raise _Reject(f"number {text[:40]} overflows to infinity")


def _constant(name: str) -> Any:
    raise _Reject(f"{name} is not JSON")


_DECODER = cjson.Decoder(object_pairs_hook=_pairs, parse_int=_int, parse_float=_float,
                         parse_constant=_constant)
# The fast decoder leaves integers to the C scanner. It is used only when the bytes hold no
# run of 16 digits, so every integer in them is within ±(2^53−1); anything else goes through
# the checking hook above.
_FAST_DECODER = cjson.Decoder(object_pairs_hook=_pairs, parse_float=_float,
                              parse_constant=_constant)
_LARGE_DECODER = cjson.Decoder(object_pairs_hook=_pairs, parse_constant=_constant)
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 16


def _depth_ok(value: Any, depth: int, check_strings: bool) -> None:
    if depth > MAX_DEPTH:
        raise _Reject(f"nesting deeper than {MAX_DEPTH}")
    if type(value) is dict:
        for key, item in value.items():
            if check_strings:
                _string_ok(key)
            if type(item) in (dict, list) or check_strings:
                _depth_ok(item, depth + 1, check_strings)
    elif type(value) is list:
        for item in value:
            if type(item) in (dict, list) or check_strings:
                _depth_ok(item, depth + 1, check_strings)
    elif check_strings and type(value) is str:
        _string_ok(value)


def _string_ok(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Reject("lone UTF-16 surrogate in a string") from None


def loads(data: bytes, *, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Parse `data` strictly; `name` (a path) is used in every error message."""
    if len(data) > max_bytes:
        raise JsonError(f"{len(data)} bytes exceeds the limit of {max_bytes}", rule="json",
                        path=name)
    if data.startswith(b"\xef\xbb\xbf"):
        raise JsonError("starts with a byte-order mark (BOM)", rule="json", path=name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise JsonError(f"not valid UTF-8 (byte {err.start})", rule="json", path=name) from None
    try:
        slow = _LONG_DIGIT_RUN in data.translate(_DIGITS_AS_ZERO)
        value = (_DECODER if slow else _FAST_DECODER).decode(text)
        check_strings = _surrogate_escape(data)
        if check_strings or data.count(b"[") + data.count(b"{") > MAX_DEPTH:
            _depth_ok(value, 1, check_strings)
    except _Reject as err:
        raise JsonError(str(err), rule="json", path=name) from None
    except RecursionError:
        raise JsonError(f"nesting deeper than {MAX_DEPTH}", rule="json", path=name) from None
    except ValueError as err:  # json.JSONDecodeError: cjson leaves errors to `json`
        import json

        if not isinstance(err, json.JSONDecodeError):
            raise
        raise JsonError(f"invalid JSON: {err.msg} at line {err.lineno} column {err.colno}",
                        rule="json", path=name) from None
    return value


def _surrogate_escape(data: bytes) -> bool:
    """Whether `data` holds the escape of a UTF-16 surrogate (searched at C speed)."""
    return b"\\u" in data and any(escape in data for escape in _SURROGATE_ESCAPES)


def load_object(data: bytes, *, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Parse strictly and require a top-level object."""
    value = loads(data, name=name, max_bytes=max_bytes)
    if type(value) is not dict:
        raise JsonError("top level is not a JSON object", rule="json", path=name)
    return value


def load_large(data: bytes, *, name: str, max_bytes: int) -> Any:
    """Strict parse of a big derived document (INDEX.json: 8 MB at 10k agents) at C speed:
    UTF-8 without BOM, no duplicate keys (a parser differential: another reader could see the
    other copy), no NaN/Infinity, no lone surrogates. Integer ranges and depth are not
    walked here (a per-number hook costs seconds at 100k); callers compare the value with a
    rebuild or check the numbers they use. Anything refused goes through `loads` for the
    exact message."""
    if len(data) > max_bytes or data.startswith(b"\xef\xbb\xbf") or _surrogate_escape(data):
        return loads(data, name=name, max_bytes=max_bytes)
    try:
        return _LARGE_DECODER.decode(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return loads(data, name=name, max_bytes=max_bytes)
