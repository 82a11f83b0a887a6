"""A whole-registry audit (`verify` without --history), streamed. Pure: over a State.

Every file is checked as if added to an empty registry, as `engine.check_change` does, but
a piece at a time so memory stays flat in the registry's size: first every file outside
agents/ and index/, then the agents one directory at a time (format 2: `agents/<ab>/`;
format 1: the agents whose id starts with `<ab>`). Each piece's index entries are turned into
its expected shard at once (compared with index/<ab>.json and its digest), and folded into
the counts and the rankings data (`shards.Ranks`, bounded); the head is compared at the end.
With many agents the pieces are shared between two processes (`fanout.halves`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from git_elite.core import context, documents, engine, fanout, indexing, layout, shards
from git_elite.core.errors import EliteError, Problem
from git_elite.core.state import EMPTY, Change, State, additions

PARALLEL_MIN_PIECES = 8


@dataclass
class Tally:
    """What the pieces add up to: problems, shard summaries, elite count, rankings data,
    and (format 1 only) every entry."""

    problems: list[Problem] = field(default_factory=list)
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    elite: int = 0
    ranks: shards.Ranks = field(default_factory=shards.Ranks)
    entries: dict[str, Any] = field(default_factory=dict)
    ranked: dict[str, Any] = field(default_factory=dict)  # entries of the rows still kept

    def join(self, other: Tally) -> None:
        self.problems += other.problems
        self.summary.update(other.summary)
        self.elite += other.elite
        self.ranks.join(other.ranks)
        self.entries.update(other.entries)
        self.ranked.update(other.ranked)
        self.keep_ranked()

    def keep_ranked(self) -> None:
        """Drop the entries of agents no ranking row holds any more: index/ranked.json is
        built from the entries the pieces made, with no second read of their manifests, and
        memory stays flat in the registry's size."""
        kept = {agent_id for rows in self.ranks.rows.values() for _, agent_id in rows}
        for agent_id in [a for a in self.ranked if a not in kept]:
            del self.ranked[agent_id]


def audit(state: State) -> list[Problem]:
    """Every problem of the registry `state`, checked whole."""
    fmt = layout.format_of(_identity(state))
    head = _check(state, _outside(state, fmt))
    pieces = _pieces(state, fmt)
    if len(pieces) >= PARALLEL_MIN_PIECES:
        halves = fanout.halves(pieces, lambda part: _agents(state, fmt, part))
    else:
        halves = [_agents(state, fmt, pieces)]
    tally = Tally()
    for half in halves:
        tally.join(half)
    problems = _unique(head.problems + tally.problems)
    return problems + _index(state, fmt, tally)


def _identity(state: State) -> dict[str, Any] | None:
    raw = state.read(layout.IDENTITY)
    try:
        doc = documents.parse(raw, layout.IDENTITY, documents.REGISTRY_IDENTITY) if raw \
            else None
    except EliteError:
        return None
    return doc.body if doc is not None and not documents.check_shape(doc) else None


def _outside(state: State, fmt: int) -> dict[str, bytes]:
    """Every file outside agents/, and under index/ what is not a shard (small)."""
    files: dict[str, bytes] = {}
    for name in state.names(""):
        if name not in ("agents", "index") or state.read(name) is not None:
            files.update(_under(state, name))
    for name in state.names("index"):  # anything under index/ that is not an index file
        path = f"index/{name}"
        if path == layout.TRUST_DIR and fmt >= 2 and state.read(path) is None:
            for inner in state.names(path):
                if layout.classify(f"{path}/{inner}", fmt) is None:
                    files.update(_under(state, f"{path}/{inner}"))
        elif layout.classify(path, fmt) is None:
            files.update(_under(state, path))
    return files


def _pieces(state: State, fmt: int) -> list[str]:
    """The agents/ pieces: `<ab>` directories (format 2) or id prefixes (format 1)."""
    names = state.names("agents")
    if fmt >= 2:
        return names
    return sorted({name[:2] for name in names})


def _check(state: State, files: dict[str, bytes]) -> context.Context:
    """The engine over `files`, plus the entries the state refused unread while listing
    them (a symlink, gitlink, oversized blob: git.TreeState.take_refusals)."""
    taken = getattr(state, "take_refusals", None)
    refused = [Change(path, None, None, problem) for path, problem in (taken() if taken
                                                                         else [])]
    return engine.check_context(EMPTY, additions(files) + refused, state, legacy=True,
                                pins=True)


def _agents(state: State, fmt: int, pieces: Sequence[str]) -> Tally:
    tally = Tally(ranks=shards.Ranks())
    groups = _groups(state, fmt, pieces)
    for ab in pieces:
        piece = Piece(state, groups[ab])
        files = piece.files
        ctx = _check(piece, files)
        tally.problems += ctx.problems
        ids = sorted({a for p in files if (a := layout.agent_id_in(p))})
        live = {a: e for a in ids if (e := _entry(ctx, a)) is not None}
        if fmt < 2:
            tally.entries.update(live)
        elif live:
            tally.problems += _shard(state, ab, live, tally)
    return tally


def _groups(state: State, fmt: int, pieces: Sequence[str]) -> dict[str, list[str]]:
    """The directories under agents/ that make up each piece (listed once, not per piece)."""
    if fmt >= 2:
        return {ab: [f"agents/{ab}"] for ab in pieces}
    groups: dict[str, list[str]] = {ab: [] for ab in pieces}
    for name in state.names("agents"):
        if name[:2] in groups:
            groups[name[:2]].append(f"agents/{name}")
    return groups


class Piece:
    """The registry state as one piece's check sees it: the files under the piece's
    directories read once (one tree listing each) and served from memory, everything else
    (IDENTITY.json, identities/, index/) from the whole state. Each agent's reads by path
    then cost a dict lookup, whatever the registry's size."""

    def __init__(self, base: State, dirs: list[str]):
        self.base = base
        self.dirs = tuple(d + "/" for d in dirs)
        self.files: dict[str, bytes] = {}
        for directory in dirs:
            self.files.update(_under(base, directory))
        taken = getattr(base, "take_refusals", None)
        self.refusals = taken() if taken else []
        # every directory of the piece -> the names right under it, built once (a listing
        # per agent, of its attestations/, must not scan the whole piece)
        self.listed: dict[str, set[str]] = {}
        for path in [*self.files, *(path for path, _ in self.refusals)]:
            parts = path.split("/")
            for depth in range(1, len(parts)):
                self.listed.setdefault("/".join(parts[:depth]), set()).add(parts[depth])

    def take_refusals(self) -> list[tuple[str, Problem]]:
        found, self.refusals = self.refusals, []
        return found

    def _mine(self, path: str) -> bool:
        return (path + "/").startswith(self.dirs) if self.dirs else False

    def read(self, path: str) -> bytes | None:
        return self.files.get(path) if self._mine(path) else self.base.read(path)

    def names(self, directory: str) -> list[str]:
        if self._mine(directory):
            return sorted(self.listed.get(directory.rstrip("/"), ()))
        return self.base.names(directory)

    def subtree(self, directory: str) -> dict[str, bytes]:
        if self._mine(directory):
            prefix = directory + "/"
            return {p: d for p, d in self.files.items() if p.startswith(prefix)}
        return self.base.subtree(directory)

    def agent_ids(self) -> Iterable[str]:
        return self.base.agent_ids()


def _under(state: State, path: str) -> dict[str, bytes]:
    """The file at `path`, or every file under it."""
    data = state.read(path)
    return {path: data} if data is not None else state.subtree(path)


def _entry(ctx: context.Context, agent_id: str) -> dict[str, Any] | None:
    from git_elite.core import indexcheck

    return indexcheck.entry(ctx, agent_id)


def _shard(state: State, ab: str, live: dict[str, Any], tally: Tally) -> list[Problem]:
    """Compare index/<ab>.json with the piece's entries; fold them into the tally."""
    path = layout.shard_path(ab)
    raw = state.read(path)
    value = shards.shard(ab, live)
    data = indexing.dumps(value)
    tally.summary[ab] = {"agents": len(live), "sha256": shards.digest(data)}
    tally.elite += sum(1 for e in live.values() if e.get("elite") is True)
    tally.ranks.add(live.items())
    tally.ranked.update((a, e) for a, e in live.items() if shards.rows_of(a, e))
    tally.keep_ranked()
    if raw is None:
        return [Problem("index", path, f"{path} is missing; run `git elite index`")]
    if raw == data:
        return []
    try:
        found = context.strict_index(raw, path)
    except EliteError as err:
        return [Problem("index", path, f"{path} is not strict JSON ({err.message}); run "
                        "`git elite index`")]
    if found != value:
        from git_elite.core.indexcheck import _diff

        return [Problem("index", path, f"{path} is not the rebuild ({_diff(found, value)}); "
                        "run `git elite index`")]
    return [Problem("index", path, "its bytes are not the written form (write index files "
                    "with `git elite index`)")]


def _index(state: State, fmt: int, tally: Tally) -> list[Problem]:
    """The head (format 2) or INDEX.json (format 1) against what the pieces add up to."""
    identity = _identity(state) or {}
    if fmt < 2:
        want: dict[str, Any] = indexing.update_entries({}, identity, tally.entries)
    else:
        want = shards.head(identity, dict(sorted(tally.summary.items())), tally.elite,
                           tally.ranks)
    problems: list[Problem] = []
    for name in state.names("index") if fmt >= 2 else ():
        slot = layout.classify(f"index/{name}")
        if slot is not None and slot.kind == "shard" and slot.name not in tally.summary:
            problems.append(Problem("index", slot.path, "no live agent is under its "
                                    "agents/<ab>/, so it must not exist; run `git elite "
                                    "index`"))
    if fmt >= 2:
        from git_elite.core import pinning

        if pinning.written_before_pins(state):
            return [Problem("index", layout.INDEX, "INDEX.json pins nothing yet (written "
                            "before docs/spec.md §6.2): upgrade the registry in a commit of "
                            "its own, `git elite index` then commit the index files alone "
                            "(or `git elite migrate`)"), *problems]
        want.update(_pins(state, want, problems, tally.ranked))
    raw = state.read(layout.INDEX)
    if raw is None:
        return [Problem("index", layout.INDEX, "INDEX.json is missing; run `git elite index`"),
                *problems]
    try:
        found = context.strict_index(raw)
    except EliteError as err:
        return [Problem("index", layout.INDEX, f"INDEX.json is not strict JSON "
                        f"({err.message}); run `git elite index`"), *problems]
    if found != want:
        from git_elite.core.indexcheck import _diff

        problems.insert(0, Problem("index", layout.INDEX, f"INDEX.json is not the rebuild "
                                   f"({_diff(found, want)}); run `git elite index`"))
    return problems


def _pins(state: State, head: dict[str, Any], problems: list[Problem],
          ranked: dict[str, Any]) -> dict[str, Any]:
    """The head's pins (SPEC §6.2) of the whole state; index/ranked.json and the trust
    shards compared with what they must be (problems appended). `ranked`: the entries the
    pieces made of the agents the rankings hold."""
    from git_elite.core import indexcheck, pins

    ctx = context.Context(EMPTY, state, {})
    context.formats(ctx)
    out = indexcheck.Rebuilt()
    found = dict(head)
    files = pins.pinned(found, lambda a: ranked[a] if a in ranked else indexcheck.entry(ctx, a),
                        state.read(layout.IDENTITY),
                        ctx.new_identity, pins.trust_listing(state.read, state.names))
    for path, (value, written) in files.items():
        out.put(path, value, written)
    for path in indexcheck._index_paths(state):
        slot = layout.classify(path)
        if slot is not None and slot.kind in ("ranked", "trust") and path not in out.files:
            out.put(path, None)
    for path, data in sorted(out.files.items()):
        raw = state.read(path)
        if raw == data:
            continue
        if data is None:
            problems.append(Problem("index", path, "no trust document is in it, so it must "
                                    "not exist; run `git elite index`"))
        elif raw is None:
            problems.append(Problem("index", path, f"{path} is missing; run `git elite index`"))
        else:
            problems.append(Problem("index", path, f"{path} is not the rebuild; run "
                                    "`git elite index`"))
    return {k: found[k] for k in pins.MEMBERS}


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            out.append(problem)
    return out
