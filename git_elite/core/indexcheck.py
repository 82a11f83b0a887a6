"""The index files a commit must carry (SPEC §6) and the `index` rule. Pure.

Format 2: the head INDEX.json and the shards `index/<ab>.json`. A commit that touches agents
in k shards parses and writes those k shards and the head: the counts and shard digests come
from the parent's head, the rankings from the parent's derived data (`shards.Ranks`, kept in
a cache by a git-backed state) updated by the touched entries. Only when that cache is
missing, or an agent left a head ranking whose next best it does not hold, are the parent's
shards read (all of them, each checked against the head's digest). A parent whose head or a
touched shard is malformed or does not match its digest is never built on: the index is then
rebuilt from the manifests (`full`). Format 1 (one INDEX.json with every entry) is kept for
audits of old history.
"""

from __future__ import annotations

from git_elite.core import (
    cjson,
    documents,
    indexing,
    layout,
    pinning,
    pins,
    shards,
    shardsplice,
    state,
)
from git_elite.core.context import Context, formats, strict_index
from git_elite.core.errors import EliteError
from git_elite.core.state import State

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection
    from typing import Any


class _Values(dict[str, "Any"]):  # (a string: `typing` is not imported at run time)
    """Index files as values by path; one given only as bytes (a shard edited in place by
    `shardsplice.edit`) is parsed when first asked for, which a commit whose files equal
    the rebuild never does."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: dict[str, bytes] = {}

    def __getitem__(self, path: str) -> Any:
        if path in self.raw:
            super().__setitem__(path, cjson.loads(self.raw.pop(path)))
        return super().__getitem__(path)


class Rebuilt:
    """Index files as bytes (None: must not exist) and as values, plus the rankings data.
    (A plain class, not a dataclass: the hooks do not import `dataclasses`.)"""

    def __init__(self, ranks: shards.Ranks | None = None) -> None:
        self.files: dict[str, bytes | None] = {}
        self.values: dict[str, Any] = _Values()
        self.ranks = ranks

    def put(self, path: str, value: Any, data: bytes | None = None) -> None:
        self.values[path] = value
        self.files[path] = None if value is None else (data or indexing.dumps(value))

    def put_bytes(self, path: str, data: bytes) -> None:
        """A file known by its bytes (written as `indexing.dumps` writes its value)."""
        assert isinstance(self.values, _Values)
        self.values.raw[path] = data
        dict.__setitem__(self.values, path, None)
        self.files[path] = data


def expected(ctx: Context) -> Rebuilt:
    """What the new state's index files must be (only the touched shards when it can)."""
    if ctx.fmt < 2:
        return _v1(ctx)
    same = indexing.thresholds(ctx.parent_identity) == indexing.thresholds(ctx.new_identity)
    base = _parent_head(ctx) if ctx.parent_fmt == 2 and same else None
    return (_incremental(ctx, base) if base is not None else None) or full(ctx)


def full(ctx: Context) -> Rebuilt:
    """Every index file from the manifests (and a removal for every stray shard)."""
    if ctx.fmt < 2:
        ctx.parent_fmt = None
        return _v1(ctx)
    entries = ((a, e) for a in sorted(ctx.new.agent_ids()) if (e := entry(ctx, a)) is not None)
    head, built, ranks = shards.build(ctx.new_identity or {}, entries)
    out = Rebuilt(ranks=ranks)
    for ab, (value, data) in built.items():
        out.put(layout.shard_path(ab), value, data)
    if ctx.pins:
        files = pins.pinned(head, lambda a: built[a[:2]][0]["agents"][a],
                            ctx.new.read(layout.IDENTITY), ctx.new_identity,
                            pins.trust_listing(ctx.new.read, ctx.new.names))
        for path, (value, data) in files.items():
            out.put(path, value, data)
    out.put(layout.INDEX, head)
    for path in _index_paths(ctx.new):
        if path not in out.values and layout.classify(path) is not None:
            out.put(path, None)
    return out


def _index_paths(which: State) -> list[str]:
    """Every file under index/ (and index/trust/) of a state."""
    out = [f"index/{name}" for name in which.names("index")]
    out += [f"{layout.TRUST_DIR}/{name}" for name in which.names(layout.TRUST_DIR)]
    return out


def full_index(state: State) -> dict[str, bytes | None]:
    """Every index file of `state` from scratch (reads every manifest: `index`, audits)."""
    ctx = Context(state, state, {})
    formats(ctx)
    ctx.parent_fmt = None
    return full(ctx).files


def entry(ctx: Context, agent_id: str) -> dict[str, Any] | None:
    """The index entry of one agent of the new state (None: not live). Not cached: a full
    rebuild keeps no manifest once its entry is made."""
    if ctx.new.read(ctx.agent_path(agent_id, "tombstone.json")) is not None:
        return None
    if agent_id in ctx.entries:
        return ctx.entries[agent_id]
    doc = _manifest(ctx.new, ctx.agent_path(agent_id, "manifest.json"))
    return None if doc is None else ctx.entry(doc.raw, doc.body, agent_id)


def _manifest(state: State, path: str) -> documents.Document | None:
    """The manifest at `path` in `state` when its bytes parse with a valid shape; None
    otherwise (absent, or broken: the rules report why)."""
    raw = state.read(path)
    if raw is None:
        return None
    try:
        doc = documents.parse(raw, path, documents.MANIFEST)
    except EliteError:
        return None
    return None if documents.check_shape(doc) else doc


def _touched(ctx: Context) -> tuple[set[str], set[str]]:
    """(agents, shards) the commit touches: changed agent paths, changed shard files."""
    agents: set[str] = set()
    names: set[str] = set()
    for path in ctx.changes:
        slot = layout.classify(path, 2)
        if slot is not None and slot.kind in ("agent", "attestation"):
            agents.add(slot.agent_id)
            names.add(slot.agent_id[:2])
        elif slot is not None and slot.kind == "shard":
            names.add(slot.name)
    return agents, names


def _incremental(ctx: Context, base: dict[str, Any]) -> Rebuilt | None:
    if ctx.pins and not pins.is_pinned(base):
        return None  # the upgrade commit (SPEC §6.2): every index file from scratch
    agents, names = _touched(ctx)
    summary = {ab: dict(s) for ab, s in base["shards"].items()}
    elite = base["elite_count"]
    old: dict[str, dict[str, Any] | None] = {}
    new: dict[str, dict[str, Any] | None] = {}
    out = Rebuilt()
    for ab in sorted(names):
        touched = sorted(a for a in agents if a[:2] == ab)
        fresh = {a: entry(ctx, a) for a in touched}
        edited = _edited(ctx, ab, summary.get(ab), fresh)
        if edited is not None:  # the parent's bytes edited where the touched agents are
            data, olds, count, digest = edited
            for agent_id in touched:
                old[agent_id], new[agent_id] = olds[agent_id], fresh[agent_id]
                elite += _elite(new[agent_id]) - _elite(old[agent_id])
            summary[ab] = {"agents": count, "sha256": digest}
            out.put_bytes(layout.shard_path(ab), data)
            continue
        held, raw = _parent_shard_raw(ctx, ab, summary.get(ab))
        if held is None:
            return None
        for agent_id in touched:
            old[agent_id], new[agent_id] = held.pop(agent_id, None), entry(ctx, agent_id)
            if new[agent_id] is not None:
                held[agent_id] = new[agent_id]
            elite += _elite(new[agent_id]) - _elite(old[agent_id])
        if held:
            value = shards.shard(ab, held)
            spliced = shardsplice.splice(raw, ab, held, set(touched)) if raw else None
            data = spliced or indexing.dumps(value)
            summary[ab] = {"agents": len(held), "sha256": shards.digest(data)}
            out.put(layout.shard_path(ab), value, data)
        else:
            summary.pop(ab, None)
            out.put(layout.shard_path(ab), None)
    ranks = _parent_ranks(ctx, base["shards"])
    if ranks is None or not ranks.update(old, new):
        ranks = _ranks_from_shards(ctx, summary, out)
        if ranks is None:
            return None
    out.ranks = ranks
    head = shards.head(ctx.new_identity or {}, summary, elite, ranks)
    if ctx.pins:
        found = pinning.incremental(ctx, base, head, out, new,
                                    lambda a: _shard_entry(ctx, out, summary, a))
        if found is None:
            return None
        head.update(found)
    out.put(layout.INDEX, head)
    return out


def _shard_entry(ctx: Context, out: Rebuilt, summary: dict[str, Any], agent_id: str) -> Any:
    """An untouched agent's entry (one entering a head ranking), from its shard as rebuilt,
    or the parent's when its bytes hash to the parent head's pin: only its item is parsed
    (shardsplice.entry_of), the whole shard when its bytes are not in the writer's shape."""
    ab = agent_id[:2]
    path = layout.shard_path(ab)
    raw = out.files.get(path) if path in out.files else ctx.parent.read(path)
    pinned = path in out.files or (raw is not None and isinstance(summary.get(ab), dict)
                                   and shards.digest(raw) == summary[ab]["sha256"])
    if raw is not None and pinned:
        try:
            return shardsplice.entry_of(raw, ab, agent_id)
        except (ValueError, RecursionError):
            pass  # not in the writer's shape: the whole shard parsed, as before
    agents = out.values[path]["agents"] if path in out.values else \
        _parent_shard(ctx, ab, summary.get(ab))
    return (agents or {}).get(agent_id)


def _edited(ctx: Context, ab: str, listed: dict[str, Any] | None,
            fresh: dict[str, dict[str, Any] | None]
            ) -> tuple[bytes, dict[str, Any], int, str] | None:
    """(new bytes, the touched agents' parent entries, agent count, the new bytes'
    sha256) of shard `ab` edited in the parent's bytes (shardsplice.edit), which must hash
    to the parent head's digest; None when it cannot be (no parent shard, a bad one, or
    one left empty): the caller then parses the whole shard. The parent's bytes come from
    the new state's shard when they can (`_reverted`, which vouches for them), else from
    the parent's: those are hashed with the new bytes, their common start once
    (shardsplice.digests), and used only when they hash to the parent head's digest."""
    if listed is None:
        return None
    raw = _reverted(ctx, ab, listed["sha256"], fresh)
    vouched = raw is not None
    if raw is None:
        raw = ctx.parent.read(layout.shard_path(ab))
        if raw is None:
            return None
    try:
        found = shardsplice.edit(raw, ab, fresh)
    except (ValueError, RecursionError):  # bytes not vouched for yet: the slow path decides
        return None
    if found is None:
        return None
    if vouched:
        digest = shards.digest(found.data)
    else:
        pinned, digest = shardsplice.digests(raw, found.data, found.same)
        shards.remember_digest(found.data, digest)
        if pinned != listed["sha256"]:
            return None
    if any(o is not None and not shards.is_entry(o) for o in found.olds.values()):
        return None
    count = listed["agents"] + found.delta
    return (found.data, found.olds, count, digest) if count > 0 else None


def _reverted(ctx: Context, ab: str, digest: Any, touched: Collection[str]
              ) -> bytes | None:
    """The parent's shard `ab` without reading it: the new state's shard (a pushed shard is
    a new object, cheap to read; the parent's may sit at the end of a long delta chain) with
    the touched agents' items put back to their parent entries (`parent_entry`, O(1) per
    agent) by shardsplice.edit. Those bytes are the parent's exactly when they hash to the
    parent head's digest for the shard, and then every untouched item of the new shard is
    the parent's, byte for byte. None (the caller reads the parent's shard) for anything
    else: no new shard, one edit cannot read, a digest that differs; and a shard the
    commit does not change (its new bytes are the parent's: the caller reads them once,
    rather than reading them, reverting them and hashing them twice more here)."""
    if layout.shard_path(ab) not in ctx.changes:
        return None
    raw = ctx.new.read(layout.shard_path(ab))
    if raw is None:
        return None
    try:
        found = shardsplice.edit(raw, ab, {a: parent_entry(ctx, a) for a in touched})
    except (ValueError, RecursionError):  # hostile bytes in a touched item: the slow path
        return None
    if found is None:
        return None
    # both digests at once, their common start hashed once: the parent's, to compare with
    # its head's pin; the pushed bytes', which the rebuild and the pin check ask for next
    pushed, reverted = shardsplice.digests(raw, found.data, found.same)
    shards.remember_digest(raw, pushed)
    shards.remember_digest(found.data, reverted)
    if reverted != digest or not _parent_holds(ctx, layout.shard_path(ab), found.data):
        return None
    return found.data


def _parent_holds(ctx: Context, path: str, data: bytes) -> bool:
    """Whether the parent's file at `path` is `data`: by its blob id when the state knows
    it without reading the blob (a git tree, a memory state), else by its bytes. (The
    digest alone would vouch for the bytes the parent's head pins, not for a parent whose
    shard is not those bytes: that parent is rebuilt from its manifests, as before.)"""
    known = getattr(ctx.parent, "blob_id", None)
    if known is None:
        return ctx.parent.read(path) == data
    return bool(known(path) == state.blob_id(data))


def parent_entry(ctx: Context, agent_id: str) -> dict[str, Any] | None:
    """The index entry of one agent of the parent's state (None: not live there), as the
    rebuild makes it (`entry`; the thresholds are the new state's, which `_incremental`
    has checked to be the parent's)."""
    parent = ctx.parent
    agent_dir = layout.agent_dir(agent_id, 2)
    if parent.read(layout.agent_path(agent_id, "tombstone.json", 2)) is not None:
        return None
    doc = _manifest(parent, layout.agent_path(agent_id, "manifest.json", 2))
    if doc is None:
        return None
    from git_elite.core import rules_attest

    live = rules_attest.live(parent.read, parent.names, agent_dir)
    return shards.entry(doc.raw, doc.body, ctx.limits, live if ctx.pins else len(live))


def _elite(item: dict[str, Any] | None) -> int:
    return 1 if item and item.get("elite") is True else 0


def _parent_head(ctx: Context) -> dict[str, Any] | None:
    raw = ctx.parent.read(layout.INDEX)
    try:  # (parsed once with the check's `declares_pins` of the same parent)
        value = pinning.take_head(raw) if raw is not None else None
    except ValueError:
        return None
    return value if shards.is_head(value) else None


def _parent_shard(ctx: Context, ab: str, listed: dict[str, Any] | None
                  ) -> dict[str, Any] | None:
    """The agents of the parent's shard `ab` ({} when it has none), or None when the shard
    is malformed or not what the parent's head says."""
    return _parent_shard_raw(ctx, ab, listed)[0]


def _parent_shard_raw(ctx: Context, ab: str, listed: dict[str, Any] | None
                      ) -> tuple[dict[str, Any] | None, bytes | None]:
    """`_parent_shard` and the shard's bytes (None when it has none)."""
    raw = ctx.parent.read(layout.shard_path(ab))
    if raw is None or listed is None:
        return ({} if raw is None and listed is None else None), None
    if shards.digest(raw) != listed["sha256"]:
        return None, None
    try:
        value = cjson.loads(raw)
    except ValueError:
        return None, None
    return (dict(value["agents"]) if shards.is_shard(value, ab) else None), raw


def _parent_ranks(ctx: Context, listed: dict[str, Any]) -> shards.Ranks | None:
    """The parent's rankings data: from the cache of a git-backed state; when that cache is
    cold and the state can keep it, made from the parent's shards (each checked against the
    parent's head) and saved, so that the next commit on the same parent (a fresh clone's
    first commits, a server's first push after a clone or a bulk import, every run of a
    benchmark) reads no shard it does not touch. None: not cached and not cacheable."""
    load = getattr(ctx.parent, "derived_load", None)  # a git state: the cache of ranks
    ranks = shards.Ranks.load(load()) if load is not None else None
    save = getattr(ctx.parent, "derived_save", None)
    if ranks is not None or save is None:
        return ranks
    try:
        ranks = shards.Ranks.build(_parent_entries(ctx, listed))
    except _BadShard:
        return None
    save(ranks.dump())
    return ranks


def _parent_entries(ctx: Context, listed: dict[str, Any]) -> Any:
    for ab in sorted(listed):
        held = _parent_shard(ctx, ab, listed[ab])
        if held is None:
            raise _BadShard
        yield from held.items()


def _ranks_from_shards(ctx: Context, summary: dict[str, Any], out: Rebuilt
                       ) -> shards.Ranks | None:
    """The rankings data read from every shard: the touched ones as rebuilt, the others
    from the parent (each checked against the head's digest). None when one is bad."""
    def entries() -> Any:
        for ab in sorted(summary):
            path = layout.shard_path(ab)
            held = out.values[path]["agents"] if path in out.values else \
                _parent_shard(ctx, ab, summary[ab])
            if held is None:
                raise _BadShard
            yield from held.items()

    try:
        return shards.Ranks.build(entries())
    except _BadShard:
        return None


class _BadShard(Exception):
    pass


# the `index` rule ------------------------------------------------------------------------
def check(ctx: Context) -> None:
    """The new state's index files equal the rebuild; each shard hashes to its digest."""
    want = expected(ctx)
    before = len(ctx.problems)
    for path in sorted(want.files, key=lambda p: (p != layout.INDEX, p)):
        if want.files[path] is None or ctx.new.read(path) != want.files[path]:
            _compare(ctx, path, want.values[path])  # (the rebuild's own bytes need no parse)
    head = want.values[layout.INDEX]
    listed = {p.path for p in ctx.problems[before:]}
    for path, data in want.files.items():
        raw = ctx.new.read(path)
        if path in listed or path == layout.INDEX or data is None or raw is None \
                or ctx.fmt < 2:
            continue
        if shards.digest(raw) != _pinned_digest(head, path):
            ctx.add("index", path, "its bytes do not hash to INDEX.json's sha256 for it (write "
                    "index files with `git elite index`)")
    if len(ctx.problems) == before:
        _remember(ctx, want)


def _pinned_digest(head: dict[str, Any], path: str) -> Any:
    """The sha256 the head gives for the index file at `path`."""
    slot = layout.classify(path, 2)
    pin: Any = None
    if slot is not None and slot.kind == "shard":
        pin = head["shards"].get(slot.name)
    elif slot is not None and slot.kind == "ranked":
        pin = head.get("ranked")
    elif slot is not None and slot.kind == "trust":
        pin = head.get("trust", {}).get(slot.name)
    return pin.get("sha256") if isinstance(pin, dict) else None


def _compare(ctx: Context, path: str, want: Any) -> None:
    raw = ctx.new.read(path)
    if want is None:
        if raw is not None:
            what = "no trust document is in it" if path.startswith(layout.TRUST_DIR) else \
                "no live agent is under its agents/<ab>/"
            ctx.add("index", path, f"{what}, so it must not exist; run `git elite index`")
        return
    if raw is None:
        ctx.add("index", path, f"{path} is missing; run `git elite index`")
        return
    try:
        found = strict_index(raw, path)
    except EliteError as err:
        ctx.add("index", path, f"{path} is not strict JSON ({err.message}); run "
                "`git elite index`")
        return
    if found != want:
        ctx.add("index", path, f"{path} is not the rebuild ({_diff(found, want)}); run "
                "`git elite index`")


def _remember(ctx: Context, want: Rebuilt) -> None:
    """Tell a git-backed new state what its (now verified) index derives to."""
    if want.ranks is not None:
        save = getattr(ctx.new, "derived_save", None)
        if save is not None:
            save(want.ranks.dump())
    elif ctx.fmt < 2:
        remember = getattr(ctx.new, "remember_index", None)
        if remember is not None:
            remember(want.values[layout.INDEX])


def _diff(found: Any, want: dict[str, Any]) -> str:
    if not isinstance(found, dict):
        return "not an object"
    have, need = found.get("agents"), want.get("agents")
    if isinstance(need, dict):
        if not isinstance(have, dict):
            return "no agents object"
        missing, extra = set(need) - set(have), set(have) - set(need)
        stale = [a for a in set(need) & set(have) if need[a] != have[a]]
        if missing or extra or stale:
            return f"{len(missing)} agent(s) missing, {len(extra)} extra, {len(stale)} stale"
    keys = sorted(k for k in set(found) | set(want) if found.get(k) != want.get(k))
    return "differs in " + ", ".join(keys)


# format 1 (audits of registries not yet migrated) ----------------------------------------
def _v1(ctx: Context) -> Rebuilt:
    identity = ctx.new_identity or {}
    base = _v1_parent(ctx) if ctx.parent_fmt == 1 else None
    if base is None or indexing.thresholds(ctx.parent_identity) != indexing.thresholds(identity):
        value = indexing.update_entries({}, identity, {a: entry(ctx, a)
                                                       for a in ctx.new.agent_ids()})
    else:
        touched = {a for p in ctx.changes if (a := layout.agent_id_in(p))
                   and layout.classify(p, 1) is not None}
        value = indexing.update_entries(base, identity, {a: entry(ctx, a) for a in touched})
    out = Rebuilt()
    out.put(layout.INDEX, value)
    return out


def _v1_parent(ctx: Context) -> dict[str, Any] | None:
    cached = getattr(ctx.parent, "index_value", None)  # a git state: parsed once per blob
    if cached is not None:
        value = cached()
    else:
        raw = ctx.parent.read(layout.INDEX)
        try:
            value = cjson.loads(raw) if raw is not None else None
        except ValueError:
            return None
    if not isinstance(value, dict) or not isinstance(value.get("agents"), dict) or \
            not isinstance(value.get("rankings"), dict):
        return None
    agents, rankings = value["agents"], value["rankings"]
    ok = all(shards.is_entry(item) for item in agents.values()) and all(
        isinstance(rows, list) and all(isinstance(a, str) and a in agents for a in rows)
        for rows in rankings.values()) and isinstance(rankings.get("general"), list)
    return value if ok else None
