"""A format-1 registry with history (the layout of the first release, SPEC §4), built with
real commits and no hooks, to test that format 1 stays readable and migrates."""

from __future__ import annotations

from pathlib import Path

from git_elite.core import documents, layout
from tests.conftest import git
from tests.helpers_registry import (
    T0,
    agent_id_of,
    commit_raw,
    endorsement,
    identity,
    manifest,
    nid,
    profile,
    rotation,
    tombstone,
)

ATTRIBUTES_V1 = b"*.json -text\nINDEX.json merge=elite-index\n"


def doc(body: dict[str, object]) -> bytes:
    return documents.to_bytes(body)


def v1_agent(owner: str, n: int, **kw: object) -> dict[str, bytes | None]:
    config = profile(n)
    body = manifest(owner, config, **kw)  # type: ignore[arg-type]
    return {layout.agent_path(body["agent_id"], "manifest.json", 1): doc(body),
            layout.agent_path(body["agent_id"], "profile.json", 1): doc(config)}


def build(work: Path) -> dict[str, str]:
    """A format-1 registry in `work` with history: two agents, an update, an endorsement, a
    key rotation (alice -> carol) and a tombstone. Returns {step name: commit id}."""
    git("init", "-q", str(work))
    steps = {}
    steps["create"] = commit_raw(work, {
        layout.IDENTITY: doc(identity("server", fmt=1)),
        layout.GITATTRIBUTES_PATH: ATTRIBUTES_V1}, "create", index=True)
    steps["publish"] = commit_raw(work, {**v1_agent("alice", 1), **v1_agent("bob", 2)},
                                  "two agents", index=True)
    steps["update"] = commit_raw(work, v1_agent("alice", 1, created_at=T0 + 5), "update",
                                 index=True)
    steps["endorse"] = commit_raw(work, {layout.endorsement_path(nid("bob"), nid("alice")):
                                         doc(endorsement("bob", "alice"))}, "endorse",
                                  index=True)
    steps["rotate"] = commit_raw(work, {layout.rotation_path(nid("alice")):
                                        doc(rotation("alice", "carol"))}, "rotate", index=True)
    bob = agent_id_of(profile(2))
    steps["withdraw"] = commit_raw(work, {
        layout.agent_path(bob, "tombstone.json", 1): doc(tombstone("bob", bob)),
        layout.agent_path(bob, "manifest.json", 1): None}, "withdraw", index=True)
    steps["update-rotated"] = commit_raw(work, v1_agent("carol", 1, created_at=T0 + 200),
                                         "update by the rotated key", index=True)
    return steps
