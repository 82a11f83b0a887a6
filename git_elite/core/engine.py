"""The rule engine of SPEC §7: (parent state, changes, new state) -> every problem found.

Pure: no git, no printing. pre-commit, pre-receive, `verify`, `publish` and `discover` all
call `check_change`; nothing re-implements a rule. Only the changed paths are read, plus what
the rules need (the parent's IDENTITY.json and INDEX.json, a rotation file by path).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from git_elite.core import documents, fanout, indexing, layout
from git_elite.core.documents import Document
from git_elite.core.errors import EliteError, Problem
from git_elite.core.state import Change, State
from git_elite.edges import progress

MANIFEST_LIMIT = 64 * 1024
MAX_CLOCK_SKEW = 86400  # `git config elite.maxClockSkew`: how far created_at may be ahead
_SECRETS = (
    (re.compile(rb'"secretKeyBase58"\s*:'), "a secretKeyBase58 field (an identity secret key)"),
    (re.compile(rb"-----BEGIN OPENSSH PRIVATE KEY-----"), "an OpenSSH private key block"),
    (re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"), "a PEM private key block"),
)

# every pattern above contains one of these words (a fast exact pre-filter)
_SECRET_WORDS = (b"secretKeyBase58", b"PRIVATE KEY-----")


@dataclass
class Context:
    """Everything one check needs; documents are parsed once and cached."""

    parent: State
    new: State
    changes: dict[str, Change]
    problems: list[Problem] = field(default_factory=list)
    latest: int | None = None  # no created_at may be later (now + skew); None: no clock
    _docs: dict[tuple[int, str], Document | None] = field(default_factory=dict)
    # INDEX.json entries of the manifests `load` found well-formed (agent_id -> entry): the
    # index rebuild then neither re-parses nor re-validates them, nor keeps their bodies
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    _limits: dict[str, float] | None = None
    fmt: int = layout.FORMAT  # the layout the commit makes (SPEC §4)
    parent_fmt: int | None = None  # the parent's (None: no registry before)

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
            doc = self.quiet(which, layout.IDENTITY, documents.REGISTRY_IDENTITY)
            self._docs[key] = doc if doc and not documents.check_shape(doc) else None
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

            count = rules_attest.live_count(self.new.read, self.new.names,
                                            layout.agent_dir(agent_id, self.fmt))
            return shards.entry(raw, body, self.limits, count)
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
        if not re.fullmatch(r"z[1-9A-HJ-NP-Za-km-z]{40,60}", nid):
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


def check_change(parent: State, changes: Iterable[Change], new: State, *,
                 check_index: bool = True, now: int | None = None,
                 max_skew: int = MAX_CLOCK_SKEW, legacy: bool = False) -> list[Problem]:
    """Every problem of one commit (its diff against its parent), all of them, in path order.
    With `now` (the verifier's clock), a document whose created_at is more than `max_skew`
    seconds ahead of it is refused (`rollback`: the fast-forward attack). A change to a
    format-1 registry other than its migration (`migration.check`) is refused unless
    `legacy` (audits of old history, `verify`)."""
    from git_elite.core import indexcheck

    ctx = check_context(parent, changes, new, now=now, max_skew=max_skew, legacy=legacy)
    if check_index:
        indexcheck.check(ctx)
    return ctx.problems


def check_context(parent: State, changes: Iterable[Change], new: State, *,
                  now: int | None = None, max_skew: int = MAX_CLOCK_SKEW,
                  legacy: bool = False) -> Context:
    """`check_change` without the index rule; the Context keeps the index entries of the
    manifests it checked (`audit` builds the index from them, shard by shard)."""
    from git_elite.core import migration, rules

    ctx = Context(parent, new, {c.path: c for c in changes})
    ctx.latest = None if now is None else now + max_skew
    _formats(ctx)
    if ctx.parent_fmt == 1 and ctx.fmt >= 2:
        migration.check(ctx)
    else:
        if ctx.fmt == 1 and not legacy and ctx.changes:
            ctx.add("layout", layout.IDENTITY, "this registry is in format 1, which accepts no "
                    "change but its migration: run `git elite migrate` (SPEC §4)")
        _check_paths(ctx, rules)
    if ctx.new_identity is None and not any(p.path == layout.IDENTITY for p in ctx.problems):
        ctx.add("identity", layout.IDENTITY, "the registry has no valid IDENTITY.json")
    return ctx


def _formats(ctx: Context) -> None:
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


def _check_paths(ctx: Context, rules: Any) -> None:
    agents: dict[str, dict[str, Change]] = {}
    for path, change in sorted(ctx.changes.items()):
        progress.step("files")
        if change.new is not None:
            _secrets(ctx, change)
        slot = layout.classify(path, ctx.fmt)
        if slot is None:
            if change.new is not None or change.refused is not None:
                ctx.add("layout", path, layout.why_not(path, ctx.fmt))
            continue
        if change.refused is not None:  # a mode or size problem found before reading it
            ctx.problems.append(change.refused)
            continue
        if slot.kind == "agent":
            agents.setdefault(slot.agent_id, {})[slot.name] = change
        else:
            rules.check_slot(ctx, slot, change)
    if agents:
        _ = ctx.limits  # parse IDENTITY.json once, before the agents are shared out
        fanout.check_agents(ctx, sorted(agents.items()), rules.check_agent)


def _secrets(ctx: Context, change: Change) -> None:
    assert change.new is not None
    if not any(word in change.new for word in _SECRET_WORDS):
        return  # a substring test is ~10x cheaper than the regexes on an 8 MB INDEX.json
    for pattern, what in _SECRETS:
        if pattern.search(change.new):
            ctx.add("secret", change.path, f"contains {what}; secret material is never "
                    "committed (remove the file and rotate the key if it was shared)")
            return


def expected_index(parent: State, changes: Iterable[Change], new: State) -> dict[str, Any]:
    """INDEX.json of `new` as a value (the head in format 2): see `expected_files`."""
    from git_elite.core import indexcheck

    ctx = Context(parent, new, {c.path: c for c in changes})
    _formats(ctx)
    value: dict[str, Any] = indexcheck.expected(ctx).values[layout.INDEX]
    return value


def rebuild(parent: State, changes: Iterable[Change], new: State) -> Any:
    """The index files of `new` (indexcheck.Rebuilt: bytes, values and rankings data)."""
    from git_elite.core import indexcheck

    ctx = Context(parent, new, {c.path: c for c in changes})
    _formats(ctx)
    return indexcheck.expected(ctx)


def expected_files(parent: State, changes: Iterable[Change], new: State
                   ) -> dict[str, bytes | None]:
    """The index files `new` must carry where they differ from the parent's or may: INDEX.json
    and (format 2) each touched shard, as bytes (None: the shard must not exist)."""
    from git_elite.core import indexcheck

    ctx = Context(parent, new, {c.path: c for c in changes})
    _formats(ctx)
    return indexcheck.expected(ctx).files


def full_index(state: State) -> dict[str, bytes | None]:
    """Every index file of `state` from scratch (reads every manifest: `index`, audits)."""
    from git_elite.core import indexcheck

    ctx = Context(state, state, {})
    _formats(ctx)
    ctx.parent_fmt = None
    return indexcheck.full(ctx).files


def strict_index(raw: bytes, name: str = layout.INDEX) -> Any:
    """An index file parsed strictly (jsonstrict.load_large)."""
    from git_elite.core import jsonstrict

    return jsonstrict.load_large(raw, name=name, max_bytes=max(len(raw), 1))
