"""The one escaping function for text that reaches a terminal (SPEC §13: nothing from a
registry or server reaches a terminal raw). Pure; used by output.py, the error boundary, the
hooks' REJECT lines and `Problem.line()`.

Escaped: C0 controls (ESC, CR, BEL, backspace, tab, and newline unless a caller's own
multi-line text keeps it), DEL, C1 controls (U+0080–U+009F: U+009B is an 8-bit CSI), the
line and paragraph separators, and the bidirectional overrides and isolates (U+202A–U+202E,
U+2066–U+2069) that reorder what a reader sees. Each becomes a visible escape (`\\e`, `\\n`,
`\\x07`, `\\u202e`); everything else, non-ASCII letters included, is left as it is.
"""

from __future__ import annotations

import re

_UNSAFE = "\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_ANY = re.compile(f"[{_UNSAFE}\n]")
_KEEP_NEWLINES = re.compile(f"[{_UNSAFE}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def escape(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every unsafe character made visible (one line unless `keep_newlines`)."""
    pattern = _KEEP_NEWLINES if keep_newlines else _ANY
    return pattern.sub(_visible, text) if pattern.search(text) else text


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
