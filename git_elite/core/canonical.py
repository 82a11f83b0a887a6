"""RFC 8785 JSON Canonicalization Scheme (JCS) and the signing input of documents (SPEC §3).

Keys sorted by UTF-16 code units, no whitespace, ES6 number formatting, minimal string
escaping, UTF-8. Checked byte for byte against the RFC 8785 and cyberphone vectors; the
`rfc8785` package is the reference in property tests. This encoder exists because the
reference is several times slower and the verifier canonicalizes every manifest it reads.
"""

from __future__ import annotations

import math

from git_elite.core import cjson
from git_elite.core.errors import JsonError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_SAFE_INT = 2**53 - 1


def format_number(value: float) -> str:
    """ECMAScript Number::toString for a finite double (RFC 8785 §3.2.2.3)."""
    if not math.isfinite(value):
        raise JsonError("NaN and Infinity cannot be canonicalized", rule="json")
    if value == 0:
        return "0"
    text = repr(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    # n: position of the decimal point relative to the first significant digit
    leading_zeros = len(whole + frac) - len(digits)
    n = len(whole) + (int(exp) if exp else 0) - leading_zeros
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp_text = ("+" if e >= 0 else "-") + str(abs(e))
    if k == 1:
        return sign + digits + "e" + exp_text
    return sign + digits[0] + "." + digits[1:] + "e" + exp_text


def _astral(text: str) -> bool:
    """Whether `text` holds a character beyond U+FFFF (two UTF-16 code units)."""
    return not text.isascii() and max(text) > "\uffff"


encode_string = cjson.encode_string


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _encode(value: Any, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(encode_string(value))
    elif kind is dict:
        keys = list(value)
        if _astral("".join(keys)):
            keys.sort(key=_utf16_key)
        else:
            keys.sort()
        out.append("{")
        first = True
        for key in keys:
            if not first:
                out.append(",")
            first = False
            if type(key) is not str:
                raise JsonError(f"object key {key!r} is not a string", rule="json")
            out.append(encode_string(key))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    elif kind is list or kind is tuple:
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif kind is bool:
        out.append("true" if value else "false")
    elif kind is int:
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise JsonError(f"integer {value} is outside ±(2^53−1)", rule="json")
        out.append(str(value))
    elif kind is float:
        out.append(format_number(value))
    elif value is None:
        out.append("null")
    else:
        raise JsonError(f"{kind.__name__} is not a JSON value", rule="json")


# Fast path: the C encoder of the json module gives the JCS bytes when every key is a str,
# no string holds an astral character (code-point order is then UTF-16 order), every int is
# within ±(2^53−1) and every float is one whose repr is already its ES6 form.
_C_ENCODER = cjson.Encoder(sort_keys=True)


def _plain(value: Any) -> int:
    """PLAIN when the C encoder's output of `value` is its JCS form (see above), WHOLE when it
    is after integral floats (|x| < 2^53, where str(int(x)) is the ES6 form) become ints,
    else EXACT (only the exact encoder below gets it right)."""
    found = PLAIN
    stack = [value]
    while stack:
        container = stack.pop()
        if type(container) is dict:
            "".join(container)  # TypeError unless every key is a str
            items: Any = container.values()
        else:
            items = container
        for item in items:
            kind = type(item)
            if kind is dict or kind is list:
                stack.append(item)
            elif kind is float:
                if item.is_integer() and abs(item) < 2**53:
                    found = WHOLE
                elif not 1e-4 <= abs(item) < 1e16 or item.is_integer():
                    return EXACT  # non-integral, 1e-4 <= |x| < 1e16: repr is the ES6 form
            elif (kind is int and not -MAX_SAFE_INT <= item <= MAX_SAFE_INT) or (
                    kind is not str and kind is not int and kind is not bool and item is not None):
                return EXACT
    return found


PLAIN, WHOLE, EXACT = 0, 1, 2


def _whole_floats_as_ints(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: _whole_floats_as_ints(v) for k, v in value.items()}
    if kind is list:
        return [_whole_floats_as_ints(v) for v in value]
    if kind is float and value.is_integer():
        return int(value)
    return value


def _fast(value: Any) -> bytes | None:
    if type(value) is not dict and type(value) is not list:
        return None
    try:
        found = _plain(value)
        if found == EXACT:
            return None
        text = _C_ENCODER.encode(value if found == PLAIN else _whole_floats_as_ints(value))
        if _astral(text):
            return None
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return None  # the exact path below reports it


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 bytes of a JSON value."""
    fast = _fast(value)
    if fast is not None:
        return fast
    out: list[str] = []
    _encode(value, out)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        raise JsonError("lone UTF-16 surrogate in a string", rule="json") from None


def signing_input(doc: dict[str, Any], signature_field: str) -> bytes:
    """JCS of `doc` without its top-level signature field (`signature_ed25519`/`signatures`)."""
    return canonicalize({k: v for k, v in doc.items() if k != signature_field})
