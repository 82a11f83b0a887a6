"""The pinned files of the index (SPEC §6.2) a commit must carry, from the parent's and the
change: the trust shards of the trust documents it touches, index/ranked.json edited where
ranked agents changed, entered or left (never parsed or encoded whole), the identity pin;
and the rule that an unpinned format-2 registry takes only the upgrade commit. Pure; used
by `indexcheck` (which passes in how to read an untouched agent's shard entry).
"""

from __future__ import annotations

from git_elite.core import cjson, layout, pins
from git_elite.core.context import Context
from git_elite.core.state import State

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    # (agent_id) -> its entry in the new state's shard, for an agent entering a ranking
    # untouched
    ShardEntry = Callable[[str], Any]


def touched_trust(ctx: Context) -> set[str]:
    """The trust shards a commit touches: of changed trust documents, changed trust files."""
    out: set[str] = set()
    for path in ctx.changes:
        slot = layout.classify(path, 2)
        if slot is not None and slot.kind == "trust":
            out.add(slot.name)
        elif (ab := pins.trust_shard_of_path(path)) is not None:
            out.add(ab)
    return out


def incremental(ctx: Context, base: dict[str, Any], head: dict[str, Any], out: Any,
                new: dict[str, dict[str, Any] | None], shard_entry: ShardEntry
                ) -> dict[str, Any] | None:
    """The head's pins from the parent's and the change: the touched trust shards edited,
    ranked.json rewritten only when a ranked agent's entry or the rankings changed. None
    (rebuild in full) when a parent file they need is not what the parent's head pins."""
    trust = _trust_incremental(ctx, base["trust"], out)
    ranked = _ranked_incremental(ctx, base, head, out, new, shard_entry)
    if trust is None or ranked is None:
        return None
    return {"identity": pins.identity_pin(ctx.new.read(layout.IDENTITY), ctx.new_identity),
            "ranked": ranked, "trust": trust}


def _trust_incremental(ctx: Context, listed: dict[str, Any], out: Any
                       ) -> dict[str, Any] | None:
    trust = {ab: dict(pin) for ab, pin in listed.items()}
    for ab in sorted(touched_trust(ctx)):
        path = layout.trust_shard_path(ab)
        raw, pin = ctx.parent.read(path), listed.get(ab)
        if (raw is None) != (pin is None):
            return None
        docs: dict[str, str] = {}
        if raw is not None:
            if not isinstance(pin, dict) or pins.digest(raw) != pin.get("sha256"):
                return None
            try:
                value = cjson.loads(raw)
            except ValueError:
                return None
            if not pins.is_trust_value(value, ab):
                return None
            docs = dict(value["documents"])
        for doc_path, change in ctx.changes.items():
            if pins.trust_shard_of_path(doc_path) != ab:
                continue
            if change.new is None:
                docs.pop(doc_path, None)
            else:
                docs[doc_path] = pins.digest(change.new)
        if docs:
            value, data, trust[ab] = pins.trust_file(ab, docs)
            out.put(path, value, data)
        else:
            trust.pop(ab, None)
            out.put(path, None)
    return dict(sorted(trust.items()))


def _ranked_incremental(ctx: Context, base: dict[str, Any], head: dict[str, Any], out: Any,
                        new: dict[str, dict[str, Any] | None], shard_entry: ShardEntry
                        ) -> dict[str, Any] | None:
    """The head's `ranked` pin; index/ranked.json put into `out` when it changes: the
    parent's bytes edited where agents left, entered or changed (shardsplice.edit), so the
    work is O(changed), not a parse and encoding of every ranked entry."""
    from git_elite.core import shards  # (an index written: a reader of agents needs none)

    before, after = pins.ranked_ids(base["rankings"]), pins.ranked_ids(head["rankings"])
    if before == after and not (after & set(new)) and layout.RANKED not in ctx.changes:
        return dict(base["ranked"])  # no ranked agent touched, no ranking changed
    raw = ctx.parent.read(layout.RANKED)
    if raw is None or base["ranked"].get("agents") != len(before):
        return None
    edits: dict[str, Any] = {a: None for a in before - after}
    for agent_id in sorted(after):
        if agent_id in new or agent_id not in before:
            item = new[agent_id] if agent_id in new else shard_entry(agent_id)
            if not shards.is_entry(item):
                return None
            edits[agent_id] = item
    found = ranked_edited(raw, edits, len(after), base["ranked"].get("sha256"))
    if found is None:
        return None
    data, digest = found
    if data == raw and layout.RANKED not in ctx.changes:
        return dict(base["ranked"])
    out.put_bytes(layout.RANKED, data)
    return {"agents": len(after), "sha256": digest}


def ranked_edited(raw: bytes, edits: dict[str, Any], count: int, pinned: Any
                  ) -> tuple[bytes, str] | None:
    """index/ranked.json's new bytes and their sha256: the parent's edited, or (an empty
    file, one left empty) written whole. None when the parent's bytes do not hash to
    `pinned` (the parent head's pin; hashed with the new bytes, their common start once,
    when they could be edited) or are not a ranked.json. (Also the second verify's,
    core/audit.py `_ranked_edited`: the remembered file's bytes edited.)"""
    from git_elite.core import shardsplice

    try:
        found = shardsplice.edit(raw, "", edits, end=shardsplice.RANKED_END)
    except (ValueError, RecursionError):
        found = None
    if found is not None:
        old, new = shardsplice.digests(raw, found.data, found.same)
        if old != pinned or found.data.count(b'\n    "') != count:
            return None
        return found.data, new
    if pins.digest(raw) != pinned:
        return None
    try:
        held = cjson.loads(raw).get("agents")
    except (ValueError, AttributeError):
        return None
    if not isinstance(held, dict):
        return None
    for agent_id, item in edits.items():
        if item is None:
            held.pop(agent_id, None)
        else:
            held[agent_id] = item
    if len(held) != count:
        return None
    data = pins.ranked_file(held)[1]
    return data, pins.digest(data)


# the last INDEX.json `declares_pins` parsed, (bytes, value), until `take_head` hands the
# value over: a commit hook's check asks whether its parent's head pins, then the rebuild
# builds on that head; the 75 KB are parsed once, not twice (hooks6; docs/scale.md)
_LAST_HEAD: list[Any] = []


def declares_pins(which: State) -> bool:
    """Whether the INDEX.json of a state carries SPEC §6.2's pins."""
    raw = which.read(layout.INDEX)
    try:
        value = cjson.loads(raw) if raw is not None else None
    except ValueError:
        return False
    pinned = raw is not None and pins.is_pinned(value)  # (only read here)
    _LAST_HEAD[:] = [] if raw is None else [raw, value]
    return pinned


def take_head(raw: bytes) -> Any:
    """`cjson.loads(raw)` (ValueError when it is not JSON): the value `declares_pins` last
    parsed when it was of the same bytes, handed over once (the caller may change it)."""
    if _LAST_HEAD and _LAST_HEAD[0] == raw:
        value = _LAST_HEAD[1]
        _LAST_HEAD.clear()
        return value
    return cjson.loads(raw)


def written_before_pins(which: State) -> bool:
    """Whether a state's INDEX.json is a format-2 head written before SPEC §6.2 (no pins)."""
    raw = which.read(layout.INDEX)
    try:
        value = cjson.loads(raw) if raw is not None else None
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("schema_version") == 2 and \
        not pins.is_pinned(value)


def upgrade_first(ctx: Context) -> None:
    """On a format-2 registry whose head pins nothing (written before SPEC §6.2), the only
    change accepted is the upgrade: index files alone, equal to the rebuild (the index rule
    checks that). Every other changed path is refused with how to upgrade."""
    if ctx.parent_fmt != 2 or ctx.fmt != 2 or not ctx.pins or not ctx.changes:
        return
    if ctx.parent.read(layout.INDEX) is None or declares_pins(ctx.parent):
        return
    for path in sorted(ctx.changes):
        if not layout.is_derived(path):
            ctx.add("index", path, "this registry's INDEX.json pins nothing yet (SPEC §6.2): "
                    "upgrade it first in a commit of its own (`git elite index`, then commit "
                    "the index files alone), then commit this change")
