"""The rule engine of SPEC §7: (parent state, changes, new state) -> every problem found.

Pure: no git, no printing. pre-commit, pre-receive, `verify`, `publish` and `discover` all
call `check_change`; nothing re-implements a rule. Only the changed paths are read, plus what
the rules need (the parent's IDENTITY.json and INDEX.json, a rotation file by path).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from git_elite import documents, fanout, indexing, layout, progress
from git_elite.documents import Document
from git_elite.errors import EliteError, Problem
from git_elite.state import Change, State

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
        doc = self.quiet(self.parent, layout.IDENTITY, documents.REGISTRY_IDENTITY)
        return doc.body if doc else None

    @property
    def new_identity(self) -> dict[str, Any] | None:
        doc = self.quiet(self.new, layout.IDENTITY, documents.REGISTRY_IDENTITY)
        return doc.body if doc else None

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
        if kind == documents.MANIFEST and change.path.endswith("/manifest.json"):
            self.entries[change.path.split("/")[1]] = indexing.entry(doc.raw, doc.body,
                                                                     self.limits)
        return doc

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
                 max_skew: int = MAX_CLOCK_SKEW) -> list[Problem]:
    """Every problem of one commit (its diff against its parent), all of them, in path order.
    With `now` (the verifier's clock), a document whose created_at is more than `max_skew`
    seconds ahead of it is refused (`rollback`: the fast-forward attack)."""
    from git_elite import rules

    ctx = Context(parent, new, {c.path: c for c in changes})
    ctx.latest = None if now is None else now + max_skew
    agents: dict[str, dict[str, Change]] = {}
    for path, change in sorted(ctx.changes.items()):
        progress.step("files")
        if change.new is not None:
            _secrets(ctx, change)
        slot = layout.classify(path)
        if slot is None:
            if change.new is not None:
                ctx.add("layout", path, layout.why_not(path))
            continue
        if slot.kind == "agent":
            agents.setdefault(slot.agent_id, {})[slot.name] = change
        else:
            rules.check_slot(ctx, slot, change)
    if agents:
        _ = ctx.limits  # parse IDENTITY.json once, before the agents are shared out
        fanout.check_agents(ctx, sorted(agents.items()), rules.check_agent)
    if ctx.new_identity is None and not any(p.path == layout.IDENTITY for p in ctx.problems):
        ctx.add("identity", layout.IDENTITY, "the registry has no valid IDENTITY.json")
    if check_index:
        _check_index(ctx)
    return ctx.problems


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
    """INDEX.json of `new`: the parent's index plus the changed agents (O(changed))."""
    ctx = Context(parent, new, {c.path: c for c in changes})
    return _expected(ctx)


def full_index(state: State) -> dict[str, Any]:
    """INDEX.json of `state` from scratch (reads every manifest: for `index` and audits)."""
    ctx = Context(state, state, {})
    return indexing.build(ctx.new_identity or {}, _live(ctx, ctx.new.agent_ids()))


def _expected(ctx: Context) -> dict[str, Any]:
    identity = ctx.new_identity or {}
    base = _parent_index(ctx)
    if base is None or indexing.thresholds(ctx.parent_identity) != indexing.thresholds(identity):
        return indexing.update_entries({}, identity, {a: _entry(ctx, a)
                                                      for a in ctx.new.agent_ids()})
    touched = {p.split("/")[1] for p in ctx.changes if p.startswith("agents/")
               and layout.classify(p) is not None}
    return indexing.update_entries(base, identity, {a: _entry(ctx, a) for a in touched})


def _entry(ctx: Context, agent_id: str) -> dict[str, Any] | None:
    """The INDEX.json entry of one agent of the new state (None: not live)."""
    if ctx.new.read(layout.agent_path(agent_id, "tombstone.json")) is not None:
        return None
    if agent_id in ctx.entries:
        return ctx.entries[agent_id]
    for _, raw, body in _live(ctx, (agent_id,)):
        return indexing.entry(raw, body, ctx.limits)
    return None


def _parent_index(ctx: Context) -> dict[str, Any] | None:
    if ctx.parent.read(layout.IDENTITY) is None:
        return {}
    cached = getattr(ctx.parent, "index_value", None)  # a git state: parsed once per blob
    if cached is not None:
        value = cached()
    else:
        raw = ctx.parent.read(layout.INDEX)
        try:
            value = json.loads(raw) if raw is not None else None
        except ValueError:
            return None
    return value if isinstance(value, dict) and isinstance(value.get("agents"), dict) else None


def _live(ctx: Context, agent_ids: Iterable[str]
          ) -> Iterable[tuple[str, bytes, dict[str, Any]]]:
    for agent_id in agent_ids:
        if ctx.new.read(layout.agent_path(agent_id, "tombstone.json")) is not None:
            continue
        path = layout.agent_path(agent_id, "manifest.json")
        doc = ctx.quiet(ctx.new, path, documents.MANIFEST)
        if doc is not None and not documents.check_shape(doc):
            yield agent_id, doc.raw, doc.body


def _check_index(ctx: Context) -> None:
    raw = ctx.new.read(layout.INDEX)
    if raw is None:
        ctx.add("index", layout.INDEX, "INDEX.json is missing; run `git elite index`")
        return
    try:
        found = strict_index(raw)
    except EliteError as err:
        ctx.add("index", layout.INDEX, f"INDEX.json is not strict JSON ({err.message}); run "
                "`git elite index`")
        return
    want = _expected(ctx)
    if found != want:
        ctx.add("index", layout.INDEX, f"INDEX.json is not the rebuild ({_diff(found, want)}); "
                "run `git elite index`")
        return
    remember = getattr(ctx.new, "remember_index", None)  # a git state: the next check on
    if remember is not None:  # top of this one starts from this value instead of parsing
        remember(found)


def strict_index(raw: bytes) -> Any:
    """INDEX.json parsed strictly (jsonstrict.load_large)."""
    from git_elite import jsonstrict

    return jsonstrict.load_large(raw, name=layout.INDEX, max_bytes=max(len(raw), 1))


def _diff(found: Any, want: dict[str, Any]) -> str:
    if not isinstance(found, dict):
        return "not an object"
    have, need = found.get("agents"), want["agents"]
    if not isinstance(have, dict):
        return "no agents object"
    missing, extra = set(need) - set(have), set(have) - set(need)
    stale = [a for a in set(need) & set(have) if need[a] != have[a]]
    if missing or extra or stale:
        return f"{len(missing)} agent(s) missing, {len(extra)} extra, {len(stale)} stale"
    keys = sorted(k for k in set(found) | set(want) if found.get(k) != want.get(k))
    return "differs in " + ", ".join(keys)
