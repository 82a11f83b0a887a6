"""Format 1 -> format 2 (SPEC §4): the migration commit, and the rule that accepts exactly it.
Pure.

A migration is one commit on a format-1 registry whose IDENTITY.json is the previous one with
`version` + 1, `"format": 2`, a new `created_at` and new signatures (checked as any IDENTITY
change, §5.3); every file under `agents/<agent_id>/` moves unchanged to
`agents/<ab>/<agent_id>/`; `.gitattributes` gains the format-2 line; the index is written as a
head and shards. Nothing else may change in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from git_elite.core import layout
from git_elite.core.state import Change, Overlay, State

if TYPE_CHECKING:
    from git_elite.core.context import Context

IDENTITY_FIELDS = frozenset({"version", "format", "created_at", "signatures"})


def identity_body(old: dict[str, Any], now: int) -> dict[str, Any]:
    """The unsigned IDENTITY.json of the migration (sign it with documents.sign_multi)."""
    body = {k: v for k, v in old.items() if k != "signatures"}
    body.update(version=old["version"] + 1, format=2, created_at=max(now, old["created_at"]))
    return body


def files(state: State, identity: bytes) -> dict[str, bytes | None]:
    """Every path the migration of format-1 `state` writes (None: removed), given the new
    signed IDENTITY.json bytes: the renames, .gitattributes, the index head and shards."""
    from git_elite.core import indexcheck

    out: dict[str, bytes | None] = {layout.IDENTITY: identity}
    for agent_id in sorted(state.agent_ids()):
        for name in sorted(layout.AGENT_FILES):
            data = state.read(layout.agent_path(agent_id, name, 1))
            if data is not None:
                out[layout.agent_path(agent_id, name, 1)] = None
                out[layout.agent_path(agent_id, name, 2)] = data
    out[layout.GITATTRIBUTES_PATH] = _attributes(state.read(layout.GITATTRIBUTES_PATH))
    changes = [Change(p, state.read(p), d) for p, d in out.items()]
    out.update(indexcheck.full_index(Overlay(state, changes)))
    return out


def _attributes(old: bytes | None) -> bytes:
    text = (old or b"").decode("utf-8", errors="replace")
    have = {" ".join(line.split()) for line in text.splitlines()}
    missing = [line for line in (*layout.REQUIRED_ATTRIBUTES[2], layout.TRUST_ATTRIBUTE)
               if line not in have]
    if text and not text.endswith("\n"):
        text += "\n"
    return (text + "".join(line + "\n" for line in missing)).encode()


def check(ctx: Context) -> None:
    """The rule for a commit that turns a format-1 parent into format 2."""
    from git_elite.core import rules

    change = ctx.changes.get(layout.IDENTITY)
    if change is not None:
        rules.check_slot(ctx, layout.Slot("identity", layout.IDENTITY), change)
    _identity_unchanged(ctx)
    for path, item in sorted(ctx.changes.items()):
        if item.refused is not None:  # a mode or size problem found before reading it
            ctx.problems.append(item.refused)
            continue
        if path in (layout.IDENTITY, layout.GITATTRIBUTES_PATH):
            continue
        slot = layout.classify(path, 2)
        if slot is not None and slot.kind in layout.DERIVED:
            continue
        if not _moved(ctx, item):
            ctx.add("layout", path, "a migration to format 2 only moves agents/<agent_id>/ "
                    "unchanged to agents/<ab>/<agent_id>/ and writes the index; make it with "
                    "`git elite migrate` and commit other changes after it")
    rules.attributes(ctx, ctx.new.read(layout.GITATTRIBUTES_PATH))
    for agent_id in ctx.parent.agent_ids():
        for name in layout.AGENT_FILES:
            path = layout.agent_path(agent_id, name, 1)
            if path not in ctx.changes and ctx.parent.read(path) is not None:
                ctx.add("layout", path, "not moved to agents/<ab>/<agent_id>/ by the "
                        "migration to format 2")


def _identity_unchanged(ctx: Context) -> None:
    old, new = ctx.parent_identity, ctx.new_identity
    if old is None or new is None:
        return
    if {k: v for k, v in old.items() if k not in IDENTITY_FIELDS} != \
            {k: v for k, v in new.items() if k not in IDENTITY_FIELDS}:
        ctx.add("identity", layout.IDENTITY, "a migration to format 2 changes only version, "
                "format, created_at and the signatures of IDENTITY.json")


def _moved(ctx: Context, change: Change) -> bool:
    """An old agent path removed with its bytes now at the new path, or a new agent path
    whose bytes were at the old one (and left it)."""
    old_slot, new_slot = layout.classify(change.path, 1), layout.classify(change.path, 2)
    if old_slot is not None and old_slot.kind == "agent" and change.new is None:
        target = layout.agent_path(old_slot.agent_id, old_slot.name, 2)
        return ctx.new.read(target) == change.old
    if new_slot is not None and new_slot.kind == "agent" and change.old is None:
        source = ctx.changes.get(layout.agent_path(new_slot.agent_id, new_slot.name, 1))
        return source is not None and source.new is None and source.old == change.new
    return False
