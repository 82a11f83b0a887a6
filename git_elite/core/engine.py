"""The rule engine of SPEC §7: (parent state, changes, new state) -> every problem found.

Pure: no git, no printing. pre-commit, pre-receive, `verify`, `publish` and `discover` all
call `check_change`; nothing re-implements a rule. Only the changed paths are read, plus what
the rules need (the parent's IDENTITY.json and INDEX.json, a rotation file by path).
"""

from __future__ import annotations

from git_elite.core import fanout, layout, pinning, rules, ticks
from git_elite.core.context import MAX_CLOCK_SKEW, Context, formats
from git_elite.core.errors import Problem
from git_elite.core.state import Change, State

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

_SECRETS = (
    (rb'"secretKeyBase58"\s*:', "a secretKeyBase58 field (an identity secret key)"),
    (rb"-----BEGIN OPENSSH PRIVATE KEY-----", "an OpenSSH private key block"),
    (rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----", "a PEM private key block"),
)  # regular expressions, compiled (`re` imported) only for a file holding one of:

# every pattern above contains one of these words (a fast exact pre-filter)
_SECRET_WORDS = (b"secretKeyBase58", b"PRIVATE KEY-----")


def check_change(parent: State, changes: Iterable[Change], new: State, *,
                 check_index: bool = True, now: int | None = None,
                 max_skew: int = MAX_CLOCK_SKEW, legacy: bool = False,
                 pins: bool | None = None,
                 unfetched_profiles: frozenset[str] = frozenset()) -> list[Problem]:
    """Every problem of one commit (its diff against its parent), all of them, in path order.
    With `now` (the verifier's clock), a document whose created_at is more than `max_skew`
    seconds ahead of it is refused (`rollback`: the fast-forward attack). A change to a
    format-1 registry other than its migration (`migration.check`) is refused unless
    `legacy` (audits of old history, `verify`); so is, on a format-2 registry whose head
    pins nothing yet, any change but the upgrade (SPEC §6.2). `pins`: whether the index
    must carry the pins (default: yes, except, with `legacy`, in history written before
    them: neither the parent's head nor the new one declares them). `unfetched_profiles`:
    agent_ids whose profile.json the reader deliberately did not read (`discover` over
    HTTP under a signed head that pins the manifest's bytes): the `binding` rule does not
    call that profile missing; every other check, of the binding rule too, still runs."""
    ctx = check_context(parent, changes, new, now=now, max_skew=max_skew, legacy=legacy,
                        pins=pins, unfetched_profiles=unfetched_profiles)
    if check_index:  # (imported here: discover's top 20 checks agents, not an index)
        from git_elite.core import indexcheck

        indexcheck.check(ctx)
    return ctx.problems


def check_context(parent: State, changes: Iterable[Change], new: State, *,
                  now: int | None = None, max_skew: int = MAX_CLOCK_SKEW,
                  legacy: bool = False, pins: bool | None = None,
                  unfetched_profiles: frozenset[str] = frozenset()) -> Context:
    """`check_change` without the index rule; the Context keeps the index entries of the
    manifests it checked (`audit` builds the index from them, shard by shard)."""
    ctx = Context(parent, new, {c.path: c for c in changes})
    ctx.latest = None if now is None else now + max_skew
    ctx.unfetched_profiles = unfetched_profiles
    formats(ctx)
    if pins is not None:
        ctx.pins = pins
    elif legacy:
        ctx.pins = not pinning.written_before_pins(new) or \
            pinning.declares_pins(parent)
    if not legacy:
        pinning.upgrade_first(ctx)
    if ctx.parent_fmt == 1 and ctx.fmt >= 2:
        from git_elite.core import migration  # the one format-1 commit: not loaded per hook

        migration.check(ctx)
    else:
        if ctx.fmt == 1 and not legacy and ctx.changes:
            ctx.add("layout", layout.IDENTITY, "this registry is in format 1, which accepts no "
                    "change but its migration: run `git elite migrate` (SPEC §4)")
        _check_paths(ctx, rules)
    if ctx.new_identity is None and not any(p.path == layout.IDENTITY for p in ctx.problems):
        ctx.add("identity", layout.IDENTITY, "the registry has no valid IDENTITY.json")
    return ctx


def _check_paths(ctx: Context, rules: Any) -> None:
    agents: dict[str, dict[str, Change]] = {}
    for path, change in sorted(ctx.changes.items()):
        ticks.step("files")
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
    import re

    for pattern, what in _SECRETS:
        if re.search(pattern, change.new):
            ctx.add("secret", change.path, f"contains {what}; secret material is never "
                    "committed (remove the file and rotate the key if it was shared)")
            return


def expected_index(parent: State, changes: Iterable[Change], new: State) -> dict[str, Any]:
    """INDEX.json of `new` as a value (the head in format 2): see `expected_files`."""
    from git_elite.core import indexcheck  # (an index checked or built: not by a reader)

    ctx = Context(parent, new, {c.path: c for c in changes})
    formats(ctx)
    value: dict[str, Any] = indexcheck.expected(ctx).values[layout.INDEX]
    return value


def rebuild(parent: State, changes: Iterable[Change], new: State) -> Any:
    """The index files of `new` (indexcheck.Rebuilt: bytes, values and rankings data)."""
    from git_elite.core import indexcheck  # (an index checked or built: not by a reader)

    ctx = Context(parent, new, {c.path: c for c in changes})
    formats(ctx)
    return indexcheck.expected(ctx)


def expected_files(parent: State, changes: Iterable[Change], new: State
                   ) -> dict[str, bytes | None]:
    """The index files `new` must carry where they differ from the parent's or may: INDEX.json
    and (format 2) each touched shard, as bytes (None: the shard must not exist)."""
    from git_elite.core import indexcheck  # (an index checked or built: not by a reader)

    ctx = Context(parent, new, {c.path: c for c in changes})
    formats(ctx)
    return indexcheck.expected(ctx).files


def full_index(state: State) -> dict[str, bytes | None]:
    """Every index file of `state` from scratch (reads every manifest: `index`, audits)."""
    from git_elite.core import indexcheck  # (an index checked or built: not by a reader)

    return indexcheck.full_index(state)
