"""The context of one check (SPEC §7): the parent and new states, the changes, the problems
found so far and the documents already parsed. The rule engine (`engine`) builds it; the
rules (`rules`, `rules_attest`, `migration`, `indexcheck`) and `fanout` work on it. Pure.
"""

from __future__ import annotations

from git_elite.core import documents, indexing, jsonstrict, layout
from git_elite.core.documents import Document
from git_elite.core.errors import EliteError, Problem
from git_elite.core.state import Change, State

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MANIFEST_LIMIT = 64 * 1024
MAX_CLOCK_SKEW = 86400  # `git config elite.maxClockSkew`: how far created_at may be ahead


# IDENTITY.json's bytes -> (its document, the document if valid in shape, else None): the
# same bytes parse and check the same in every Context, and a reader builds one Context per
# agent (`discover` checks 20, each against the registry's one IDENTITY.json: 40 parses and
# schema checks before this memo; docs/scale.md, "discover --offline, round 8"). Read only:
# no rule changes a document's body. A few entries (a verify of history meets each
# identity version in turn).
_IDENTITIES: dict[bytes, tuple[Document | None, Document | None]] = {}
_IDENTITIES_KEPT = 8


class Context:
    """Everything one check needs; documents are parsed once and cached. (A plain class,
    not a dataclass: the hooks do not import `dataclasses`, SPEC §12 start-up.)"""

    def __init__(self, parent: State, new: State, changes: dict[str, Change]) -> None:
        self.parent = parent
        self.new = new
        self.changes = changes
        self.problems: list[Problem] = []
        # no created_at may be later (now + skew); None: no clock
        self.latest: int | None = None
        self._docs: dict[tuple[int, str], Document | None] = {}
        # INDEX.json entries of the manifests `load` found well-formed (agent_id -> entry):
        # the index rebuild then neither re-parses nor re-validates them, nor keeps their
        # bodies
        self.entries: dict[str, dict[str, Any]] = {}
        self._limits: dict[str, float] | None = None
        self.fmt: int = layout.FORMAT  # the layout the commit makes (SPEC §4)
        self.parent_fmt: int | None = None  # the parent's (None: no registry before)
        # the index carries SPEC §6.2's pins (head identity/ranked/trust,
        # attestation_sha256); False only for audits of history written before them
        # (engine.check_context, legacy)
        self.pins = True
        # agent_ids whose profile.json the reader knowingly did not fetch (`discover` over
        # HTTP, the manifest's bytes pinned by a signed head: docs/discover.md); their
        # absence is not a `binding` problem, every other rule still runs
        self.unfetched_profiles: frozenset[str] = frozenset()

    def add(self, rule: str, path: str, message: str) -> None:
        self.problems.append(Problem(rule, path, message))

    def quiet(self, which: State, path: str, kind: str) -> Document | None:
        """A document as stored (already checked when it came in); None if absent/unreadable."""
        key = (id(which), path)
        if key not in self._docs:
            raw = which.read(path)
            try:
                self._docs[key] = documents.parse(raw, path, kind) if raw is not None else None
            except EliteError:
                self._docs[key] = None
        return self._docs[key]

    @property
    def parent_identity(self) -> dict[str, Any] | None:
        """The parent's IDENTITY.json when it is one in shape (None: absent or malformed)."""
        return self._identity(self.parent)

    @property
    def new_identity(self) -> dict[str, Any] | None:
        return self._identity(self.new)

    def _identity(self, which: State) -> dict[str, Any] | None:
        key = (id(which), "shape:" + layout.IDENTITY)
        if key not in self._docs:
            raw = which.read(layout.IDENTITY)
            known = _IDENTITIES.get(raw) if raw is not None else None
            if known is None:
                doc = self.quiet(which, layout.IDENTITY, documents.REGISTRY_IDENTITY)
                known = (doc, doc if doc and not documents.check_shape(doc) else None)
                if raw is not None:
                    if len(_IDENTITIES) >= _IDENTITIES_KEPT:
                        _IDENTITIES.clear()
                    _IDENTITIES[raw] = known
            self._docs.setdefault((id(which), layout.IDENTITY), known[0])
            self._docs[key] = known[1]
        found = self._docs[key]
        return found.body if found else None

    @property
    def policy(self) -> dict[str, Any]:
        """Policy of the parent's IDENTITY.json (a new registry's own, for its root commit)."""
        identity = self.parent_identity or self.new_identity or {}
        policy = identity.get("policy")
        return policy if isinstance(policy, dict) else {}

    def load(self, change: Change, kind: str, max_bytes: int | None = None) -> Document | None:
        """Parse and shape-check new bytes, reporting json/schema problems."""
        assert change.new is not None
        try:
            doc = documents.parse(change.new, change.path, kind, max_bytes)
        except EliteError as err:
            self.problems.append(err.problem())
            return None
        shape = documents.check_shape(doc)
        field = "signatures" if kind == documents.REGISTRY_IDENTITY else "signature_ed25519"
        if field not in doc.body:
            self.add("signature", change.path, f"unsigned: no {field}")
            shape = [p for p in shape if f"'{field}' is a required" not in p.message]
            self.problems.extend(shape)
            return None
        self.problems.extend(shape)
        if shape:
            return None
        if self.latest is not None and doc.created_at > self.latest:
            self.add("rollback", change.path, f"created_at {doc.created_at} is more than the "
                     "allowed clock skew ahead of now (a fast-forward attack would block "
                     "every later version)")
        agent_id = layout.agent_id_in(change.path)
        if kind == documents.MANIFEST and agent_id and change.path.endswith("/manifest.json"):
            self.entries[agent_id] = self.entry(doc.raw, doc.body, agent_id)
        return doc

    def entry(self, raw: bytes, body: dict[str, Any], agent_id: str) -> dict[str, Any]:
        """The index entry of a manifest in this commit's format (format 2: with the count
        of the agent's live attestations in the new state)."""
        if self.fmt >= 2:
            from git_elite.core import rules_attest, shards

            live = rules_attest.live(self.new.read, self.new.names,
                                     layout.agent_dir(agent_id, self.fmt))
            return shards.entry(raw, body, self.limits, live if self.pins else len(live))
        return indexing.entry(raw, body, self.limits)

    def agent_path(self, agent_id: str, name: str) -> str:
        return layout.agent_path(agent_id, name, self.fmt)

    @property
    def limits(self) -> dict[str, float]:
        """The elite thresholds of the new state's IDENTITY.json (what INDEX.json uses)."""
        if self._limits is None:
            self._limits = indexing.thresholds(self.new_identity or {})
        return self._limits

    def signed(self, doc: Document) -> bool:
        found = documents.verify_signature(doc)
        self.problems.extend(found)
        return not found

    # key rotation ------------------------------------------------------------------------
    def successor(self, did: str) -> tuple[str, list[str]]:
        """Follow identities/<nid>/rotation.json from `did`: (current key, keys passed)."""
        chain: list[str] = []
        current = did
        while current not in chain and len(chain) < 64:
            rotation = self.rotation(current)
            if rotation is None:
                break
            chain.append(current)
            current = rotation
        return current, chain

    def rotation(self, did: str) -> str | None:
        """The key `did` was rotated to in the new state (a verified rotation), if any."""
        nid = did[len("did:key:"):]
        if not layout.is_nid(nid):
            return None
        doc = self.quiet(self.new, layout.rotation_path(nid), documents.KEY_ROTATION)
        if doc is None or doc.body.get("from") != did or documents.verify_signature(doc):
            return None
        to = doc.body.get("to")
        return to if isinstance(to, str) else None

    def may_sign(self, signer: str, owner: str, what: str, path: str) -> bool:
        """Ownership: `signer` must be `owner`'s current key (after rotations)."""
        current, passed = self.successor(owner)
        if signer == current:
            return True
        if signer in passed or signer == owner:
            self.add("ownership", path, f"key {signer} was rotated to {current}; a rotated "
                     f"key can sign nothing in this registry ({what})")
        else:
            self.add("ownership", path, f"{what} belongs to {owner}; {signer} may not take it "
                     "over (hijack)")
        return False

    def not_rotated(self, signer: str, path: str) -> bool:
        current, _ = self.successor(signer)
        if current == signer:
            return True
        self.add("ownership", path, f"key {signer} was rotated to {current}; a rotated key "
                 "can sign nothing in this registry")
        return False


def formats(ctx: Context) -> None:
    """The parent's layout (None: no registry yet) and the one the commit makes."""
    # the format an IDENTITY.json declares, even when it is otherwise malformed (that is a
    # problem of its own; the layout stays what it says)
    if ctx.parent.read(layout.IDENTITY) is not None:
        doc = ctx.quiet(ctx.parent, layout.IDENTITY, documents.REGISTRY_IDENTITY)
        ctx.parent_fmt = layout.format_of(doc.body if doc else None)
    new = ctx.quiet(ctx.new, layout.IDENTITY, documents.REGISTRY_IDENTITY)
    ctx.fmt = layout.format_of(new.body) if new is not None else \
        (ctx.parent_fmt or layout.FORMAT)
    if ctx.parent_fmt == 2 and ctx.fmt == 1:
        ctx.add("identity", layout.IDENTITY, "format 2 cannot go back to format 1 (keep "
                "\"format\": 2 in IDENTITY.json)")
        ctx.fmt = 2


def strict_index(raw: bytes, name: str = layout.INDEX) -> Any:
    """An index file parsed strictly (jsonstrict.load_large)."""
    return jsonstrict.load_large(raw, name=name, max_bytes=max(len(raw), 1))
