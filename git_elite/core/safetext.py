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

import re

_UNSAFE = "\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_ANY = re.compile(f"[{_UNSAFE}\n]")
_KEEP_NEWLINES = re.compile(f"[{_UNSAFE}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def escape(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every unsafe character made visible (one line unless `keep_newlines`) and
    the credentials of any URL in it redacted (`redact`)."""
    text = redact(text)
    pattern = _KEEP_NEWLINES if keep_newlines else _ANY
    return pattern.sub(_visible, text) if pattern.search(text) else text


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


# URLs: credentials never printed, never signed -------------------------------------------
_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*)://([^/\s@?#]+)@")
_TOKEN_QUERY = re.compile(
    r"([?&;](?:access_token|private_token|oauth_token|token|auth|key|secret|password|passwd|"
    r"pass|pwd|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|code)=)"
    r"[^&;\s#]*", re.IGNORECASE)
# credentials people paste into URLs: GitHub, GitLab, Slack, AWS, OpenAI-style keys, JWTs
_SECRET_SHAPES = re.compile(
    r"gh[pousr]_[A-Za-z0-9]{8,}|github_pat_[A-Za-z0-9_]{8,}|glpat-[A-Za-z0-9_-]{8,}|"
    r"xox[abposr]-[A-Za-z0-9-]{8,}|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{16,}|"
    r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


def _userinfo(match: re.Match[str]) -> str:
    scheme, info = match.group(1), match.group(2)
    keep = ":" not in info and not scheme.lower().startswith(("http", "ftp"))
    return f"{scheme}://{info}@" if keep else f"{scheme}://"


def redact(text: str) -> str:
    """`text` with every URL's credentials (userinfo, token query values) taken out."""
    if "://" not in text:
        return text
    return _TOKEN_QUERY.sub(r"\1<redacted>", _URL_USERINFO.sub(_userinfo, text))


def clean_url(url: str) -> str:
    """A URL fit to be recorded and signed: no credentials, no query, no fragment."""
    url = _URL_USERINFO.sub(_userinfo, url)
    if "://" in url:
        url = url.split("#", 1)[0].split("?", 1)[0]
    return url


def secret_in(text: str) -> str | None:
    """The first part of `text` shaped like a known credential (a token), or None."""
    found = _SECRET_SHAPES.search(text)
    return found.group() if found else None
