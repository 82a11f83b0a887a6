"""The `json` module's C parser and C encoder, without importing the `json` package.

`json` imports `re` (and with it `enum`, `functools`, `collections`: ~6 ms of CPU in every
process here) to skip whitespace and to word its errors. The commit hook parses a few small
documents and needs neither (SPEC §12; docs/scale.md, "The hooks, round 7"). So this
module drives `_json` — the C scanner and encoder `json` itself uses — directly, and hands
everything its fast path does not finish to `json`, configured the same way: an input that
is not JSON, has extra data, is bytes in another encoding or raises inside the C code is
parsed again by `json.JSONDecoder`, so the value or the error (a `json.JSONDecodeError`, or
a hook's own exception) is exactly `json`'s. tests/test_cjson.py holds both to each other.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

try:
    import _json as _c
except ImportError:  # another Python than CPython: `json` does everything
    _c = None  # type: ignore[assignment]

_SPACE = " \t\n\r"  # JSON's whitespace (json.decoder.WHITESPACE)
_LEFT = object()  # what the fast path could not parse (json parses it again)
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class Decoder:
    """`json.JSONDecoder(object_pairs_hook=…, parse_float=…, parse_int=…,
    parse_constant=…).decode`. The attributes are the ones `_json.make_scanner` reads."""

    def __init__(self, *, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None
                 = None, parse_float: Callable[[str], Any] | None = None,
                 parse_int: Callable[[str], Any] | None = None,
                 parse_constant: Callable[[str], Any] | None = None) -> None:
        self.object_hook = None
        self.object_pairs_hook = object_pairs_hook
        self.parse_float = parse_float or float
        self.parse_int = parse_int or int
        self.parse_constant = parse_constant or _CONSTANTS.__getitem__
        self.strict = True
        self.memo: dict[str, str] = {}
        self._scan = _c.make_scanner(self) if _c is not None else None  # type: ignore[arg-type]
        self._given: dict[str, Any] = {
            "object_pairs_hook": object_pairs_hook, "parse_float": parse_float,
            "parse_int": parse_int, "parse_constant": parse_constant}

    def decode(self, text: str) -> Any:
        value = self.fast(text)
        return self._json().decode(text) if value is _LEFT else value

    def fast(self, text: str) -> Any:
        """The value of `text` by the C scanner, or `_LEFT` when `json` must say."""
        if self._scan is not None:
            start = len(text) - len(text.lstrip(_SPACE))
            try:
                value, end = self._scan(text, start)
            except Exception:  # noqa: BLE001 - json says what it is
                return _LEFT
            if end == len(text) or not text[end:].strip(_SPACE):
                return value
        return _LEFT

    def _json(self) -> Any:
        import json

        return json.JSONDecoder(**self._given)


_PLAIN = Decoder()


def loads(data: bytes | str) -> Any:
    """`json.loads(data)`."""
    value = _LEFT
    if type(data) is bytes and data[:1] not in (b"\xef", b"\xfe", b"\xff") \
            and b"\x00" not in data[:4]:  # UTF-8 by json.detect_encoding's rules
        value = _PLAIN.fast(data.decode("utf-8", "surrogatepass"))
    elif type(data) is str:
        value = _PLAIN.fast(data)
    if value is not _LEFT:
        return value
    import json

    return json.loads(data)


def encode_string(text: str) -> str:
    """`json.encoder.encode_basestring`: `text` as a JSON string, non-ASCII kept."""
    return _ENCODE_STRING(text)


def _default(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class Encoder:
    """`json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=…,
    allow_nan=False, check_circular=False).encode` for a dict or list: the C encoder."""

    def __init__(self, *, sort_keys: bool) -> None:
        self._given: dict[str, Any] = {
            "ensure_ascii": False, "separators": (",", ":"), "sort_keys": sort_keys,
            "allow_nan": False, "check_circular": False}
        self._encode = _c.make_encoder(None, _default, _ENCODE_STRING, None, ":", ",",
                                       sort_keys, False, False) \
            if _c is not None and _c.make_encoder is not None else None

    def encode(self, value: dict[str, Any] | list[Any]) -> str:
        if self._encode is not None:
            return "".join(self._encode(value, 0))
        import json

        return str(json.JSONEncoder(**self._given).encode(value))


def indented(value: Any, *, sort_keys: bool) -> str | None:
    """`json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False)`, byte for byte,
    about twice as fast (the standard library writes indented JSON in pure Python through
    generators; this writes the same pieces into one list, with the same string escaper and
    number reprs) and without importing `json` — or None for anything it does not write
    (a key that is not a str, a NaN or an infinity, a subclass or another type, nesting past
    64): the caller hands that to `json.dumps`, whose text or error it then is. The one
    indented writer of INDEX.json and the shards (`indexing.dumps`) and of `--json`
    (`output.indented`)."""
    out: list[str] = []
    try:
        write_indented(value, out, "\n", sort_keys)
    except Unusual:
        return None
    return "".join(out)


class Unusual(Exception):
    """A value `write_indented` does not write (`json.dumps` must)."""


_SCALARS = {True: "true", False: "false"}
_DEEPEST = len("\n") + 2 * 64  # the newline-and-indent string of nesting level 64


def write_indented(value: Any, out: list[str], newline: str, sort_keys: bool) -> None:
    """`value` indented as `indented` writes it, appended to `out`, at the nesting that
    `newline` (a newline and the current indent) gives; `Unusual` for what it does not
    write (shardsplice writes one shard item at a time with it)."""
    kind = type(value)
    if kind is str:
        out.append(_ENCODE_STRING(value))
    elif kind is dict or kind is list or kind is tuple:
        if not value:
            out.append("{}" if kind is dict else "[]")
            return
        if len(newline) > _DEEPEST:
            raise Unusual
        inner = newline + "  "
        if kind is dict:
            out.append("{")
            for key in (sorted(value) if sort_keys else value):
                if type(key) is not str:
                    raise Unusual
                out += (inner, _ENCODE_STRING(key), ": ")
                write_indented(value[key], out, inner, sort_keys)
                out.append(",")
            out[-1] = newline + "}"
        else:
            out.append("[")
            for item in value:
                out.append(inner)
                write_indented(item, out, inner, sort_keys)
                out.append(",")
            out[-1] = newline + "]"
    elif kind is bool:
        out.append(_SCALARS[value])
    elif value is None:
        out.append("null")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float and value == value and value not in (_INFINITY, -_INFINITY):
        out.append(float.__repr__(value))
    else:
        raise Unusual


_INFINITY = float("inf")


def _python_encode_string(text: str) -> str:
    import json.encoder

    return str(json.encoder.py_encode_basestring(text))


_ENCODE_STRING: Callable[[str], str] = getattr(_c, "encode_basestring", None) \
    or _python_encode_string
