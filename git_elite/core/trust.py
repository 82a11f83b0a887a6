"""The local trust set and trust evaluation (SPEC §8). Pure (the file: edges/trusted_dids.py).

A DID is trusted for task type T when the trust set names it for T or `*`, or when a chain
of at most `max_depth` valid endorsements covering T (or `*`) leads to it from a DID
trusted for T. A key rotation carries trust from `from` to `to` and does not count towards
the depth (it is the same holder). `T = "*"` asks for trust in every task type, so only
grants of `*` cover it. Among all chains the one with the fewest endorsements wins, then
the fewest hops, then the smallest list of dids — the answer is deterministic.
"""

from __future__ import annotations

from git_elite.core import documents, jsonstrict, keys
from git_elite.core.errors import EliteError, TrustError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import heapq
    from collections.abc import Iterable
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple
    try:  # heapq's C functions without heapq.py (its import is most of its cost)
        import _heapq as heapq
    except ImportError:  # another Python than CPython
        import heapq

ANY = "*"
TOP_FIELDS = {"version", "max_depth", "trusted"}
ENTRY_FIELDS = {"did", "alias", "task_types", "added_at"}


SELF_ALIAS = "you"


class TrustEntry(NamedTuple):
    did: str
    task_types: tuple[str, ...]
    added_at: int
    alias: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"did": self.did, "task_types": list(self.task_types),
                               "added_at": self.added_at}
        if self.alias is not None:
            out["alias"] = self.alias
        return out


class TrustSet(NamedTuple):
    trusted: tuple[TrustEntry, ...] = ()
    max_depth: int = 2
    version: int = 1

    @classmethod
    def from_bytes(cls, raw: bytes, path: str) -> TrustSet:
        body = jsonstrict.load_object(raw, name=path)
        _fields(body, TOP_FIELDS, {"version", "trusted"}, path)
        depth = body.get("max_depth", 2)
        if body["version"] != 1 or type(depth) is not int or not 0 <= depth <= 16:
            raise TrustError(f"{path}: version must be 1 and max_depth an integer 0..16")
        if not isinstance(body["trusted"], list):
            raise TrustError(f"{path}: trusted must be a list")
        return cls(tuple(_entry(e, path) for e in body["trusted"]), depth)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "max_depth": self.max_depth,
                "trusted": [e.to_dict() for e in self.trusted]}

    def add(self, entry: TrustEntry) -> TrustSet:
        kept = tuple(e for e in self.trusted if e.did != entry.did)
        return TrustSet((*kept, entry), self.max_depth, self.version)

    def remove(self, did: str) -> TrustSet:
        if not any(e.did == did for e in self.trusted):
            raise TrustError(f"{did} is not in the trust set")
        return TrustSet(tuple(e for e in self.trusted if e.did != did), self.max_depth)

    def with_self(self, did: str | None) -> TrustSet:
        """This node's own DID trusted for everything, shown as "you" (never saved)."""
        if did is None:
            return self
        kept = tuple(e for e in self.trusted if e.did != did)
        return TrustSet((TrustEntry(did, (ANY,), 0, SELF_ALIAS), *kept), self.max_depth,
                        self.version)

    def roots(self, task_type: str) -> list[str]:
        return sorted(e.did for e in self.trusted if covers(e.task_types, task_type))


def _fields(body: dict[str, Any], allowed: set[str], required: set[str], where: str) -> None:
    unknown = sorted(set(body) - allowed)
    missing = sorted(required - set(body))
    if unknown or missing:
        what = [f"unknown field(s) {', '.join(unknown)}"] if unknown else []
        what += [f"missing field(s) {', '.join(missing)}"] if missing else []
        raise TrustError(f"{where}: {'; '.join(what)}")


def _entry(value: Any, path: str) -> TrustEntry:
    if not isinstance(value, dict):
        raise TrustError(f"{path}: each trusted entry must be an object")
    _fields(value, ENTRY_FIELDS, {"did", "task_types", "added_at"}, f"{path}: trusted entry")
    try:
        keys.public_from_did(value["did"])
    except EliteError as err:
        raise TrustError(f"{path}: {str(value['did'])[:80]}: {err.message}") from None
    types, alias = value["task_types"], value.get("alias")
    if (not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types)
            or type(value["added_at"]) is not int or not isinstance(alias, str | None)):
        raise TrustError(f"{path}: {value['did']}: task_types must be a non-empty list of "
                         "strings, added_at an integer, alias a string")
    return TrustEntry(value["did"], tuple(types), value["added_at"], alias)


def covers(granted: Iterable[str], task_type: str) -> bool:
    return ANY in granted or task_type in granted


class Edge(NamedTuple):
    """A step of trust: an endorsement (depth 1) or a key rotation (depth 0)."""

    frm: str
    to: str
    task_types: tuple[str, ...]
    rotation: bool = False


def edges(endorsements: Iterable[documents.Document], rotations: Iterable[documents.Document],
          now: int) -> list[Edge]:
    """Usable edges from already-verified documents. For each (from, to) the latest
    endorsement decides (a revocation at the same created_at wins); expired ones
    (expires_at <= now) do not count."""
    latest: dict[tuple[str, str], documents.Document] = {}
    for doc in endorsements:
        pair = (doc.body["from"], doc.body["to"])
        seen = latest.get(pair)
        if seen is None or (doc.created_at, bool(doc.body.get("revoked"))) > \
                (seen.created_at, bool(seen.body.get("revoked"))):
            latest[pair] = doc
    out = [Edge(f, t, tuple(d.body["task_types"])) for (f, t), d in sorted(latest.items())
           if not d.body.get("revoked") and d.body.get("expires_at", now + 1) > now]
    out += [Edge(d.body["from"], d.body["to"], (ANY,), rotation=True) for d in rotations]
    return out


class TrustResult(NamedTuple):
    did: str
    task_type: str
    trusted: bool
    path: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"did": self.did, "task_type": self.task_type, "trusted": self.trusted,
                "path": list(self.path)}


def explain(trust: TrustSet, graph: Iterable[Edge], did: str, task_type: str = ANY
            ) -> TrustResult:
    """Whether `did` is trusted for `task_type`, with the best chain (root first)."""
    best = best_paths(trust, graph, task_type)
    path = best.get(did)
    return TrustResult(did, task_type, path is not None, path or ())


def best_paths(trust: TrustSet, graph: Iterable[Edge], task_type: str
               ) -> dict[str, tuple[str, ...]]:
    """For every reachable did its best path: Dijkstra on (endorsements, hops, path)."""
    out: dict[str, list[Edge]] = {}
    for edge in graph:
        if covers(edge.task_types, task_type):
            out.setdefault(edge.frm, []).append(edge)
    queue: list[tuple[int, int, tuple[str, ...]]] = [(0, 1, (r,)) for r in trust.roots(task_type)]
    heapq.heapify(queue)
    done: dict[str, tuple[str, ...]] = {}
    while queue:
        depth, hops, path = heapq.heappop(queue)
        if path[-1] in done:
            continue
        done[path[-1]] = path
        for edge in out.get(path[-1], []):
            step = 0 if edge.rotation else 1
            if edge.to not in done and depth + step <= trust.max_depth:
                heapq.heappush(queue, (depth + step, hops + 1, (*path, edge.to)))
    return done


def make_endorsement(key: keys.Keypair, to: str, task_types: Iterable[str], created_at: int,
                     expires_at: int | None = None, revoked: bool = False) -> dict[str, Any]:
    """A signed endorsement (SPEC §5.5) of `to` by `key`; `revoked=True` withdraws one."""
    keys.public_from_did(to)
    body: dict[str, Any] = {"type": documents.ENDORSEMENT, "schema_version": 1, "from": key.did,
                            "to": to, "task_types": sorted(set(task_types)) or [ANY],
                            "created_at": created_at, "revoked": revoked}
    if expires_at is not None:
        body["expires_at"] = expires_at
    return documents.sign(body, key, documents.ENDORSEMENT)


def endorsement_path(frm: str, to: str) -> str:
    """`<from-nid>/<to-nid>.json`, the path under `endorsements/` (SPEC §4)."""
    return f"{keys.nid_from_did(frm)}/{keys.nid_from_did(to)}.json"
