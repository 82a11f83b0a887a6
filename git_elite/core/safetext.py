"""The one escaping function for text that reaches a terminal (SPEC §13: nothing from a
registry or server reaches a terminal raw). Pure; used by output.py, the error boundary, the
hooks' REJECT lines and `Problem.line()`.

Escaped: C0 controls (ESC, CR, BEL, backspace, tab, and newline unless a caller's own
multi-line text keeps it), DEL, C1 controls (U+0080–U+009F: U+009B is an 8-bit CSI), the
line and paragraph separators, and the bidirectional overrides and isolates (U+202A–U+202E,
U+2066–U+2069) that reorder what a reader sees. Each becomes a visible escape (`\\e`, `\\n`,
`\\x07`, `\\u202e`); everything else, non-ASCII letters included, is left as it is.

URLs lose their credentials wherever they are printed, as git redacts them: the userinfo of
`https://user:token@host/…` (any userinfo over http(s), where a token alone can be the user
name; a password elsewhere) and the values of token-like query parameters. `clean_url` is
the stricter form for a URL that gets signed (`repo_ref`): no userinfo password, no query,
no fragment, and `secret_in` says whether what is left still looks like a credential.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}
# each unsafe character -> its visible escape, for str.translate (no `re` to compile on the
# path of every message: ~1 ms; docs/scale.md, "discover --offline, round 7")
_KEEP_NEWLINES = {code: _NAMED.get(chr(code)) or
                  (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
                  for code in (*range(0x00, 0x0a), *range(0x0b, 0x20), *range(0x7f, 0xa0),
                               0x2028, 0x2029, *range(0x202a, 0x202f), *range(0x2066, 0x206a))}
_ANY = {**_KEEP_NEWLINES, ord("\n"): "\\n"}


def escape(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every unsafe character made visible (one line unless `keep_newlines`) and
    the credentials of any URL in it redacted (`redact`)."""
    text = redact(text)
    return text.translate(_KEEP_NEWLINES if keep_newlines else _ANY)


# URLs: credentials never printed, never signed -------------------------------------------
_PATTERNS: dict[str, re.Pattern[str]] = {}  # compiled on first use: a URL in the text


def _pattern(name: str) -> re.Pattern[str]:
    found = _PATTERNS.get(name)
    if found is None:
        import re

        found = _PATTERNS[name] = re.compile(*_SOURCES[name])
    return found


_SOURCES: dict[str, tuple[str, int]] = {
    "userinfo": (r"\b([A-Za-z][A-Za-z0-9+.-]*)://([^/\s@?#]+)@", 0),
    "token_query": (
        r"([?&;](?:access_token|private_token|oauth_token|token|auth|key|secret|password|"
        r"passwd|pass|pwd|sig|signature|x-amz-signature|x-amz-credential|"
        r"x-amz-security-token|code)=)[^&;\s#]*", 2),  # re.IGNORECASE
    # credentials people paste into URLs: GitHub, GitLab, Slack, AWS, OpenAI-style keys, JWTs
    "secret_shapes": (
        r"gh[pousr]_[A-Za-z0-9]{8,}|github_pat_[A-Za-z0-9_]{8,}|glpat-[A-Za-z0-9_-]{8,}|"
        r"xox[abposr]-[A-Za-z0-9-]{8,}|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{16,}|"
        r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", 0)}


def _userinfo(match: re.Match[str]) -> str:
    scheme, info = match.group(1), match.group(2)
    keep = ":" not in info and not scheme.lower().startswith(("http", "ftp"))
    return f"{scheme}://{info}@" if keep else f"{scheme}://"


def redact(text: str) -> str:
    """`text` with every URL's credentials (userinfo, token query values) taken out."""
    if "://" not in text:
        return text
    text = _pattern("userinfo").sub(_userinfo, text)
    return _pattern("token_query").sub(r"\1<redacted>", text)


def clean_url(url: str) -> str:
    """A URL fit to be recorded and signed: no credentials, no query, no fragment."""
    url = _pattern("userinfo").sub(_userinfo, url)
    if "://" in url:
        url = url.split("#", 1)[0].split("?", 1)[0]
    return url


def secret_in(text: str) -> str | None:
    """The first part of `text` shaped like a known credential (a token), or None."""
    found = _pattern("secret_shapes").search(text)
    return found.group() if found else None
