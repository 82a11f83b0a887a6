"""What a reader uses from a registry, each document chained to the head's pins (SPEC §6.2,
issue 24): the candidates of a head ranking from their pinned entries (index/ranked.json, or
the shards), endorsements and rotations through the pinned trust shards, and radicle-httpd's
answers held to the sizes the head declares. A document without its pin, or not the bytes
pinned, is left out with an `index` warning. Used by `registry_sources` (a `Source` here is
one of its Sources). Does not print.
"""

from __future__ import annotations

from git_elite.core import layout
from git_elite.core.discover import Candidate
from git_elite.core.errors import EliteError, RegistryError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Any


def candidates(source: Any, ranked: Sequence[str], task_type: str | None
                      ) -> list[Candidate]:
    """Candidates of head-ranked agents from their pinned entries (index/ranked.json, or
    the shards of a head without pins): what `check_agent` then holds each manifest to
    (its sha256 and every number), so a copy cannot show another manifest under a signed
    head (issue 24 f1). An agent the pinned files do not rank is not shown."""
    from git_elite.core import discover

    index = source.index()
    out = []
    for agent_id in ranked:
        entry = index.pinned_entry(agent_id)
        found = discover.candidate(source.name, agent_id, entry, task_type)
        if found is None:
            index.warnings.append(f"{source.name}: agent {agent_id[:12]} is ranked by "
                                  "INDEX.json but has no pinned entry that ranks it; not "
                                  "shown")
            continue
        out.append(found)
    return out


def trust_documents(source: Any, warnings: list[str]) -> Iterator[tuple[str, bytes]]:
    """A source's endorsements and rotations: through the trust shards a pinned head names
    (every transport, SPEC §6.2: a document without its pin, or not the bytes pinned, is
    dropped with an `index` warning — so a withheld revocation shows); a head without pins
    read from git: the tree (the commit pins it); over HTTP: none (nothing pins them)."""
    index = source.index()
    if index.pinned:
        return iter(pinned_documents(source, index.head, warnings))
    if source.sparse or source.names is None:
        warnings.append(f"{source.name}: endorsements not read: INDEX.json pins no trust "
                        "documents (written before SPEC §6.2; `git elite migrate` adds them)")
        return iter(())
    tree: Iterator[tuple[str, bytes]] = source.documents()
    return tree


def pinned_documents(source: Any, head: dict[str, Any], warnings: list[str]
                     ) -> list[tuple[str, bytes]]:
    from git_elite.core import pins

    listed: dict[str, str] = {}
    for ab in sorted(head.get("trust") or {}):
        path = layout.trust_shard_path(ab)
        try:
            raw = source.read(path)
            if raw is None:
                raise RegistryError("pinned by INDEX.json but absent", rule="index", path=path)
            listed.update(pins.checked_trust(head, ab, raw))
        except EliteError as err:
            if type(err).__name__ == "CacheDamaged":
                raise
            warnings.append(f"{source.name}:{err} (its documents are not used)")
    if source.prefetch is not None:
        source.prefetch(sorted(listed))
    out = []
    for path in sorted(listed):
        try:
            raw = source.read(path)
            if raw is None:
                raise RegistryError("pinned by INDEX.json but absent (withheld?)",
                                    rule="index", path=path)
            pins.checked_document(listed, path, raw, path)
        except EliteError as err:
            if type(err).__name__ == "CacheDamaged":
                raise
            warnings.append(f"{source.name}:{err}")
            continue
        out.append((path, raw))
    return out


def bounded(path: str, data: bytes, source: Any, where: str) -> bytes:
    """radicle-httpd's answer held to the limits of a sparse read (sparse.limit_for: what
    the head declares) and to the parse budget (sparse.parse_guard)."""
    from git_elite.edges import sparse

    head = source._index.head if source._index is not None else None
    limit = sparse.limit_for(path, head)
    if len(data) > limit:
        raise RegistryError(f"{where}: {path}: more than the {limit} bytes a document "
                            "there may have; not read")
    return sparse.parse_guard(path, data, f"{where}: {path}")


def check_identity(source: Any) -> None:
    """A head with pins must pin the source's IDENTITY.json (its bytes and version); any
    other one is not the identity the head was built with (`index`, the registry refused)."""
    from git_elite.core import jsonstrict, pins

    index = source.index()
    if not index.pinned:
        return
    raw = source.identity_raw
    version = pins.checked_identity(index.head, raw)
    body = jsonstrict.loads(raw, name=layout.IDENTITY, max_bytes=len(raw))
    if not isinstance(body, dict) or body.get("version") != version:
        raise RegistryError(f"INDEX.json pins IDENTITY.json version {version}, not the "
                            "version served", rule="index", path=layout.IDENTITY)
