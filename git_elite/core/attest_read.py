"""The reading side of attestations: an agent's attestations at a registry's tip, verified
by the rule engine (the same rules the server ran), for `discover` and `trust explain`.
Pure: over a State.
Does not print: bad attestations come back as warning lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from git_elite.core import documents, engine, keys, layout, rules_attest
from git_elite.core.errors import EliteError
from git_elite.core.state import MemoryState, additions

MAX_ROTATIONS = 16


def attestations(source: Any, agent_id: str, pinned: Mapping[str, str] | None = None
                 ) -> tuple[list[documents.Document], list[str]]:
    """The attestations of `agent_id` at `source`'s tip that pass every rule (checked with
    the agent's files, IDENTITY.json and the rotations of the dids involved), and one
    warning line per attestation left out. `pinned`: the agent's pinned entry's
    `attestation_sha256` (SPEC §6.2), when its head carries pins: only those files are
    read (any transport), each held to its digest."""
    if source.fmt < 2:
        return [], []
    if pinned is None and source.names is None:
        return [], [f"{source.name}: attestations of {agent_id[:12]} not read (this source "
                    "cannot list directories)"]
    folder = f"{layout.agent_dir(agent_id, 2)}/{rules_attest.FOLDER}"
    try:
        names = [f"{nid}.json" for nid in sorted(pinned)] if pinned is not None else \
            source.names(folder)
        found = _files(source, [f"{folder}/{n}" for n in names])
    except EliteError as err:
        return [], [f"{source.name}: attestations of {agent_id[:12]} not read ({err.message})"]
    unpinned: list[str] = []
    if pinned is not None:
        found, unpinned = _held_to(source.name, found, pinned)
    if not found:
        return [], unpinned
    agent = _files(source, [layout.agent_path(agent_id, n)
                            for n in ("manifest.json", "profile.json")])
    dids = [_field(raw, "attester") for raw in found.values()]
    dids.append(_field(agent.get(layout.agent_path(agent_id, "manifest.json"), b""),
                       "owner_did"))
    files = {layout.IDENTITY: source.identity_raw, **agent, **found,
             **_rotations(source, [d for d in dids if d])}
    parent = MemoryState({layout.IDENTITY: source.identity_raw})
    problems = engine.check_change(parent, additions(files), MemoryState(files),
                                   check_index=False)
    bad = {p.path for p in problems}
    good = [documents.parse(raw, path, documents.ATTESTATION)
            for path, raw in sorted(found.items()) if path not in bad]
    warnings = [f"{source.name}: {p.line()} (attestation ignored)" for p in problems
                if p.path in found]
    return good, unpinned + warnings


def _held_to(name: str, found: dict[str, bytes], pinned: Mapping[str, str]
             ) -> tuple[dict[str, bytes], list[str]]:
    """The files whose bytes are the ones pinned (by attester nid), and a warning for each
    other one (a pinned file withheld shows as absent)."""
    from git_elite.core import pins

    kept: dict[str, bytes] = {}
    warnings: list[str] = []
    for nid in sorted(pinned):
        path = next((p for p in found if p.endswith(f"/{nid}.json")), None)
        try:
            if path is None:
                raise EliteError("pinned by INDEX.json but absent (withheld?)", rule="index",
                                 path=f"{rules_attest.FOLDER}/{nid}.json")
            pins.checked_document(pinned, nid, found[path], path)
        except EliteError as err:
            warnings.append(f"{name}: {err} (attestation ignored)")
            continue
        kept[path] = found[path]
    return kept, warnings


def _files(source: Any, paths: Iterable[str]) -> dict[str, bytes]:
    out = {}
    for path in paths:
        data = source.read(path)
        if data is not None:
            out[path] = data
    return out


def _field(raw: bytes, name: str) -> str | None:
    try:
        value = documents.parse(raw, "attestation", None).body.get(name)
    except EliteError:
        return None
    return value if isinstance(value, str) else None


def _rotations(source: Any, dids: list[str]) -> dict[str, bytes]:
    """identities/<nid>/rotation.json along each did's rotation chain (bounded)."""
    out: dict[str, bytes] = {}
    for did in dids:
        current = did
        for _ in range(MAX_ROTATIONS):
            try:
                path = layout.rotation_path(keys.nid_from_did(current))
            except EliteError:
                break
            raw = source.read(path)
            if raw is None or path in out:
                break
            out[path] = raw
            nxt = _field(raw, "to")
            if nxt is None:
                break
            current = nxt
    return out
