"""The reader's pin of a registry's IDENTITY.json (SPEC §6.2), as TUF clients pin the root:
the highest `version` seen and the roles it declared. A copy that serves a lower version, or
drops a role without a validly signed IDENTITY change the reader can see, is refused as
`rollback`. Pure: the memory (edges/identity_seen) and the history are passed in.

A role vanishes legitimately only through a change the delegates sign (SPEC §5.3): the
reader accepts one only when it holds every IDENTITY.json from the pinned version to the
served one, each `version` = previous + 1 and signed by `threshold` delegates of the
previous one (a clone's history has them; over HTTP only a direct successor does).
"""

from __future__ import annotations

from git_elite.core import documents, layout
from git_elite.core.state import sha256_hex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

RULE = "rollback"
ROLES = ("timestamp", "log")  # SPEC §6.1, §15: the roles whose loss switches checks off


def roles_of(body: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(role for role in ROLES if isinstance(body.get(role), dict))


class Pin(NamedTuple):
    """What a reader remembers of the highest IDENTITY.json it accepted for one registry."""

    version: int
    roles: tuple[str, ...]
    delegates: tuple[str, ...]
    threshold: int
    sha256: str

    @classmethod
    def of(cls, body: Mapping[str, Any], raw: bytes) -> Pin:
        return cls(int(body["version"]), roles_of(body), tuple(sorted(body["delegates"])),
                   int(body["threshold"]), sha256_hex(raw))

    @classmethod
    def from_dict(cls, value: Any) -> Pin | None:
        """A remembered pin (None when damaged: the reader then starts afresh)."""
        try:
            pin = cls(value["version"], tuple(value["roles"]), tuple(value["delegates"]),
                      value["threshold"], value["sha256"])
        except (KeyError, TypeError):
            return None
        fields_ok = type(pin.version) is int and type(pin.threshold) is int and \
            all(isinstance(x, str) for x in (*pin.roles, *pin.delegates, pin.sha256))
        return pin if fields_ok else None

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "roles": list(self.roles),
                "delegates": list(self.delegates), "threshold": self.threshold,
                "sha256": self.sha256}


def judge(seen: Pin | None, body: Mapping[str, Any], raw: bytes,
          successors: Sequence[bytes] = ()) -> str | None:
    """Why the served IDENTITY.json (`body`, its bytes `raw`, already checked standalone)
    is a rollback from `seen`, or None. `successors`: the IDENTITY.json bytes the reader
    can see after the pinned version up to the served one (any order)."""
    if seen is None:
        return None
    version = int(body["version"])
    if version < seen.version:
        return (f"IDENTITY.json version {version} is older than version {seen.version} "
                "already seen for this registry: the copy serves an older identity")
    lost = [role for role in seen.roles if role not in roles_of(body)]
    if not lost:
        return None
    what = ", ".join(lost)
    if version == seen.version:
        return (f"IDENTITY.json version {version} declares no {what} role, but the "
                f"version {seen.version} already seen did: not the identity the delegates signed")
    if not signed_chain(seen, successors, version):
        return (f"IDENTITY.json version {version} drops the {what} role declared by "
                f"version {seen.version} already seen, and the signed changes between them "
                "cannot be checked here (read the registry from a clone)")
    return None


def signed_chain(seen: Pin, successors: Sequence[bytes], version: int) -> bool:
    """Whether `successors` hold versions seen+1 … `version`, each signed by `threshold`
    delegates of the one before (SPEC §5.3's rule, from the pinned version on)."""
    by_version: dict[int, dict[str, Any]] = {}
    signers: dict[int, set[str]] = {}
    for raw in successors:
        doc, problems = documents.check(raw, layout.IDENTITY, documents.REGISTRY_IDENTITY)
        if doc is None or problems:
            continue
        number = int(doc.body["version"])
        by_version[number] = doc.body
        signers[number] = documents.valid_signers(doc)[0]
    delegates, threshold = set(seen.delegates), seen.threshold
    for number in range(seen.version + 1, version + 1):
        body = by_version.get(number)
        if body is None or len(signers[number] & delegates) < threshold:
            return False
        delegates, threshold = set(body["delegates"]), int(body["threshold"])
    return True
