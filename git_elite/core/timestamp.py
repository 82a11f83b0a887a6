"""The timestamp role (SPEC §6.1): a signed, expiring statement of a registry's current state.

Pure: bytes and values in, values out. Signatures say who wrote each document, not that a
mirror serves the current state; a timestamp says "on `created_at` the tip of `branch` was
`tip` (whose INDEX.json hashes to `index_sha256`), and nobody should believe a copy that
cannot show a fresher one after `expires_at`". Two callers:
- `assess`: what a reader (`verify`, `discover`, `import`) concludes about the copy it reads —
  fresh, or which attack it looks like (freeze, withholding, rollback) or an invalid document;
- `check_update`: the server's `timestamp` rule for a push of `refs/elite/timestamp`.
What only git knows (is a commit an ancestor of the tip, INDEX.json's bytes at a commit) comes
in as the callables `contains` and `index_at`; `freshness.py` is the edge that reads git.
"""

from __future__ import annotations

import time

from git_elite.core import documents
from git_elite.core.errors import EliteError, Problem
from git_elite.core.state import sha256_hex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

REF = "refs/elite/timestamp"
FILENAME = "timestamp.json"
RULE = "timestamp"
MIN_AGE, MAX_AGE = 600, 30 * 86400

FRESH, UNDECLARED = "fresh", "undeclared"
FREEZE, WITHHOLDING, ROLLBACK, INVALID = "freeze", "withholding", "rollback", "invalid"

if TYPE_CHECKING:
    Contains = Callable[[str], bool]
    IndexAt = Callable[[str], bytes | None]


def when(ts: int) -> str:
    """A UTC date as people read it in a message: 2026-11-27 10:17:27Z."""
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(ts))


class Role(NamedTuple):
    """IDENTITY.json's `timestamp`: which keys sign, how many must, how long one may live."""

    keys: frozenset[str]
    threshold: int
    max_age: int

    @classmethod
    def of(cls, identity: Mapping[str, Any] | None) -> Role | None:
        """The role an IDENTITY.json body declares (None: no role; the schema has checked
        the shape of a body that was admitted)."""
        role = identity.get("timestamp") if identity else None
        if not isinstance(role, dict):
            return None
        return cls(frozenset(role["keys"]), int(role["threshold"]), int(role["max_age"]))


class Signed(NamedTuple):
    """A timestamp whose signatures satisfy the role."""

    version: int
    created_at: int
    expires_at: int
    tip: str
    index_sha256: str
    branch: str
    signers: frozenset[str]

    def dates(self) -> str:
        return f"signed {when(self.created_at)}, expires {when(self.expires_at)}"


def body(*, registry: str, owner_did: str, branch: str, tip: str, index: bytes, version: int,
         now: int, lifetime: int) -> dict[str, Any]:
    """An unsigned timestamp document (sign it with documents.sign_multi(…, TIMESTAMP))."""
    return {"type": documents.TIMESTAMP, "schema_version": 1, "registry": registry,
            "owner_did": owner_did, "branch": branch, "tip": tip,
            "index_sha256": sha256_hex(index), "version": version,
            "created_at": now, "expires_at": now + lifetime}


def verify(raw: bytes, role: Role, *, registry: str, owner_did: str, branch: str | None
           ) -> tuple[Signed | None, list[Problem]]:
    """The document on its own against the role: strict JSON, schema, every signature,
    `threshold` of the declared keys, lifetime ≤ max_age, and that it speaks of this registry
    (name, owner, branch). Every problem has rule `timestamp`."""
    doc, found = documents.check(raw, FILENAME, documents.TIMESTAMP)
    problems = [Problem(RULE, FILENAME, f"[{p.rule}] {p.message}") for p in found]
    if doc is None or problems:
        return None, problems
    b = doc.body
    good = {s["did"] for s in b["signatures"]} & role.keys
    if len(good) < role.threshold:
        problems.append(_p(f"{len(good)} signature(s) by the declared timestamp key(s), "
                           f"threshold {role.threshold}"))
    if b["expires_at"] - b["created_at"] > role.max_age:
        problems.append(_p(f"lives {b['expires_at'] - b['created_at']} s, longer than the "
                           f"role's max_age {role.max_age} s"))
    for field, want in (("registry", registry), ("owner_did", owner_did), ("branch", branch)):
        if want is not None and b[field] != want:
            problems.append(_p(f"{field} is {str(b[field])[:80]!r}, not this registry's "
                               f"{want!r}"))
    if problems:
        return None, problems
    return Signed(b["version"], b["created_at"], b["expires_at"], b["tip"], b["index_sha256"],
                  b["branch"], frozenset(good)), []


def _p(message: str) -> Problem:
    return Problem(RULE, FILENAME, message)


def index_problem(signed: Signed, index_at: IndexAt) -> str | None:
    """Why INDEX.json at the signed tip is not the one signed (None: it is)."""
    data = index_at(signed.tip)
    if data is None:
        return f"no INDEX.json at the signed tip {signed.tip[:12]}"
    if sha256_hex(data) != signed.index_sha256:
        return (f"index_sha256 {signed.index_sha256[:12]}… is not the sha256 of INDEX.json "
                f"at the signed tip {signed.tip[:12]}")
    return None


class Freshness(NamedTuple):
    """What a reader concludes: `case` is FRESH or UNDECLARED (fine), or FREEZE, WITHHOLDING,
    ROLLBACK, INVALID; `message` says it in one line with the dates."""

    case: str
    message: str
    signed: Signed | None = None

    @property
    def ok(self) -> bool:
        return self.case in (FRESH, UNDECLARED)

    def line(self, name: str) -> str:
        return f"{name}: [{RULE}] {self.case}: {self.message}" if not self.ok else \
            f"{name}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        s = self.signed
        return {"case": self.case, "ok": self.ok, "message": self.message,
                "version": s.version if s else None, "tip": s.tip if s else None,
                "created_at": s.created_at if s else None,
                "expires_at": s.expires_at if s else None}


def assess(raw: bytes | None, role: Role | None, *, registry: str, owner_did: str,
           branch: str | None, tip: str, now: int, seen: int, contains: Contains,
           index_at: IndexAt) -> Freshness:
    """The reader's check of the timestamp served with a copy whose branch tip is `tip`.
    `seen` is the highest version this reader has already accepted for the registry (0:
    none); `contains(c)` says whether `tip` is `c` or a descendant of it."""
    if role is None:
        return Freshness(UNDECLARED, "declares no timestamp role (freshness not checked)")
    if raw is None:
        return Freshness(FREEZE, f"no timestamp ({REF} is missing) although the registry "
                         "declares a timestamp role: the copy may be frozen or stripped (in "
                         f"a clone, fetch it: git fetch origin '+{REF}:{REF}')")
    signed, problems = verify(raw, role, registry=registry, owner_did=owner_did, branch=branch)
    if signed is None:
        return Freshness(INVALID, f"the timestamp is not valid: {problems[0].message}")
    return _judge(signed, tip=tip, now=now, seen=seen, contains=contains, index_at=index_at)


def _judge(signed: Signed, *, tip: str, now: int, seen: int, contains: Contains,
           index_at: IndexAt) -> Freshness:
    if signed.version < seen:
        return Freshness(ROLLBACK, f"timestamp version {signed.version} ({signed.dates()}) is "
                         f"older than version {seen} already seen for this registry: an "
                         "older state is being replayed", signed)
    if not contains(signed.tip):
        return Freshness(WITHHOLDING, f"the branch tip {tip[:12]} does not contain the signed "
                         f"tip {signed.tip[:12]} (timestamp v{signed.version}, "
                         f"{signed.dates()}): this copy serves less than was signed", signed)
    if (why := index_problem(signed, index_at)) is not None:
        return Freshness(INVALID, f"the timestamp is not valid: {why}", signed)
    if signed.expires_at <= now:
        return Freshness(FREEZE, f"the timestamp expired {when(signed.expires_at)} (v"
                         f"{signed.version}, signed {when(signed.created_at)}; now "
                         f"{when(now)}): the copy may be frozen", signed)
    return Freshness(FRESH, f"signed fresh until {when(signed.expires_at)} (timestamp v"
                     f"{signed.version}, tip {signed.tip[:12]})", signed)


def check_update(old: bytes | None, new: bytes, role: Role | None, *, registry: str,
                 owner_did: str, branch: str, now: int, max_skew: int, contains: Contains,
                 index_at: IndexAt) -> list[Problem]:
    """The server's `timestamp` rule for a new `refs/elite/timestamp` document: valid by the
    declared keys, a greater version than the one it replaces, not expired, not dated ahead
    of the server's clock by more than `max_skew`, its tip the registry branch's tip or an
    ancestor of it, and its index_sha256 that tip's INDEX.json."""
    if role is None:
        return [_p("this registry declares no timestamp role (IDENTITY.json `timestamp`): "
                   f"{REF} cannot be set")]
    signed, problems = verify(new, role, registry=registry, owner_did=owner_did, branch=branch)
    if signed is None:
        return problems
    previous = version_of(old)
    if signed.version <= previous:
        problems.append(_p(f"version {signed.version} is not greater than the current "
                           f"version {previous}"))
    if signed.expires_at <= now:
        problems.append(_p(f"already expired ({when(signed.expires_at)})"))
    if signed.created_at > now + max_skew:
        problems.append(_p(f"created_at {when(signed.created_at)} is more than {max_skew} s "
                           "ahead of the server's clock"))
    if not contains(signed.tip):
        problems.append(_p(f"tip {signed.tip[:12]} is not the registry branch's tip or one "
                           "of its ancestors"))
    elif (why := index_problem(signed, index_at)) is not None:
        problems.append(_p(why))
    return problems


def version_of(old: bytes | None) -> int:
    """The version of the timestamp being replaced (0 when there is none; a current one that
    no longer verifies — e.g. after the keys were rotated — still counts by its number)."""
    if old is None:
        return 0
    try:
        value = documents.parse(old, FILENAME, documents.TIMESTAMP).body.get("version")
    except EliteError:  # an unreadable old document sets no floor
        return 0
    return value if type(value) is int else 0
