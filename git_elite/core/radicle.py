"""Radicle formats and the checks of SPEC §11, over bytes (pure: the storage is read by
edges/gitrad.py).

Formats, checked against heartwood's source (crates/radicle/src/identity/doc/id.rs,
identity/doc.rs, storage/refs.rs) and its golden outputs:

- RID: `rad:` + multibase base58btc (`z`) of the raw 20-byte git blob id of the *initial*
  identity document; no multicodec prefix (`RepoId::canonical`).
- identity document: canonical JSON `{delegates, payload, threshold}` at
  `embeds/radicle.json` in each commit of `refs/rad/id`.
- sigrefs: a commit at `refs/namespaces/<nid>/refs/rad/sigrefs` whose tree holds `refs`
  (lines `<oid> <refname>\\n`, sorted) and `signature` (raw 64-byte Ed25519 by the NID over
  the bytes of `refs`). Zero oids are skipped when reading, as heartwood does.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from git_elite.core import jsonstrict, keys
from git_elite.core.errors import IdentityError, JsonError, Problem

RAD_PREFIX = "rad:"
PROJECT_PAYLOAD = "xyz.radicle.project"
IDENTITY_REF = "refs/rad/id"
IDENTITY_ROOT_REF = "refs/rad/root"
SIGREFS_REF = "refs/rad/sigrefs"
SIGREFS_PARENT_REF = "refs/rad/sigrefs-parent"
DOC_PATH = "embeds/radicle.json"
MAX_DOC_BYTES = 1 << 20
_ZERO_OID = "0" * 40
_RID_BODY = re.compile(r"z[1-9A-HJ-NP-Za-km-z]+")
# a RID is 20 bytes, 27 or 28 digits: a longer text is refused before the quadratic decode
RID_DIGITS_MAX = 40
_OID = re.compile(r"[0-9a-f]{40}")


# --- identifiers -------------------------------------------------------------------------

def rid_bytes(text: str) -> bytes:
    """The 20 bytes of `rad:z…` (or bare `z…`); IdentityError when it is not a RID."""
    body = text[len(RAD_PREFIX):] if text.startswith(RAD_PREFIX) else text
    if len(body) > RID_DIGITS_MAX or not _RID_BODY.fullmatch(body):
        raise IdentityError(f"{text[:80]!r} is not a Radicle RID (rad:z… base58btc)")
    raw = keys.b58decode(body[1:])
    if len(raw) != 20 or keys.b58encode(raw) != body[1:]:
        raise IdentityError(f"{text[:80]!r} does not encode a 20-byte git object id")
    return bytes(raw)


def rid_from_bytes(oid: bytes) -> str:
    if len(oid) != 20:
        raise IdentityError(f"a RID encodes 20 bytes, not {len(oid)}")
    return RAD_PREFIX + "z" + keys.b58encode(oid)


def canonical_rid(text: str) -> str:
    """`rad:z…` for either spelling (with or without `rad:`)."""
    return rid_from_bytes(rid_bytes(text))


def blob_oid(data: bytes) -> str:
    """The git (SHA-1) blob id of `data`, as `git hash-object` prints it."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def rid_of_document(raw: bytes) -> str:
    """The RID a repository gets when `raw` is its initial identity document."""
    return rid_from_bytes(bytes.fromhex(blob_oid(raw)))


@dataclass(frozen=True)
class RadUrl:
    """`rad://<z-rid>[/<nid>]`: `rid` is `rad:z…`; `nid` (`z6Mk…`) names a peer namespace."""

    rid: str
    nid: str | None = None

    @property
    def z_rid(self) -> str:
        return self.rid[len(RAD_PREFIX):]

    def __str__(self) -> str:
        return f"rad://{self.z_rid}" + (f"/{self.nid}" if self.nid else "")


def is_rad_url(url: str) -> bool:
    return url.startswith("rad://") or url.startswith(RAD_PREFIX + "z")


def parse_url(url: str) -> RadUrl:
    """Parse `rad://<z-rid>[/<nid>]` (also a bare `rad:z…`); IdentityError otherwise."""
    if url.startswith("rad://"):
        parts = url[len("rad://"):].rstrip("/").split("/")
    elif url.startswith(RAD_PREFIX):
        parts = [url[len(RAD_PREFIX):]]
    else:
        raise IdentityError(f"{url[:80]!r} is not a rad:// URL")
    if not 1 <= len(parts) <= 2:
        raise IdentityError(f"{url[:80]!r}: expected rad://<rid>[/<nid>]")
    rid = canonical_rid(parts[0])
    nid = parts[1] if len(parts) == 2 else None
    if nid is not None:
        keys.did_from_nid(nid)
    return RadUrl(rid, nid)


# --- identity document -------------------------------------------------------------------

@dataclass(frozen=True)
class IdentityDoc:
    delegates: tuple[str, ...]
    threshold: int
    name: str
    description: str
    default_branch: str
    raw: bytes = field(repr=False)

    @classmethod
    def from_bytes(cls, raw: bytes, name: str = DOC_PATH) -> IdentityDoc:
        body = jsonstrict.load_object(raw, name=name, max_bytes=MAX_DOC_BYTES)
        delegates, threshold = body.get("delegates"), body.get("threshold")
        if not isinstance(delegates, list) or not delegates or \
                not all(isinstance(d, str) for d in delegates):
            raise IdentityError(f"{name}: `delegates` must be a non-empty list of did:key")
        for did in delegates:
            keys.public_from_did(did)
        if not isinstance(threshold, int) or not 1 <= threshold <= len(delegates):
            raise IdentityError(f"{name}: `threshold` must be 1..{len(delegates)}")
        payload = body.get("payload")
        project = payload.get(PROJECT_PAYLOAD) if isinstance(payload, dict) else None
        if not isinstance(project, dict):
            raise IdentityError(f"{name}: no {PROJECT_PAYLOAD} payload")
        fields = [project.get(k) for k in ("name", "description", "defaultBranch")]
        if not all(isinstance(v, str) for v in fields):
            raise IdentityError(f"{name}: project name, description, defaultBranch must be text")
        return cls(tuple(delegates), threshold, str(fields[0]), str(fields[1]),
                   str(fields[2]), raw)


# --- signed refs -------------------------------------------------------------------------

def parse_refs(blob: bytes) -> dict[str, str]:
    """`refs` blob → {refname: oid}; zero oids skipped (as heartwood's `from_canonical`)."""
    refs: dict[str, str] = {}
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        raise IdentityError("sigrefs `refs` blob is not UTF-8") from None
    for number, line in enumerate(text.splitlines(), start=1):
        oid, sep, name = line.partition(" ")
        if not sep or not _OID.fullmatch(oid) or not name.startswith("refs/"):
            raise IdentityError(f"sigrefs `refs` line {number} is not `<oid> <refname>`")
        if oid != _ZERO_OID:
            refs[name] = oid
    return refs


def canonical_refs(refs: Mapping[str, str]) -> bytes:
    """The bytes a node signs: one `<oid> <refname>\\n` per ref, sorted by name."""
    return "".join(f"{refs[name]} {name}\n" for name in sorted(refs)).encode()


@dataclass(frozen=True)
class Sigrefs:
    """One namespace's `refs/rad/sigrefs` commit, as read from storage."""

    nid: str
    commit: str
    parent: str | None
    refs_blob: bytes = field(repr=False)
    signature: bytes = field(repr=False)


@dataclass(frozen=True)
class StorageView:
    """What the checks need from a storage repository (read by `gitrad.rad_storage_view`)."""

    root_commit: str | None
    root_doc: bytes | None = field(repr=False)
    current_doc: bytes | None = field(repr=False)
    sigrefs: Mapping[str, Sigrefs | None] = field(default_factory=dict)


# --- result ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RadicleCheck:
    """What could and could not be checked against Radicle storage.

    `checked` is False when nothing could be checked (no storage); then `ok` is False too
    and `notes` says why. `problems` are failures; `notes` are facts worth showing.
    """

    rid: str
    checked: bool
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    delegates: tuple[str, ...] = ()
    threshold: int = 0
    branch: str | None = None
    signed_tip: str | None = None
    signed_by: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.checked and not self.problems

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(p.line() for p in self.problems) + self.notes

    @classmethod
    def unchecked(cls, rid: str, reason: str) -> RadicleCheck:
        return cls(rid, False, notes=(f"Radicle checks not made: {reason}",))


# --- the checks of SPEC §11 --------------------------------------------------------------

def _problem(rule: str, path: str, message: str) -> Problem:
    return Problem(rule, path, message)


def check_identity(rid: str, view: StorageView) -> tuple[IdentityDoc | None, list[Problem]]:
    """The root document hashes to the RID; the current document parses."""
    if view.root_commit is None or view.root_doc is None:
        return None, [_problem("identity", IDENTITY_REF,
                               f"no identity root with {DOC_PATH} in the storage of {rid}")]
    problems = []
    if blob_oid(view.root_doc) != rid_bytes(rid).hex():
        problems.append(_problem("identity", IDENTITY_REF, (
            f"root identity document {blob_oid(view.root_doc)[:12]} (commit "
            f"{view.root_commit[:12]}) does not hash to {rid}")))
    try:
        doc = IdentityDoc.from_bytes(view.current_doc or view.root_doc,
                                     f"{IDENTITY_REF}:{DOC_PATH}")
    except (IdentityError, JsonError) as err:
        return None, [*problems, _problem("identity", IDENTITY_REF, err.message)]
    return doc, problems


def signed_head(sig: Sigrefs, root_commit: str, branch: str) -> tuple[str | None, list[Problem]]:
    """The tip of `branch` that `sig.nid` signed, after checking the sigrefs rules."""
    path = f"refs/namespaces/{sig.nid}/{SIGREFS_REF}"
    if not keys.verify(keys.public_from_did(keys.did_from_nid(sig.nid)), sig.refs_blob,
                       sig.signature):
        return None, [_problem("signature", path,
                               f"signature of {sig.commit[:12]} does not verify with {sig.nid}")]
    try:
        refs = parse_refs(sig.refs_blob)
    except IdentityError as err:
        return None, [_problem("signature", path, err.message)]
    problems = []
    root = refs.get(IDENTITY_ROOT_REF)
    if root is not None and root != root_commit:
        problems.append(_problem("identity", path, (
            f"signed {IDENTITY_ROOT_REF} {root[:12]} is not the identity root "
            f"{root_commit[:12]}")))
    parent = refs.get(SIGREFS_PARENT_REF)
    if parent is not None and parent != sig.parent:
        problems.append(_problem("signature", path, (
            f"signed {SIGREFS_PARENT_REF} {parent[:12]} is not the parent "
            f"{(sig.parent or 'none')[:12]} of {sig.commit[:12]}")))
    return (None if problems else refs.get(f"refs/heads/{branch}")), problems


def check(rid: str, view: StorageView, owner_did: str, branch: str | None,
          tip: str) -> RadicleCheck:
    """SPEC §11 over a storage view: RID binding, owner is a delegate, `tip` is signed."""
    doc, problems = check_identity(rid, view)
    if doc is None or view.root_commit is None:
        return RadicleCheck(rid, True, tuple(problems))
    branch = branch or doc.default_branch
    if owner_did not in doc.delegates:
        problems.append(_problem("identity", IDENTITY_REF,
                                 f"registry owner {owner_did} is not a delegate of {rid}"))
    notes: list[str] = []
    signers: list[str] = []
    for did in doc.delegates:
        nid = keys.nid_from_did(did)
        sig = view.sigrefs.get(nid)
        if sig is None:
            notes.append(f"delegate {nid} has no signed refs in this storage")
            continue
        head, found = signed_head(sig, view.root_commit, branch)
        problems.extend(found)
        if head == tip:
            signers.append(did)
        elif head is not None:
            notes.append(f"delegate {nid} signed refs/heads/{branch} at {head[:12]}")
    if not signers:
        problems.append(_problem("signature", f"refs/heads/{branch}",
                                 f"tip {tip[:12]} is not signed by any delegate of {rid}"))
    elif len(signers) < doc.threshold:
        notes.append(f"tip signed by {len(signers)} of threshold {doc.threshold} delegates")
    return RadicleCheck(rid, True, tuple(problems), tuple(notes), doc.delegates,
                        doc.threshold, branch, tip if signers else None, tuple(signers))
