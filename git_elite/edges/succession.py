"""Finishing a key rotation (docs/spec.md §5.6): the statements `git elite id rotate` kept in
$AGENTD_HOME/rotations/, the registry item that publishes one
(`identities/<old-nid>/rotation.json`), and a local manifest of an old key re-signed by its
successor so `publish` can update it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from git_elite.core import documents, keys, layout
from git_elite.edges import store
from git_elite.edges.publish import Item, LocalAgent


def local_rotations(home: Path | None = None) -> dict[str, bytes]:
    """from-did -> the verified rotation statement (bytes) in $AGENTD_HOME/rotations/."""
    folder = (home or store.home()) / "rotations"
    found: dict[str, bytes] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        raw = store.read_bytes(path)
        doc, problems = documents.check(raw, str(path), documents.KEY_ROTATION)
        if doc is not None and not problems:
            found[str(doc.body["from"])] = raw
    return found


def chain(owner: str, me: str, rotations: dict[str, bytes]) -> list[bytes] | None:
    """The statements that lead from `owner` to `me` (oldest first), or None."""
    steps: list[bytes] = []
    current = owner
    while current != me:
        raw = rotations.get(current)
        if raw is None or len(steps) > len(rotations):
            return None
        steps.append(raw)
        current = str(json.loads(raw)["to"])
    return steps


def rotation_item(raw: bytes) -> Item:
    """identities/<old-nid>/rotation.json as a publish item."""
    old = str(json.loads(raw)["from"])
    path = layout.rotation_path(keys.nid_from_did(old))
    return Item(path, {path: raw})


def adopt(agent: LocalAgent, key: keys.Keypair, now: int) -> LocalAgent:
    """The old key's manifest, owned and signed by its successor `key` (a later created_at)."""
    body = {k: v for k, v in agent.body.items() if k != "signature_ed25519"}
    body.update(owner_did=key.did, created_at=max(now, int(agent.body["created_at"]) + 1))
    signed = documents.sign(body, key, documents.MANIFEST)
    return replace(agent, manifest=documents.to_bytes(signed), body=signed)
