"""The log role of IDENTITY.json (SPEC §15): who signs the registry's checkpoints, which
witnesses cosign them and how many must; and the log's leaves (one per accepted registry
state). Pure: values in, values out.
"""

from __future__ import annotations

from git_elite.core import canonical, keys
from git_elite.core.errors import EliteError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

REF = "refs/elite/log"
RULE = "log"
SPLIT_VIEW = "split-view"
LEAF_TYPE = "registry-state"
# A C2SP key name (signed-note): non-empty, no Unicode space, no '+'. We take the ASCII
# subset (printable, no space, no '+'), so a name can never hide a control or look-alike
# character on a terminal (docs/log.md).
_NAME_CHARS = frozenset(chr(c) for c in range(0x21, 0x7f) if chr(c) != "+")
_URL_CHARS = frozenset(chr(c) for c in range(0x21, 0x7f))


class _Name:
    """`[!-*,-~]{1,255}` (fullmatch) without `re`, which a reader would import for this
    alone (discover7, docs/scale.md "discover --offline, round 7")."""

    @staticmethod
    def fullmatch(text: str) -> bool:
        return 0 < len(text) <= 255 and set(text) <= _NAME_CHARS


class _Url:
    """`https?://[!-~]+` (fullmatch)."""

    @staticmethod
    def fullmatch(text: str) -> bool:
        for scheme in ("https://", "http://"):
            if text.startswith(scheme):
                return len(text) > len(scheme) and set(text[len(scheme):]) <= _URL_CHARS
        return False


NAME = _Name()
URL = _Url()


class Witness(NamedTuple):
    name: str
    key: str  # did:key
    url: str


class LogRole(NamedTuple):
    """IDENTITY.json `log`: origin (the checkpoint's first line and the log key's name), the
    log key, the declared witnesses and the quorum of their cosignatures a reader needs."""

    origin: str
    key: str
    witnesses: tuple[Witness, ...]
    quorum: int

    @staticmethod
    def of(identity: Mapping[str, Any] | None) -> LogRole | None:
        """The role declared by a (validated) IDENTITY.json body, else None."""
        role = (identity or {}).get("log")
        if not isinstance(role, dict):
            return None
        return LogRole(str(role["origin"]), str(role["key"]),
                       tuple(Witness(str(w["name"]), str(w["key"]), str(w["url"]))
                             for w in role["witnesses"]), int(role["quorum"]))

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "key": self.key, "quorum": self.quorum,
                "witnesses": [{"name": w.name, "key": w.key, "url": w.url}
                              for w in self.witnesses]}

    def witness(self, name: str) -> Witness | None:
        return next((w for w in self.witnesses if w.name == name), None)


def problems(role: Mapping[str, Any]) -> list[str]:
    """Cross-field rules of a `log` role whose shape the schema accepted: valid keys,
    distinct witness names and keys, none of them the log key, 1 <= quorum <= witnesses."""
    out: list[str] = []
    witnesses = list(role["witnesses"])
    for where, did in [("log.key", role["key"]),
                       *[(f"log.witnesses.{w['name'][:40]}.key", w["key"]) for w in witnesses]]:
        try:
            keys.public_from_did(did)
        except EliteError as err:
            out.append(f"{where}: {err.message}")
    names = [w["name"] for w in witnesses]
    if len(set(names)) != len(names):
        out.append("log.witnesses: two witnesses have the same name")
    dids = [w["key"] for w in witnesses]
    if len(set(dids)) != len(dids):
        out.append("log.witnesses: two witnesses have the same key (a quorum needs "
                   "independent witnesses)")
    if role["key"] in dids:
        out.append("log.witnesses: the log key cannot witness its own log")
    if role["quorum"] > len(witnesses):
        out.append(f"log.quorum {role['quorum']} > {len(witnesses)} witnesses")
    return out


def parse_witness(spec: str) -> dict[str, str]:
    """`NAME=DID@URL` (the command line's form of a witness) as a role entry."""
    name, eq, rest = spec.partition("=")
    did, at, url = rest.partition("@")
    if not (eq and at and NAME.fullmatch(name) and URL.fullmatch(url)):
        raise EliteError(f"witness {spec[:80]!r}: expected NAME=DID@URL (NAME printable ASCII "
                         "without space or '+', URL http:// or https://)")
    try:
        keys.public_from_did(did)
    except EliteError as err:
        raise EliteError(f"witness {name}: {err.message}") from None
    return {"name": name, "key": did, "url": url}


def leaf(branch: str, commit: str, index_sha256: str) -> bytes:
    """The log's leaf for one accepted registry state: RFC 8785 bytes of
    {branch, commit, index_sha256, type} (SPEC §15)."""
    return canonical.canonicalize({"branch": branch, "commit": commit,
                                   "index_sha256": index_sha256, "type": LEAF_TYPE})


def parse_leaf(data: bytes) -> dict[str, str] | None:
    """A leaf's fields when `data` is exactly the canonical leaf bytes, else None."""
    import json

    try:
        value = json.loads(data)
    except ValueError:
        return None
    if not isinstance(value, dict) or set(value) != {"branch", "commit", "index_sha256",
                                                     "type"}:
        return None
    if not all(isinstance(v, str) for v in value.values()) or value["type"] != LEAF_TYPE:
        return None
    if leaf(value["branch"], value["commit"], value["index_sha256"]) != data:
        return None
    return {k: str(v) for k, v in value.items()}
