"""The head's pins (SPEC §6.2): what INDEX.json carries so that a reader over any transport
can chain every byte it uses to the signed head. Pure.

- `"identity": {"version", "sha256"}`: IDENTITY.json's version and the sha256 of its bytes;
- `"ranked": {"agents", "sha256"}`: `index/ranked.json` = `{"schema_version": 2, "agents":
  {<agent_id>: <its shard entry>}}` for every agent in any head ranking (written always,
  with `"agents": {}` when nothing is ranked);
- `"trust": {<ab>: {"documents", "sha256"}}`: `index/trust/<ab>.json` = `{"schema_version":
  2, "shard": "<ab>", "documents": {<path>: <sha256 of its bytes>}}` for every endorsement
  whose `<from>` nid, and every rotation whose `<old>` nid, has `<ab>` = `trust_shard_of(nid)`
  (a trust shard exists only when it lists a document).

Writers build these with `ranked_file`, `trust_file`, `trust_listing` and `identity_pin`;
readers check bytes against a head with `checked_identity`, `checked_ranked` and
`checked_trust` (each raises RegistryError with rule `index` when the bytes are not pinned).
"""

from __future__ import annotations

from git_elite.core import indexing, jsonstrict, layout
from git_elite.core.errors import JsonError, RegistryError
from git_elite.core.state import hasher

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    Read = Callable[[str], bytes | None]
    Names = Callable[[str], list[str]]

SCHEMA_VERSION = 2
MEMBERS = ("identity", "ranked", "trust")


def digest(data: bytes) -> str:
    return str(hasher("sha256", len(data))(data).hexdigest())


def trust_shard_of(nid: str) -> str:
    """The `<ab>` of a trust document whose `<from>`/`<old>` nid is `nid`: the first two hex
    digits of sha256(nid as ASCII)."""
    return digest(nid.encode("ascii"))[:2]


def trust_shard_of_path(path: str) -> str | None:
    """The trust shard a document path belongs to (None: not an endorsement or rotation)."""
    slot = layout.classify(path)
    if slot is None or slot.kind not in ("endorsement", "rotation"):
        return None
    return trust_shard_of(slot.from_nid)


def is_pinned(head: Any) -> bool:
    """Whether a format-2 head carries the pins (not one written before SPEC §6.2)."""
    return isinstance(head, dict) and all(isinstance(head.get(m), dict) for m in MEMBERS)


def ranked_ids(rankings: Any) -> set[str]:
    """Every agent id in any ranking of a head's `rankings`."""
    if not isinstance(rankings, dict):
        return set()
    return {a for rows in rankings.values() if isinstance(rows, list)
            for a in rows if isinstance(a, str)}


# writing ----------------------------------------------------------------------------------
def identity_pin(raw: bytes | None, identity: Mapping[str, Any] | None) -> dict[str, Any]:
    version = (identity or {}).get("version")
    return {"version": version if type(version) is int else 0,
            "sha256": digest(raw or b"")}


def ranked_value(entries: Mapping[str, Any]) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "agents": dict(sorted(entries.items()))}


def ranked_file(entries: Mapping[str, Any],
                dumps: Callable[[dict[str, Any]], bytes] = indexing.dumps
                ) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
    """(value, bytes, the head's "ranked" pin) of index/ranked.json holding `entries`
    (`dumps`: what gives the bytes of a value: indexing.dumps, or exactly its bytes had
    another way — core/audit.py's, from the verified-tree memory)."""
    value = ranked_value(entries)
    data = dumps(value)
    return value, data, {"agents": len(entries), "sha256": digest(data)}


def pinned(head: dict[str, Any], entry_of: Callable[[str], Any], identity_raw: bytes | None,
           identity: Mapping[str, Any] | None, listing: Mapping[str, Mapping[str, str]],
           dumps: Callable[[dict[str, Any]], bytes] = indexing.dumps
           ) -> dict[str, tuple[dict[str, Any], bytes]]:
    """A from-scratch build's pins: `head` (a format-2 head, changed in place) gains
    identity/ranked/trust; returns {path: (value, bytes)} of index/ranked.json and every trust
    shard. `entry_of(agent_id)` gives a ranked agent's shard entry; `listing` is
    `trust_listing`'s value."""
    files: dict[str, tuple[dict[str, Any], bytes]] = {}
    ranked = {a: entry_of(a) for a in ranked_ids(head["rankings"])}
    value, data, head["ranked"] = ranked_file(ranked, dumps)
    files[layout.RANKED] = (value, data)
    head["trust"] = {}
    for ab, docs in sorted(listing.items()):
        value, data, head["trust"][ab] = trust_file(ab, docs)
        files[layout.trust_shard_path(ab)] = (value, data)
    head["identity"] = identity_pin(identity_raw, identity)
    return files


def trust_value(ab: str, documents: Mapping[str, str]) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "shard": ab,
            "documents": dict(sorted(documents.items()))}


def trust_file(ab: str, documents: Mapping[str, str]
               ) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
    """(value, bytes, the head's pin for it) of index/trust/<ab>.json listing `documents`."""
    value = trust_value(ab, documents)
    data = indexing.dumps(value)
    return value, data, {"documents": len(documents), "sha256": digest(data)}


def trust_paths(names: Names) -> Iterable[str]:
    """Every endorsement and rotation path of a state, by its directory listings."""
    for nid in names("endorsements"):
        for name in names(f"endorsements/{nid}"):
            path = f"endorsements/{nid}/{name}"
            if trust_shard_of_path(path) is not None:
                yield path
    for nid in names("identities"):
        path = layout.rotation_path(nid)
        if trust_shard_of_path(path) is not None:
            yield path


def trust_listing(read: Read, names: Names) -> dict[str, dict[str, str]]:
    """{ab: {path: sha256}} of every trust document of a state (reads each one)."""
    out: dict[str, dict[str, str]] = {}
    for path in trust_paths(names):
        raw = read(path)
        ab = trust_shard_of_path(path)
        if raw is not None and ab is not None:
            out.setdefault(ab, {})[path] = digest(raw)
    return out


def is_trust_value(value: Any, ab: str) -> bool:
    if not isinstance(value, dict) or value.get("shard") != ab or \
            value.get("schema_version") != SCHEMA_VERSION:
        return False
    docs = value.get("documents")
    return isinstance(docs, dict) and all(
        isinstance(p, str) and trust_shard_of_path(p) == ab and isinstance(h, str)
        for p, h in docs.items())


# reading: bytes checked against a head ------------------------------------------------------
def _pinned(head: Mapping[str, Any], member: str, key: str | None, data: bytes,
            path: str) -> Any:
    pin = head.get(member)
    if isinstance(pin, dict) and key is not None:
        pin = pin.get(key)
    if not isinstance(pin, dict) or not isinstance(pin.get("sha256"), str):
        raise RegistryError(f"INDEX.json pins no {path} (SPEC §6.2)", rule="index", path=path)
    if digest(data) != pin["sha256"]:
        raise RegistryError("its bytes do not hash to INDEX.json's sha256 for it", rule="index",
                            path=path)
    try:  # strict (SPEC §3: no duplicate keys, a parser differential), at C speed
        return jsonstrict.load_large(data, name=path, max_bytes=len(data))
    except JsonError as err:
        raise RegistryError(f"not JSON ({err.message})", rule="index", path=path) from None


def checked_identity(head: Mapping[str, Any], data: bytes) -> int:
    """IDENTITY.json's bytes against the head's `identity` pin; returns the pinned version."""
    _pinned(head, "identity", None, data, layout.IDENTITY)
    version = head["identity"].get("version")
    return version if type(version) is int else 0


def checked_ranked(head: Mapping[str, Any], data: bytes) -> dict[str, Any]:
    """index/ranked.json's bytes against the head's `ranked` pin: {agent_id: entry}, and
    every agent the head ranks is there."""
    value = _pinned(head, "ranked", None, data, layout.RANKED)
    agents = value.get("agents") if isinstance(value, dict) else None
    if not isinstance(agents, dict) or set(agents) != ranked_ids(head.get("rankings")):
        raise RegistryError("does not list exactly the agents the head ranks", rule="index",
                            path=layout.RANKED)
    return agents


def checked_trust(head: Mapping[str, Any], ab: str, data: bytes) -> dict[str, str]:
    """index/trust/<ab>.json's bytes against the head's pin for it: {path: sha256}."""
    path = layout.trust_shard_path(ab)
    value = _pinned(head, "trust", ab, data, path)
    if not is_trust_value(value, ab):
        raise RegistryError(f"not the trust shard {ab}", rule="index", path=path)
    documents: dict[str, str] = value["documents"]
    return documents


def checked_document(pinned: Mapping[str, str], key: str, data: bytes, path: str) -> None:
    """A trust document's or attestation's bytes against the digest a pinned listing gives
    for it (`checked_trust`'s value keyed by path, or an entry's `attestation_sha256` keyed
    by attester nid): RegistryError (`index`) when it has none, or another."""
    want = pinned.get(key)
    if want is None:
        raise RegistryError("not pinned by INDEX.json (SPEC §6.2)", rule="index", path=path)
    if digest(data) != want:
        raise RegistryError("its bytes do not hash to the digest INDEX.json pins for it",
                            rule="index", path=path)
