"""The rules of attestations (SPEC §5.8), called by rules.check_slot, and the live count
that index shard entries carry. Pure.

`agents/<ab>/<agent_id>/attestations/<attester-nid>.json` (format 2 only):
- json/schema/signature: a strictly parsed attestation signed by its `attester`;
- binding: `agent_id` is the directory's and `attester` the file name's (an attestation
  copied onto another agent or under another name is refused), and the agent has a manifest;
- deletion: never deleted (a later version with "revoked": true withdraws it); an agent
  withdrawn by a tombstone takes no attestation;
- ownership: the attester is not the agent's owner nor the same holder through a key
  rotation (either way), and a rotated key signs nothing;
- rollback: a later version needs a greater created_at (and the clock-skew bound);
- policy: an allowlist registry takes attestations only from its publishers; the size is
  bounded by the registry's max_manifest_bytes.
"""

from __future__ import annotations

from git_elite.core import documents
from git_elite.core.errors import EliteError
from git_elite.core.state import Change, hasher

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

FOLDER = "attestations"
LIMIT = documents.MAX_BYTES[documents.ATTESTATION]


def check(ctx: Any, agent_id: str, nid: str, change: Change) -> None:
    """Every problem of one changed attestation file (ctx: context.Context)."""
    path = change.path
    if change.new is None:
        ctx.add("deletion", path, "an attestation is withdrawn by a later version with "
                "\"revoked\": true, never deleted")
        return
    _size(ctx, path, change.new)
    doc = ctx.load(change, documents.ATTESTATION, LIMIT)
    if doc is None:
        return
    ctx.signed(doc)
    body = doc.body
    if body["agent_id"] != agent_id:
        ctx.add("binding", path, f"agent_id {body['agent_id'][:16]}… is not the directory's "
                f"{agent_id[:16]}… (an attestation of another agent)")
    if body["attester"] != "did:key:" + nid:
        ctx.add("binding", path, f"attester is {body['attester']}, but the path names "
                f"did:key:{nid}")
    ctx.not_rotated(body["attester"], path)
    owner = _live_owner(ctx, agent_id, path)
    if owner is not None:
        _not_owner(ctx, body["attester"], owner, path)
    _newer(ctx, change, doc)
    policy = ctx.policy
    if policy.get("publish") == "allowlist" and body["attester"] not in policy["publishers"]:
        ctx.add("policy", path, f"{body['attester']} is not on this registry's publisher "
                "allowlist")


def _size(ctx: Any, path: str, data: bytes) -> None:
    limit = min(LIMIT, int(ctx.policy.get("max_manifest_bytes", LIMIT)))
    if LIMIT >= len(data) > limit:
        ctx.add("policy", path, f"{len(data)} bytes exceeds this registry's "
                f"max_manifest_bytes {limit}")


def _live_owner(ctx: Any, agent_id: str, path: str) -> str | None:
    """The owner of the agent in the new state; a problem when it is absent or withdrawn."""
    if ctx.new.read(ctx.agent_path(agent_id, "tombstone.json")) is not None:
        ctx.add("deletion", path, f"agent {agent_id[:12]} was withdrawn by a tombstone; it "
                "takes no attestation")
        return None
    manifest = ctx.quiet(ctx.new, ctx.agent_path(agent_id, "manifest.json"),
                         documents.MANIFEST)
    if manifest is None:
        ctx.add("binding", path, f"there is no agent {agent_id[:12]} in this registry to "
                "attest")
        return None
    owner = manifest.body.get("owner_did")
    return owner if isinstance(owner, str) else None


def _not_owner(ctx: Any, attester: str, owner: str, path: str) -> None:
    """Self-attestation: the owner, or the same holder through a rotation either way."""
    mine, mine_passed = ctx.successor(attester)
    theirs, theirs_passed = ctx.successor(owner)
    if attester == owner or mine == theirs or attester in theirs_passed \
            or owner in mine_passed:
        ctx.add("ownership", path, f"{attester} owns the agent (or holds the owner's rotated "
                "key): an attestation is someone else's measurement, never the owner's own")


def _newer(ctx: Any, change: Change, doc: documents.Document) -> None:
    if change.old is None:
        return
    try:
        old = documents.parse(change.old, change.path, documents.ATTESTATION)
    except EliteError:
        return
    if doc.created_at <= old.created_at:
        ctx.add("rollback", change.path, f"created_at {doc.created_at} is not later than the "
                f"previous version's {old.created_at} (replay or rollback)")


def live_count(read: Callable[[str], bytes | None], names: Callable[[str], list[str]],
               agent_dir: str) -> int:
    """How many attestations of the agent at `agent_dir` are live (not revoked): what its
    index shard entry carries as "attestations" (`read`/`names`: a state's)."""
    return len(live(read, names, agent_dir))


def live(read: Callable[[str], bytes | None], names: Callable[[str], list[str]],
         agent_dir: str) -> dict[str, str]:
    """{attester nid: sha256 of the file's bytes} of the live (not revoked) attestations of
    the agent at `agent_dir`: its shard entry's `attestation_sha256` (SPEC §6.2)."""
    out: dict[str, str] = {}
    folder = f"{agent_dir}/{FOLDER}"
    for name in names(folder):
        raw = read(f"{folder}/{name}")
        if raw is None or not name.endswith(".json"):
            continue
        try:
            doc = documents.parse(raw, f"{folder}/{name}", documents.ATTESTATION, LIMIT)
        except EliteError:
            continue
        if doc.body.get("revoked") is False:
            out[name[:-len(".json")]] = hasher("sha256", len(raw))(raw).hexdigest()
    return out
