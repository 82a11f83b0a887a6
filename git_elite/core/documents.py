"""Documents of SPEC §5: type detection, schema and cross-field checks, signing, verification.

Shape comes from the JSON Schemas in `schemas/` (the source of truth); cross-field rules
live here. Results are lists of `Problem`s so callers can report every problem at once.
"""

from __future__ import annotations

from git_elite.core import canonical, jsonstrict, keys, schema
from git_elite.core.errors import EliteError, IdentityError, ManifestError, Problem, SignatureError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

MANIFEST = "manifest"
AGENT_CONFIG = "agent-config"
REGISTRY_IDENTITY = "registry-identity"
TOMBSTONE = "tombstone"
ENDORSEMENT = "endorsement"
KEY_ROTATION = "key-rotation"
TRAINING_JOB = "training-job"
TIMESTAMP = "timestamp"
ATTESTATION = "attestation"
TYPES = (MANIFEST, AGENT_CONFIG, REGISTRY_IDENTITY, TOMBSTONE, ENDORSEMENT, KEY_ROTATION,
         TRAINING_JOB, TIMESTAMP, ATTESTATION)
TYPED = (REGISTRY_IDENTITY, TOMBSTONE, ENDORSEMENT, KEY_ROTATION, TIMESTAMP, ATTESTATION)
# documents signed by a list of {did, sig} (SPEC §3 multi-signer)
MULTI_SIGNER = (REGISTRY_IDENTITY, TIMESTAMP)

SIGNER_FIELD = {MANIFEST: "owner_did", TOMBSTONE: "owner_did", ENDORSEMENT: "from",
                KEY_ROTATION: "from", TRAINING_JOB: "owner_did", ATTESTATION: "attester"}
# fields left out of the signing input, per type
UNSIGNED_FIELDS = {REGISTRY_IDENTITY: ("signatures",), TIMESTAMP: ("signatures",),
                   KEY_ROTATION: ("signature_ed25519", "to_signature")}
# fields holding a did:key, checked as keys (unknown manifest fields are free-form)
DID_FIELDS = {MANIFEST: ("owner_did",), TOMBSTONE: ("owner_did",), TRAINING_JOB: ("owner_did",),
              REGISTRY_IDENTITY: ("owner_did",), TIMESTAMP: ("owner_did",),
              ENDORSEMENT: ("from", "to"),
              KEY_ROTATION: ("from", "to"), ATTESTATION: ("attester",)}
MAX_BYTES = {MANIFEST: 64 * 1024, AGENT_CONFIG: 64 * 1024, REGISTRY_IDENTITY: 1024 * 1024,
             TOMBSTONE: 8 * 1024, ENDORSEMENT: 16 * 1024, KEY_ROTATION: 8 * 1024,
             TRAINING_JOB: 256 * 1024, TIMESTAMP: 64 * 1024, ATTESTATION: 64 * 1024}
ANY_MAX_BYTES = max(MAX_BYTES.values())


class Document(NamedTuple):
    """A parsed document with the exact bytes it was read from."""

    kind: str
    body: dict[str, Any]
    raw: bytes
    path: str

    @property
    def signer(self) -> str | None:
        field = SIGNER_FIELD.get(self.kind)
        value = self.body.get(field) if field else None
        return value if isinstance(value, str) else None

    @property
    def created_at(self) -> int:
        value = self.body.get("created_at")
        return value if type(value) is int else 0


def detect_type(body: dict[str, Any], hint: str | None = None) -> str:
    """The type from `type`, else from the hint, else from the shape."""
    declared = body.get("type")
    if isinstance(declared, str) and declared in TYPED:
        if hint and hint != declared:
            raise ManifestError(f"document says type {declared!r}, not {hint!r}", rule="schema")
        return declared
    if hint:
        if hint not in TYPES:
            raise ManifestError(f"unknown document type {hint!r} (one of {', '.join(TYPES)})",
                                rule="schema")
        return hint
    if "agent_id" in body and "metrics" in body:
        return MANIFEST
    if "job_id" in body and "job_type" in body:
        return TRAINING_JOB
    if "signature_schema" in body and "system_prompt_hash" in body:
        return AGENT_CONFIG
    raise ManifestError("cannot tell the document type (no `type` field; use --type)",
                        rule="schema")


def signing_input(kind: str, body: dict[str, Any]) -> bytes:
    """JCS bytes of the document without its signature field(s) (SPEC §3)."""
    drop = UNSIGNED_FIELDS.get(kind, ("signature_ed25519",))
    return canonical.canonicalize({k: v for k, v in body.items() if k not in drop})


def parse(raw: bytes, path: str, kind: str | None = None, max_bytes: int | None = None
          ) -> Document:
    """Strict JSON + type detection. Raises JsonError/ManifestError."""
    limit = max_bytes if max_bytes is not None else MAX_BYTES.get(kind or "", ANY_MAX_BYTES)
    body = jsonstrict.load_object(raw, name=path, max_bytes=limit)
    try:
        found = detect_type(body, kind)
    except EliteError as err:
        raise ManifestError(err.message, rule="schema", path=path) from None
    if kind is None and len(raw) > MAX_BYTES[found]:
        raise ManifestError(f"{len(raw)} bytes exceeds the {found} limit of {MAX_BYTES[found]}",
                            rule="json", path=path)
    return Document(found, body, raw, path)


def check_shape(doc: Document) -> list[Problem]:
    """Schema, then cross-field rules (both rule `schema`)."""
    problems = schema.validate(doc.kind, doc.body, doc.path)
    if problems:
        return problems
    return [Problem("schema", doc.path, msg) for msg in _cross_field(doc.kind, doc.body)]


def _did_ok(value: Any) -> str | None:
    try:
        keys.public_from_did(value)
    except IdentityError as err:
        return err.message
    return None


def _cross_field(kind: str, body: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for field in DID_FIELDS.get(kind, ()):
        if field in body and (msg := _did_ok(body[field])):
            out.append(f"{field}: {msg}")
    if kind == MANIFEST or (kind == ATTESTATION and "metrics" in body):
        out += _measurement(body)
    elif kind == REGISTRY_IDENTITY:
        out += _identity_fields(body)
    elif kind == ENDORSEMENT:
        if body["from"] == body["to"]:
            out.append("an endorsement of oneself means nothing")
        if "expires_at" in body and body["expires_at"] <= body["created_at"]:
            out.append("expires_at must be later than created_at")
    elif kind == KEY_ROTATION and body["from"] == body["to"]:
        out.append("a rotation must name a new key")
    elif kind == TIMESTAMP and body["expires_at"] <= body["created_at"]:
        out.append("expires_at must be later than created_at")
    return out


def _measurement(body: dict[str, Any]) -> list[str]:
    """Counts within total_tasks, eval_window before created_at (manifests, attestations)."""
    out: list[str] = []
    metrics, total = body["metrics"], body["metrics"]["total_tasks"]
    if metrics.get("recent_tasks_7d", 0) > total:
        out.append(f"metrics.recent_tasks_7d {metrics['recent_tasks_7d']} > total_tasks {total}")
    for name, stats in body.get("task_type_stats", {}).items():
        if stats["count"] > total:
            out.append(f"task_type_stats.{name}.count {stats['count']} > total_tasks {total}")
    window = body.get("eval_window", {"from_ts": 0, "to_ts": 0})
    if not window["from_ts"] <= window["to_ts"] <= body["created_at"]:
        out.append("eval_window must satisfy from_ts <= to_ts <= created_at")
    return out


def _identity_fields(body: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for did in [*body["delegates"], *body["policy"]["publishers"]]:
        if msg := _did_ok(did):
            out.append(f"{did[:60]}: {msg}")
    if body["owner_did"] not in body["delegates"]:
        out.append("owner_did must be one of the delegates")
    if body["threshold"] > len(body["delegates"]):
        out.append(f"threshold {body['threshold']} > {len(body['delegates'])} delegates")
    role = body.get("timestamp")
    if role is not None:
        for did in role["keys"]:
            if msg := _did_ok(did):
                out.append(f"timestamp.keys: {did[:60]}: {msg}")
        if role["threshold"] > len(role["keys"]):
            out.append(f"timestamp.threshold {role['threshold']} > {len(role['keys'])} keys")
    if body.get("log") is not None:  # (loaded only then: docs/scale.md, "hooks, round 6")
        from git_elite.core import logrole

        out += logrole.problems(body["log"])
    return out


def verify_signature(doc: Document) -> list[Problem]:
    """Single-signer documents: the signer's signature (and a rotation's `to_signature`)."""
    problems: list[Problem] = []
    message = signing_input(doc.kind, doc.body)
    pairs = [(SIGNER_FIELD[doc.kind], "signature_ed25519")]
    if doc.kind == KEY_ROTATION:
        pairs.append(("to", "to_signature"))
    for did_field, sig_field in pairs:
        problem = _check_one(doc, doc.body.get(did_field), doc.body.get(sig_field), sig_field,
                             message)
        if problem:
            problems.append(problem)
    return problems


def _check_one(doc: Document, did: Any, sig: Any, sig_field: str, message: bytes
               ) -> Problem | None:
    if sig is None:
        return Problem("signature", doc.path, f"unsigned: no {sig_field}")
    try:
        public = keys.public_from_did(did)
        raw = keys.decode_signature(sig)
    except EliteError as err:
        return Problem("signature", doc.path, f"{sig_field}: {err.message}")
    if not keys.verify(public, message, raw):
        return Problem("signature", doc.path,
                       f"{sig_field} does not verify for {did} (forged or altered)")
    return None


def valid_signers(doc: Document) -> tuple[set[str], list[Problem]]:
    """Multi-signer documents: dids whose signature verifies (duplicates count once)."""
    message = signing_input(doc.kind, doc.body)
    good: set[str] = set()
    problems: list[Problem] = []
    for entry in doc.body.get("signatures", []):
        did, sig = entry.get("did"), entry.get("sig")
        problem = _check_one(doc, did, sig, f"signature of {str(did)[:60]}", message)
        if problem:
            problems.append(problem)
        else:
            good.add(did)
    return good, problems


def check(raw: bytes, path: str, kind: str | None = None, max_bytes: int | None = None
          ) -> tuple[Document | None, list[Problem]]:
    """Standalone check of one document: JSON, schema, cross-field rules, signatures."""
    try:
        doc = parse(raw, path, kind, max_bytes)
    except EliteError as err:
        return None, [err.problem()]
    problems = check_shape(doc)
    if problems or doc.kind == AGENT_CONFIG:
        return doc, problems
    if doc.kind == REGISTRY_IDENTITY:
        good, problems = valid_signers(doc)
        allowed = good & set(doc.body["delegates"])
        if len(allowed) < doc.body["threshold"]:
            problems.append(Problem("identity", path, f"{len(allowed)} valid delegate "
                                    f"signature(s), threshold {doc.body['threshold']}"))
        return doc, problems
    if doc.kind == TIMESTAMP:
        # standalone: every listed signature must verify; which keys count, and how many,
        # is the registry's timestamp role (timestamp.check)
        good, problems = valid_signers(doc)
        return doc, problems
    return doc, verify_signature(doc)


def sign(body: dict[str, Any], key: keys.Keypair, kind: str | None = None) -> dict[str, Any]:
    """A signed copy of `body`: fills the signer field with key's did when absent, refuses
    when it names someone else. Key rotations are signed by both keys: use sign_rotation."""
    found = detect_type(body, kind)
    if found == AGENT_CONFIG:
        raise ManifestError("an agent config is not signed (its hash is the agent_id)")
    if found == KEY_ROTATION:
        raise ManifestError("a key rotation is signed by both keys: use `git elite id rotate`")
    out = dict(body)
    if found in MULTI_SIGNER:
        return sign_multi(out, [key], found)
    field = SIGNER_FIELD[found]
    if field not in out:
        out[field] = key.did
    elif out[field] != key.did:
        raise SignatureError(f"{field} is {str(out[field])[:80]}, not this node's {key.did}",
                             rule="signature")
    out.pop("signature_ed25519", None)
    out["signature_ed25519"] = keys.encode_signature(key.sign(signing_input(found, out)))
    return out


def sign_multi(body: dict[str, Any], signers: list[keys.Keypair],
               kind: str = REGISTRY_IDENTITY) -> dict[str, Any]:
    """Add (or replace) signatures of a multi-signer document by each of `signers`."""
    out = dict(body)
    message = signing_input(kind, out)
    mine = {k.did for k in signers}
    kept = [s for s in out.get("signatures", []) if s.get("did") not in mine]
    kept += [{"did": k.did, "sig": keys.encode_signature(k.sign(message))} for k in signers]
    out["signatures"] = kept
    return out


def sign_rotation(old: keys.Keypair, new: keys.Keypair, created_at: int) -> dict[str, Any]:
    body: dict[str, Any] = {"type": KEY_ROTATION, "schema_version": 1, "from": old.did,
                            "to": new.did, "created_at": created_at}
    message = signing_input(KEY_ROTATION, body)
    body["signature_ed25519"] = keys.encode_signature(old.sign(message))
    body["to_signature"] = keys.encode_signature(new.sign(message))
    return body


def to_bytes(body: dict[str, Any]) -> bytes:
    """How documents are written to disk: indented, key-sorted, UTF-8, trailing newline.
    Signatures are over the JCS form, so any faithful re-encoding verifies the same."""
    import json

    return (json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
