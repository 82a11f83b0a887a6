"""Documents of SPEC §5: a table of bad documents of every type (each with its rule id),
good documents of every type, and signatures checked against an independent implementation
(`rfc8785` + `cryptography`)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from fixtures import generate
from git_elite.core import documents, keys

GOOD = generate.good_documents()
SMALL_ORDER_DID = keys.did_from_public(bytes(31) + b"\x80")
Body = dict[str, Any]


def resigned(name: str, change: Callable[[Body], None], signer: str | None = "alice") -> bytes:
    body = {k: v for k, v in GOOD[name].items() if k not in ("signature_ed25519", "signatures")}
    change(body)
    if signer and name == "rotation.json":
        old, new = generate.key(signer), generate.key("rotated")
        message = documents.signing_input(documents.KEY_ROTATION, body)
        body["signature_ed25519"] = keys.encode_signature(old.sign(message))
        body["to_signature"] = keys.encode_signature(new.sign(message))
    elif signer:
        body = documents.sign(body, generate.key(signer), KIND.get(name))
    return documents.to_bytes(body)


def altered(name: str, change: Callable[[Body], None]) -> bytes:
    body = dict(GOOD[name])
    change(body)
    return documents.to_bytes(body)


def setter(path: str, value: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target[part] = dict(target[part])
            target = target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return change


DELETE = object()
M, E, T, R, RI, J, A = ("manifest.json", "endorsement.json", "tombstone.json",
                       "rotation.json", "registry-identity.json", "training-job.json",
                       "attestation.json")
KIND = {M: documents.MANIFEST, J: documents.TRAINING_JOB}
BAD: dict[str, tuple[bytes, str]] = {
    "manifest-unsigned": (resigned(M, setter("created_at", 1712345678), None), "schema"),
    "manifest-forged-metric": (altered(M, setter("metrics.success_rate", 0.99)), "signature"),
    "manifest-signed-by-other": (altered(M, setter("owner_did", generate.key("bob").did)),
                                 "signature"),
    "manifest-rate-above-1": (resigned(M, setter("metrics.success_rate", 1.5)), "schema"),
    "manifest-recent-above-total": (resigned(M, setter("metrics.recent_tasks_7d", 999)),
                                    "schema"),
    "manifest-type-count-above-total": (resigned(M, setter(
        "task_type_stats", {"x": {"success_rate": 1, "count": 500}})), "schema"),
    "manifest-window-after-created": (resigned(M, setter("eval_window.to_ts", 1812345678)),
                                      "schema"),
    "manifest-small-order-owner": (altered(M, setter("owner_did", SMALL_ORDER_DID)), "schema"),
    "manifest-missing-metrics": (resigned(M, setter("metrics", DELETE)), "schema"),
    "manifest-signature-garbage": (altered(M, setter("signature_ed25519", "!" * 86)),
                                   "signature"),
    "manifest-oversize": (resigned(M, setter("padding", "x" * 70000)), "json"),
    "manifest-duplicate-key": (documents.to_bytes(GOOD[M]).replace(
        b"{\n", b'{\n  "module": "x",\n', 1), "json"),
    "endorsement-of-self": (resigned(E, setter("to", generate.key("alice").did)), "schema"),
    "endorsement-expired-before-created": (resigned(E, setter("expires_at", 1)), "schema"),
    "endorsement-unknown-field": (resigned(E, setter("extra", 1)), "schema"),
    "endorsement-forged-to": (altered(E, setter("to", generate.key("eve").did)), "signature"),
    "tombstone-bad-agent-id": (resigned(T, setter("agent_id", "ABC")), "schema"),
    "tombstone-forged-reason": (altered(T, setter("reason", "hijacked")), "signature"),
    "rotation-same-key": (resigned(R, setter("to", generate.key("alice").did)), "schema"),
    "rotation-to-signature-missing": (altered(R, setter("to_signature", DELETE)), "schema"),
    "rotation-to-signature-forged": (altered(R, setter("to_signature",
                                                       GOOD[R]["signature_ed25519"])),
                                     "signature"),
    "rotation-by-wrong-old-key": (resigned(R, lambda b: None, "mallory"), "signature"),
    "identity-owner-not-delegate": (resigned(RI, setter("delegates",
                                                       [generate.key("bob").did])), "schema"),
    "identity-threshold-too-high": (resigned(RI, setter("threshold", 2)), "schema"),
    "identity-unknown-policy-field": (resigned(RI, setter("policy.extra", True)), "schema"),
    "identity-signed-by-non-delegate": (resigned(RI, lambda b: None, "mallory"), "identity"),
    "identity-forged-name": (altered(RI, setter("name", "other")), "signature"),
    "training-job-bad-type": (resigned(J, setter("job_type", "train")), "schema"),
    "training-job-forged": (altered(J, setter("base_model", "other")), "signature"),
    "attestation-forged-metric": (altered(A, setter("metrics.success_rate", 0.99)),
                                  "signature"),
    "attestation-moved-to-other-agent": (altered(A, setter("agent_id", "ab" * 32)),
                                         "signature"),
    "attestation-signed-by-other": (altered(A, setter("attester", generate.key("bob").did)),
                                    "signature"),
    "attestation-no-metrics": (resigned(A, setter("metrics", DELETE)), "schema"),
    "attestation-no-method": (resigned(A, setter("method", DELETE)), "schema"),
    "attestation-zero-tasks": (resigned(A, setter("metrics.total_tasks", 0)), "schema"),
    "attestation-rate-above-1": (resigned(A, setter("metrics.success_rate", 1.01)), "schema"),
    "attestation-recent-above-total": (resigned(A, setter("metrics.recent_tasks_7d", 201)),
                                       "schema"),
    "attestation-type-count-above-total": (resigned(A, setter(
        "task_type_stats", {"x": {"success_rate": 1, "count": 201}})), "schema"),
    "attestation-window-after-created": (resigned(A, setter("eval_window.to_ts", 1812345678)),
                                         "schema"),
    "attestation-bad-digest": (resigned(A, setter("method.evals_sha256", "E" * 64)), "schema"),
    "attestation-unknown-field": (resigned(A, setter("extra", 1)), "schema"),
    "attestation-small-order-attester": (altered(A, setter("attester", SMALL_ORDER_DID)),
                                         "schema"),
    "attestation-revoked-not-boolean": (resigned(A, setter("revoked", "yes")), "schema"),
    "attestation-unsigned": (resigned(A, lambda b: None, None), "schema"),
}


def raw_kind(raw: bytes) -> str | None:
    """The hint a user would pass as --type: manifests and training jobs by their shape."""
    text = raw.decode(errors="replace")
    if '"job_id"' in text:
        return documents.TRAINING_JOB
    return documents.MANIFEST if '"agent_id"' in text and '"type"' not in text else None


@pytest.mark.parametrize("raw,rule", list(BAD.values()), ids=list(BAD))
def test_bad_document_fires_rule(raw: bytes, rule: str) -> None:
    kind = raw_kind(raw)
    _, problems = documents.check(raw, "doc.json", kind)
    assert problems, "accepted a bad document"
    assert rule in {p.rule for p in problems}, problems
    assert all(p.path == "doc.json" and "\n" not in p.message for p in problems)


@pytest.mark.parametrize("name", sorted(GOOD), ids=sorted(GOOD))
def test_good_documents_verify(name: str) -> None:
    doc, problems = documents.check(documents.to_bytes(GOOD[name]), name, KIND.get(name))
    assert problems == [] and doc is not None


def test_standard_base64_signature_accepted() -> None:
    body = dict(GOOD[M])
    raw = keys.decode_signature(body["signature_ed25519"])
    body["signature_ed25519"] = base64.b64encode(raw).decode()
    assert body["signature_ed25519"].endswith("==")
    assert documents.check(documents.to_bytes(body), "m.json")[1] == []


SIGNED = [n for n in sorted(GOOD) if "signature_ed25519" in GOOD[n]]


def _signer(name: str) -> str:
    body = GOOD[name]
    return str(body.get("owner_did") or body.get("attester") or body["from"])


@pytest.mark.parametrize("name", SIGNED)
def test_our_signatures_verify_independently(name: str) -> None:
    body = GOOD[name]
    unsigned = {k: v for k, v in body.items() if k not in ("signature_ed25519", "to_signature")}
    public = Ed25519PublicKey.from_public_bytes(keys.public_from_did(_signer(name)))
    sig = base64.urlsafe_b64decode(body["signature_ed25519"] + "==")
    public.verify(sig, rfc8785.dumps(unsigned))
    with pytest.raises(InvalidSignature):
        public.verify(sig, rfc8785.dumps({**unsigned, "created_at": 1}))


@pytest.mark.parametrize("name", SIGNED)
def test_independent_signatures_verify_with_ours(name: str) -> None:
    body = {k: v for k, v in GOOD[name].items() if k != "signature_ed25519"}
    if name == R:
        body.pop("to_signature")
    private = Ed25519PrivateKey.from_private_bytes(generate.SEEDS["alice"])
    sig = private.sign(rfc8785.dumps(body))
    assert keys.encode_signature(sig) == GOOD[name]["signature_ed25519"]
    if name == R:
        theirs = Ed25519PrivateKey.from_private_bytes(generate.SEEDS["rotated"])
        body["to_signature"] = keys.encode_signature(theirs.sign(rfc8785.dumps(body)))
    body["signature_ed25519"] = keys.encode_signature(sig)
    assert documents.check(documents.to_bytes(body), name, KIND.get(name))[1] == []


def test_registry_identity_signature_independent() -> None:
    body = GOOD[RI]
    unsigned = {k: v for k, v in body.items() if k != "signatures"}
    entry = body["signatures"][0]
    public = Ed25519PublicKey.from_public_bytes(keys.public_from_did(entry["did"]))
    public.verify(keys.decode_signature(entry["sig"]), rfc8785.dumps(unsigned))


def test_sign_refuses_rotation_and_foreign_signer() -> None:
    with pytest.raises(Exception, match="id rotate"):
        documents.sign(GOOD[R], generate.key("alice"))
    with pytest.raises(Exception, match="not this node"):
        documents.sign(GOOD[E], generate.key("bob"))


def test_manifest_unknown_field_named_to_is_free_form() -> None:
    """Unknown top-level manifest fields are allowed and signed (SPEC §5), whatever their name."""
    from fixtures.generate import key, manifest, profile

    body = manifest(profile())
    body["to"] = []
    signed = documents.sign(body, key("alice"))
    assert documents.check(documents.to_bytes(signed), "m.json")[1] == []


def test_attestation_revocation_needs_no_measurement() -> None:
    """A revoked attestation withdraws; it carries no numbers (schema anyOf)."""
    body = {"type": "attestation", "schema_version": 1, "agent_id": GOOD[A]["agent_id"],
            "created_at": GOOD[A]["created_at"] + 1, "revoked": True}
    signed = documents.sign(body, generate.key("bob"))
    assert signed["attester"] == generate.key("bob").did
    assert documents.check(documents.to_bytes(signed), "a.json")[1] == []
    live = documents.sign({**body, "revoked": False}, generate.key("bob"))
    problems = documents.check(documents.to_bytes(live), "a.json")[1]
    assert [p.rule for p in problems] == ["schema"]
