"""The per-path rules of SPEC §7, called by engine.check_change. Pure."""

from __future__ import annotations

from git_elite.core import canonical, documents, jsonstrict, layout, rules_attest
from git_elite.core.context import MANIFEST_LIMIT, Context
from git_elite.core.documents import Document
from git_elite.core.errors import EliteError
from git_elite.core.layout import Slot
from git_elite.core.state import Change, hasher

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEMOS_LIMIT = 1024 * 1024
EXTRA_LIMIT = 256 * 1024  # prompt.md, demos.json (SPEC §3), unless policy says otherwise


def check_slot(ctx: Context, slot: Slot, change: Change) -> None:
    """IDENTITY.json, INDEX.json, free files, endorsements, rotations."""
    if slot.kind == "identity":
        _identity(ctx, change)
    elif slot.kind == "endorsement":
        _endorsement(ctx, slot, change)
    elif slot.kind == "rotation":
        _rotation(ctx, slot, change)
    elif slot.kind == "attestation":
        rules_attest.check(ctx, slot.agent_id, slot.from_nid, change)
    elif slot.kind == "free" and change.new is not None and len(change.new) > layout.FREE_LIMIT:
        ctx.add("json", change.path, f"{len(change.new)} bytes exceeds the limit of "
                f"{layout.FREE_LIMIT} for a free file")
    elif slot.path == layout.GITATTRIBUTES_PATH:
        attributes(ctx, change.new)


def attributes(ctx: Context, data: bytes | None) -> None:
    """.gitattributes keeps the lines SPEC §4 requires and converts nothing (`layout`)."""
    from git_elite.core import gitattributes

    for message in gitattributes.problems(data, ctx.fmt):
        ctx.add("layout", layout.GITATTRIBUTES_PATH, message)


# IDENTITY.json (SPEC §5.3) ---------------------------------------------------------------
def _identity(ctx: Context, change: Change) -> None:
    path = change.path
    if change.new is None:
        ctx.add("identity", path, "IDENTITY.json cannot be deleted")
        return
    doc = ctx.load(change, documents.REGISTRY_IDENTITY)
    if doc is None:
        return
    good, bad = documents.valid_signers(doc)
    ctx.problems.extend(bad)
    old = ctx.parent_identity
    body = doc.body
    if old is None and ctx.parent.read(path) is not None:
        ctx.add("identity", path, "the parent's IDENTITY.json is not a valid registry "
                "identity, so no change to it can be checked against its delegates")
        return
    if old is not None:
        if body["version"] != old["version"] + 1:
            ctx.add("identity", path, f"version {body['version']} must be the previous "
                    f"version {old['version']} + 1")
        _threshold(ctx, good, old, "previous", path)
    _threshold(ctx, good, body, "new", path)


def _threshold(ctx: Context, good: set[str], identity: dict[str, Any], which: str, path: str
               ) -> None:
    count = len(good & set(identity["delegates"]))
    if count < identity["threshold"]:
        ctx.add("identity", path, f"{count} valid signature(s) by delegates of the {which} "
                f"version, threshold {identity['threshold']}")


# endorsements and rotations (SPEC §5.5, §5.6) --------------------------------------------
def _endorsement(ctx: Context, slot: Slot, change: Change) -> None:
    if change.new is None:
        ctx.add("deletion", change.path, "an endorsement is withdrawn by a later one with "
                "\"revoked\": true, never deleted")
        return
    doc = ctx.load(change, documents.ENDORSEMENT)
    if doc is None:
        return
    ctx.signed(doc)
    _path_did(ctx, doc, "from", slot.from_nid)
    _path_did(ctx, doc, "to", slot.to_nid)
    ctx.not_rotated(doc.body["from"], change.path)
    _newer(ctx, change, doc, documents.ENDORSEMENT)


def _rotation(ctx: Context, slot: Slot, change: Change) -> None:
    if change.new is None:
        ctx.add("deletion", change.path, "a key rotation is final; it cannot be deleted")
        return
    if change.old is not None:
        ctx.add("ownership", change.path, "a key rotation is final; it cannot be replaced")
    doc = ctx.load(change, documents.KEY_ROTATION)
    if doc is None:
        return
    ctx.signed(doc)
    _path_did(ctx, doc, "from", slot.from_nid)


def _path_did(ctx: Context, doc: Document, field: str, nid: str) -> None:
    if doc.body[field] != "did:key:" + nid:
        ctx.add("binding", doc.path, f"{field} is {doc.body[field]}, but the path names "
                f"did:key:{nid}")


def _newer(ctx: Context, change: Change, doc: Document, kind: str) -> bool:
    """Rollback: created_at strictly greater than the version it replaces."""
    if change.old is None:
        return True
    try:
        old = documents.parse(change.old, change.path, kind)
    except EliteError:
        return True
    if doc.created_at <= old.created_at:
        ctx.add("rollback", change.path, f"created_at {doc.created_at} is not later than the "
                f"previous version's {old.created_at} (replay or rollback)")
        return False
    return True


# agents/<agent_id>/ ------------------------------------------------------------------------
def check_agent(ctx: Context, agent_id: str, files: dict[str, Change]) -> None:
    tomb_path = ctx.agent_path(agent_id, "tombstone.json")
    tombstoned_before = ctx.parent.read(tomb_path) is not None
    tombstoned_now = ctx.new.read(tomb_path) is not None
    manifest_now = ctx.new.read(ctx.agent_path(agent_id, "manifest.json")) is not None
    for name, change in sorted(files.items()):
        if tombstoned_before:  # a withdrawn agent's directory is frozen (SPEC §6.2)
            ctx.add("deletion", change.path, f"agent {agent_id[:12]} was withdrawn by a "
                    "tombstone; its directory is frozen (tombstones are final)")
        elif change.new is None:
            _deleted(ctx, name, change, files, tombstoned_now)
    if tombstoned_before:
        return
    manifest = None
    if "manifest.json" in files and files["manifest.json"].new is not None:
        manifest = _manifest(ctx, agent_id, files["manifest.json"])
    elif manifest_now and any(c.new is not None for c in files.values()):
        quiet = ctx.quiet(ctx.new, ctx.agent_path(agent_id, "manifest.json"),
                          documents.MANIFEST)
        manifest = quiet.body if quiet else None
    if manifest is not None or (files.keys() - {"manifest.json", "tombstone.json"}):
        _bound_files(ctx, agent_id, manifest, files)
    if "tombstone.json" in files and files["tombstone.json"].new is not None:
        _tombstone(ctx, agent_id, files["tombstone.json"], manifest_now)
    if not manifest_now and not tombstoned_now and any(c.new for c in files.values()):
        ctx.add("binding", layout.agent_dir(agent_id, ctx.fmt) + "/", "an agent directory "
                "needs manifest.json")


def _deleted(ctx: Context, name: str, change: Change, files: dict[str, Change],
             tombstoned_now: bool) -> None:
    added_tombstone = "tombstone.json" in files and files["tombstone.json"].new is not None
    if name == "manifest.json" and added_tombstone:
        return
    if name in ("profile.json", "prompt.md", "demos.json") and (
            tombstoned_now or ("manifest.json" in files and files["manifest.json"].new)):
        return
    ctx.add("deletion", change.path, f"{name} may only be removed by a signed tombstone "
            "(git elite unpublish)")


def _manifest(ctx: Context, agent_id: str, change: Change) -> dict[str, Any] | None:
    assert change.new is not None
    limit = min(MANIFEST_LIMIT, int(ctx.policy.get("max_manifest_bytes", MANIFEST_LIMIT)))
    if MANIFEST_LIMIT >= len(change.new) > limit:
        ctx.add("policy", change.path, f"{len(change.new)} bytes exceeds this registry's "
                f"max_manifest_bytes {limit}")
    doc = ctx.load(change, documents.MANIFEST, MANIFEST_LIMIT)
    if doc is None:
        return None
    body = doc.body
    ctx.signed(doc)
    if body["agent_id"] != agent_id:
        ctx.add("binding", change.path, f"agent_id {body['agent_id'][:16]}… is not the "
                f"directory's {agent_id[:16]}…")
    old = ctx.quiet(ctx.parent, change.path, documents.MANIFEST)
    if old is not None:
        ctx.may_sign(body["owner_did"], str(old.body.get("owner_did")),
                     f"agent {agent_id[:12]}", change.path)
        if _newer(ctx, change, doc, documents.MANIFEST):
            _window(ctx, change.path, body, old.body)
    else:
        ctx.not_rotated(body["owner_did"], change.path)
    _policy(ctx, change.path, body)
    return body


def _window(ctx: Context, path: str, body: dict[str, Any], old: dict[str, Any]) -> None:
    window = old.get("eval_window")
    before = window.get("to_ts") if isinstance(window, dict) else None
    if type(before) is not int:  # a parent manifest that is not one in shape: no bound
        return
    if body["eval_window"]["to_ts"] < before:
        ctx.add("rollback", path, f"eval_window.to_ts {body['eval_window']['to_ts']} is "
                f"earlier than the previous version's {before}")


def _policy(ctx: Context, path: str, body: dict[str, Any]) -> None:
    policy = ctx.policy
    if policy.get("publish") == "allowlist" and body["owner_did"] not in policy["publishers"]:
        ctx.add("policy", path, f"{body['owner_did']} is not on this registry's publisher "
                "allowlist")
    metrics = body["metrics"]
    if metrics["total_tasks"] < policy.get("min_total_tasks", 0):
        ctx.add("policy", path, f"total_tasks {metrics['total_tasks']} is below this "
                f"registry's min_total_tasks {policy['min_total_tasks']}")
    if metrics["success_rate"] < policy.get("min_success_rate", 0):
        ctx.add("policy", path, f"success_rate {metrics['success_rate']} is below this "
                f"registry's min_success_rate {policy['min_success_rate']}")


def _bound_files(ctx: Context, agent_id: str, manifest: dict[str, Any] | None,
                 files: dict[str, Change]) -> None:
    """profile.json hashes to agent_id and agrees with the manifest; prompt/demos hashes."""
    path = ctx.agent_path(agent_id, "profile.json")
    raw = ctx.new.read(path)
    if raw is None:
        if manifest is not None and agent_id not in ctx.unfetched_profiles:
            ctx.add("binding", path, "missing: the manifest's agent config (its hash is the "
                    "agent_id)")
    else:
        _profile(ctx, agent_id, path, raw, manifest, "profile.json" in files)
    if manifest is None:
        return
    for name, field in (("prompt.md", "system_prompt_fingerprint"),
                        ("demos.json", "demos_fingerprint")):
        file_path = ctx.agent_path(agent_id, name)
        data = ctx.new.read(file_path)
        if data is None or _too_big(ctx, name, file_path, data):
            continue
        if name == "demos.json" and _bad_json(ctx, file_path, data):
            continue
        digest = "sha256:" + hasher("sha256", len(data))(data).hexdigest()
        if digest != manifest.get(field):
            ctx.add("binding", file_path, f"sha256 is {digest[:20]}…, not the manifest's "
                    f"{field}")


def _too_big(ctx: Context, name: str, path: str, data: bytes) -> bool:
    """prompt.md / demos.json: at most EXTRA_LIMIT bytes unless the parent's IDENTITY policy
    sets max_prompt_bytes / max_demos_bytes (SPEC §3)."""
    field = "max_prompt_bytes" if name == "prompt.md" else "max_demos_bytes"
    limit = ctx.policy.get(field, EXTRA_LIMIT)
    if len(data) <= limit:
        return False
    ctx.add("json", path, f"{len(data)} bytes exceeds the limit of {limit} bytes for {name} "
            f"(IDENTITY policy {field})")
    return True


def _bad_json(ctx: Context, path: str, data: bytes) -> bool:
    try:
        jsonstrict.loads(data, name=path, max_bytes=DEMOS_LIMIT)
    except EliteError as err:
        ctx.problems.append(err.problem())
        return True
    return False


def _profile(ctx: Context, agent_id: str, path: str, raw: bytes,
             manifest: dict[str, Any] | None, changed: bool) -> None:
    try:
        doc = documents.parse(raw, path, documents.AGENT_CONFIG)
    except EliteError as err:
        ctx.problems.append(err.problem())
        return
    shape = documents.check_shape(doc)
    if shape:
        ctx.problems.extend(shape if changed else [])
        return
    body = canonical.canonicalize(doc.body)
    digest = hasher("sha256", len(body))(body).hexdigest()
    if digest != agent_id:
        ctx.add("binding", path, f"sha256(JCS(profile.json)) is {digest[:16]}…, not the "
                f"agent_id {agent_id[:16]}…")
    if manifest is None:
        return
    pairs = (("signature", "signature"), ("module", "module"), ("profile", "profile"),
             ("system_prompt_fingerprint", "system_prompt_hash"),
             ("demos_fingerprint", "demos_hash"))
    for mine, theirs in pairs:
        if manifest.get(mine) != doc.body.get(theirs):
            ctx.add("binding", ctx.agent_path(agent_id, "manifest.json"),
                    f"{mine} differs from profile.json's {theirs}")


def _tombstone(ctx: Context, agent_id: str, change: Change, manifest_now: bool) -> None:
    doc = ctx.load(change, documents.TOMBSTONE)
    if doc is None:
        return
    ctx.signed(doc)
    if doc.body["agent_id"] != agent_id:
        ctx.add("binding", change.path, "agent_id is not the directory's")
    if manifest_now:
        ctx.add("deletion", change.path, "a tombstone replaces manifest.json; remove the "
                "manifest in the same commit")
    old = ctx.quiet(ctx.parent, ctx.agent_path(agent_id, "manifest.json"),
                    documents.MANIFEST)
    if old is None:
        if ctx.parent.read(layout.IDENTITY) is not None:  # not a whole-tree audit (verify)
            ctx.add("deletion", change.path, f"there is no manifest of agent {agent_id[:12]} "
                    "to withdraw")
        return
    ctx.may_sign(doc.body["owner_did"], str(old.body.get("owner_did")),
                 f"agent {agent_id[:12]}", change.path)
    if doc.created_at <= old.created_at:
        ctx.add("rollback", change.path, f"created_at {doc.created_at} is not later than the "
                f"manifest's {old.created_at}")
