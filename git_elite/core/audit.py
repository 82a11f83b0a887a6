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

from git_elite.core import cjson, context, documents, engine, fanout, indexing, layout, shards
from git_elite.core.errors import EliteError, Problem
from git_elite.core.state import EMPTY, Change, State, additions, blob_id, sha256_hex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any, NamedTuple, Protocol
else:  # (no dataclasses, typing or collections on a second verify's path: SPEC §12)
    from git_elite.core.records import NamedTuple

    Protocol = object

PARALLEL_MIN_PIECES = 8
_SORTED = cjson.Encoder(sort_keys=True)  # index/ranked.json's value digest (_ranked_bytes)
KEEP_SLACK = 512  # Tally.join: entries of unranked agents let gather before they are dropped


class Tally:
    """What the pieces add up to: problems, shard summaries, elite count, rankings data,
    and (format 1 only) every entry. (A plain class: each field gets its own fresh default,
    as the dataclass's default factories gave; nothing compares or prints a Tally.)"""

    __slots__ = ("problems", "summary", "elite", "ranks", "entries", "pieces", "cut",
                 "ranked", "kept", "ranked_known", "ranked_pin", "ranked_last",
                 "ranked_blob", "ranked_agents")

    def __init__(self, *, problems: list[Problem] | None = None,
                 summary: dict[str, dict[str, Any]] | None = None, elite: int = 0,
                 ranks: shards.Ranks | None = None, entries: dict[str, Any] | None = None,
                 pieces: dict[str, PieceMemo] | None = None,
                 cut: dict[str, shards.Row] | None = None,
                 ranked: dict[str, Any] | None = None, kept: int = 0,
                 ranked_known: tuple[str, str] | None = None,
                 ranked_pin: tuple[str, str] | None = None) -> None:
        self.problems: list[Problem] = [] if problems is None else problems
        self.summary: dict[str, dict[str, Any]] = {} if summary is None else summary
        self.elite = elite
        self.ranks: shards.Ranks = shards.Ranks() if ranks is None else ranks
        self.entries: dict[str, Any] = {} if entries is None else entries
        self.pieces: dict[str, PieceMemo] = {} if pieces is None else pieces  # format 2,
        # checked clean
        self.cut: dict[str, shards.Row] = {} if cut is None else cut  # see Remembered.cut
        self.ranked: dict[str, Any] = {} if ranked is None else ranked  # entries of the
        # rows still kept
        self.kept = kept  # len(ranked) after the last keep_ranked
        # index/ranked.json: the remembered (value digest, bytes digest) the audit may use,
        # and this audit's own, for the next memory (`_ranked_bytes`)
        self.ranked_known = ranked_known
        self.ranked_pin = ranked_pin
        # the remembered file's blob id and the entries it holds (the memory's `ranked`),
        # to edit its bytes where agents changed; this tree's blob id, for the next memory
        self.ranked_last: tuple[str, dict[str, Any]] | None = None
        self.ranked_blob: str | None = None
        self.ranked_agents: dict[str, Any] | None = None  # the value's entries (`_remembered`)

    def join(self, other: Tally) -> None:
        self.problems += other.problems
        self.summary.update(other.summary)
        self.elite += other.elite
        self.ranks.join(other.ranks)
        self.entries.update(other.entries)
        self.pieces.update(other.pieces)
        for key, row in other.cut.items():
            self.cut[key] = min(row, self.cut.get(key, row))
        self.ranked.update(other.ranked)
        if len(self.ranked) > 2 * self.kept + KEEP_SLACK:  # not a scan of every row per piece
            self.keep_ranked()

    def keep_ranked(self) -> None:
        """Drop the entries of agents no ranking row holds any more: index/ranked.json is
        built from the entries the pieces made, with no second read of their manifests, and
        memory stays flat in the registry's size (`join` lets at most twice what was kept,
        plus KEEP_SLACK, gather before it drops; extra entries are only looked up by id)."""
        kept = {agent_id for rows in self.ranks.rows.values() for _, agent_id in rows}
        for agent_id in [a for a in self.ranked if a not in kept]:
            del self.ranked[agent_id]
        self.kept = len(self.ranked)


class PieceMemo(NamedTuple):
    """A format-2 piece (`agents/<ab>/` and index/<ab>.json) checked without a problem:
    `key` (piece_key: the ids of its tree and shard), its shard summary, elite count and
    how many agents it put in each ranking."""

    key: str
    summary: dict[str, Any] | None  # None: no live agent, no shard
    elite: int
    counts: dict[str, int]


class Remembered(NamedTuple):
    """The verified-tree memory of one clean audit: every piece's PieceMemo and the
    rankings data of the whole tree (shards.Ranks counts and rows). `cut[key]`: the rows of
    that ranking are every row better than or equal to it (a piece or the depth limit left
    the worse ones out); no cut: every row is there."""

    pieces: dict[str, PieceMemo]
    counts: dict[str, int]
    rows: dict[str, list[shards.Row]]
    cut: dict[str, shards.Row]
    ranked: dict[str, Any]  # entries of the ranked agents
    # index/ranked.json as checked: (the digest of its value in compact sorted JSON, the
    # SHA-256 of its written bytes); None: not known (`_ranked_bytes`)
    ranked_pin: tuple[str, str] | None = None
    # the git blob id of that index/ranked.json (whose bytes the next audit edits where
    # ranked agents changed, `_ranked_edited`); None: not known
    ranked_blob: str | None = None


class Memory(Protocol):
    """Where the last Remembered of a tree checked in the same context is kept (edges:
    a file under $AGENTD_HOME, keyed by the context, the rules' and libraries' versions)."""

    def recall(self) -> Remembered | None: ...

    def keep(self, remembered: Remembered) -> None: ...


def audit(state: State, memory: Memory | None = None, *, recall: bool = True
          ) -> list[Problem]:
    """Every problem of the registry `state`, checked whole. With `memory` (format 2, a
    state that gives object ids: git.TreeState), the pieces whose tree and shard ids are
    those of the last clean audit in the same context are not read again: their shard
    summary and rankings come from the memory; a clean result is remembered."""
    fmt = layout.format_of(_identity(state))
    head = _check(state, _outside(state, fmt))
    pieces = _pieces(state, fmt)
    keys = {ab: piece_key(state, ab) for ab in pieces} if memory and fmt >= 2 else {}
    last = memory.recall() if memory and recall and keys and None not in keys.values() \
        else None
    base = _recalled(last, keys) if last is not None else None
    todo = [ab for ab in pieces if base is None or ab not in base.pieces]
    # a changed piece remembered clean: only its changed agent directories are checked
    older = {ab: last.pieces[ab] for ab in todo if ab in last.pieces} \
        if last is not None else {}
    if len(todo) >= PARALLEL_MIN_PIECES:
        halves = fanout.halves(todo, lambda part: _agents(state, fmt, part, keys, older,
                                                          last))
    else:
        halves = [_agents(state, fmt, todo, keys, older, last)]
    tally = base or Tally()
    for half in halves:
        tally.join(half)
    if last is not None:
        tally.ranked_known = last.ranked_pin
        if last.ranked_blob is not None:
            tally.ranked_last = (last.ranked_blob, last.ranked)
    if (base is not None or older) and not _complete(tally):
        return audit(state, memory, recall=False)  # too few rows kept: read it all
    problems = _unique(head.problems + tally.problems)
    problems += _index(state, fmt, tally)
    if memory is not None and keys and not problems and len(tally.pieces) == len(pieces):
        memory.keep(_remembered(tally))
    return problems


def piece_key(state: State, ab: str) -> str | None:
    """The ids (with modes) of `agents/<ab>` and index/<ab>.json; None when the state gives
    no ids."""
    tree_id = getattr(state, "tree_id", None)
    if tree_id is None:
        return None
    return f"{tree_id(f'agents/{ab}')} {tree_id(layout.shard_path(ab))}"


def memory_context(state: State) -> str | None:
    """What a piece's check reads besides the piece itself, as one digest: the id and mode
    of every entry at the top of the tree other than agents/, index/ and INDEX.json
    (IDENTITY.json and its policy, identities/, endorsements/, .gitattributes, ...). The
    head and index/'s other files are checked by every audit. None: no ids."""
    tree_id = getattr(state, "tree_id", None)
    if tree_id is None:
        return None
    parts = [f"{name}\0{tree_id(name)}\n" for name in state.names("")
             if name not in ("agents", "index", layout.INDEX)]
    return sha256_hex("".join(parts).encode("utf-8", "surrogateescape"))


def _recalled(last: Remembered, keys: Mapping[str, str | None]) -> Tally | None:
    """A Tally of the pieces whose keys are the remembered ones: their summaries and the
    remembered rankings without the rows of every other piece (None: no piece is)."""
    same = {ab: memo for ab, memo in last.pieces.items() if keys.get(ab) == memo.key}
    if not same:
        return None
    gone = set(last.pieces) - set(same)
    counts = dict(last.counts)
    for ab in gone:
        for key, n in last.pieces[ab].counts.items():
            counts[key] = counts.get(key, 0) - n
    counts = {k: n for k, n in counts.items() if n > 0}
    rows = {k: [r for r in last.rows.get(k, []) if r[1][:2] not in gone] for k in counts}
    return Tally(summary={ab: dict(m.summary) for ab, m in same.items() if m.summary},
                 elite=sum(m.elite for m in same.values()), pieces=dict(same),
                 ranks=shards.Ranks(counts, rows), cut=dict(last.cut),
                 ranked={a: e for a, e in last.ranked.items() if a[:2] in same})


def _complete(tally: Tally) -> bool:
    """Whether each ranking holds, in its rows known to be complete (not worse than its
    cut), as many as the head shows of it."""
    ranks = tally.ranks
    for key, rows in ranks.rows.items():
        cut = tally.cut.get(key)
        if cut is not None:
            rows[:] = [r for r in rows if r <= cut]
    return all(len(ranks.rows.get(k, ())) >= min(n, shards.RANKINGS_LIMIT)
               for k, n in ranks.counts.items())


def _remembered(tally: Tally) -> Remembered:
    ranks, cut = tally.ranks, dict(tally.cut)
    for key, rows in ranks.rows.items():
        if ranks.counts.get(key, 0) > len(rows) and rows:  # the depth limit left some out
            cut[key] = min(rows[-1], cut.get(key, rows[-1]))
    _complete(Tally(ranks=ranks, cut=cut))
    # the entries of the agents a ranking shows now (what index/ranked.json holds): one that
    # moves up into a ranking later is read from its manifest (`_pins`), and the file stays
    # ~1/3 of the size it has with every kept row's entry (json in and out of ~1.5 MB was
    # ~0.2 s of a second verify at load 7)
    shown = {a for rows in ranks.rows.values() for _, a in rows[:shards.RANKINGS_LIMIT]}
    ranked = {a: e for a, e in tally.ranked.items() if a in shown}
    # the blob id only when these entries are exactly the file's value (the very objects
    # it was written from): the next audit edits its bytes where entries differ from them
    agents = tally.ranked_agents
    same = tally.ranked_pin is not None and agents is not None and \
        len(agents) == len(ranked) and all(ranked.get(a) is e for a, e in agents.items())
    return Remembered(dict(tally.pieces), dict(ranks.counts),
                      {k: list(v) for k, v in ranks.rows.items()}, cut, ranked,
                      tally.ranked_pin, tally.ranked_blob if same else None)


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


def _agents(state: State, fmt: int, pieces: Sequence[str],
            keys: Mapping[str, str | None] | None = None,
            older: Mapping[str, PieceMemo] | None = None,
            last: Remembered | None = None) -> Tally:
    """Check the pieces; `older`: the PieceMemo of a piece remembered clean in the same
    context (`last`), whose unchanged agents are then taken from memory (`_reused`)."""
    tally = Tally(ranks=shards.Ranks())
    groups = _groups(state, fmt, pieces)
    outside = Outside(state)  # one per process: what every piece reads outside itself
    for ab in pieces:
        key = (keys or {}).get(ab)
        memo = (older or {}).get(ab)
        if memo is not None and last is not None and fmt >= 2:
            reused = _reused(state, ab, memo, last, key, outside)
            if reused is not None:
                tally.join(reused)
                continue
        piece = Piece(state, groups[ab], outside)
        files = piece.files
        ctx = _check(piece, files)
        tally.problems += ctx.problems
        ids = sorted({a for p in files if (a := layout.agent_id_in(p))})
        live = {a: e for a in ids if (e := _entry(ctx, a)) is not None}
        if fmt < 2:
            tally.entries.update(live)
        elif live:
            tally.join(_piece(state, ab, live, key, not ctx.problems))
        elif key and not ctx.problems:  # only tombstones: no shard
            tally.pieces[ab] = PieceMemo(key, None, 0, {})
    return tally


def _reused(state: State, ab: str, memo: PieceMemo, last: Remembered, key: str | None,
            outside: Outside | None = None) -> Tally | None:
    """Per-agent reuse inside a changed piece that was remembered clean (`memo`, in `last`):
    the names under `agents/<ab>/` whose entries differ from the remembered tree's (changed,
    added or removed agents, or anything else put there) are checked again, whole, by the
    same engine call as a full check of the piece; every other agent's index entry is the
    remembered shard's, and the shard the piece must carry is the
    rebuild from those entries and the fresh ones, compared as a full check compares it.
    That is exactly a full check: an unchanged directory is the same bytes, checked in the
    same context (the memory's key), and each agent's checks and entry read only its own
    directory and that context. The remembered shard's bytes come from today's shard less
    the changed agents when their digest is the remembered one (`_unspliced`), else from its
    blob. None (check the whole piece) when the state cannot compare trees, the remembered
    tree or shard is not in the object store any more, or the memory does not add up."""
    found = _remembered_piece(state, ab, memo)
    if found is None:
        return None
    names, blob, blob_by_id = found
    piece = Piece(state, [f"agents/{ab}/{name}" for name in names], outside)
    files = piece.files
    ctx = _check(piece, files)
    ids = sorted({a for p in files if (a := layout.agent_id_in(p))})
    fresh = {a: e for a in ids if (e := _entry(ctx, a)) is not None}
    clean = not ctx.problems
    raw = state.read(layout.shard_path(ab))  # (read here, after the check, as before)
    old = None
    if blob is not None and memo.summary is not None:
        old = _unspliced(raw, ab, memo.summary, names) or \
            blob_by_id(layout.shard_path(ab), blob)
        if old is None:  # (it was there a moment ago): the whole piece is checked
            return None
    mine = _spliced(state, ab, memo, last, names, old, fresh, key, clean, raw)
    if mine is None:  # the shard is not the spliced one (or cannot be spliced): parse it
        kept = _kept(old, ab, memo, names)
        if kept is None:
            return None
        live = dict(sorted({**kept, **fresh}.items()))
        mine = Tally(ranks=shards.Ranks())
        if live:
            mine.join(_piece(state, ab, live, key, clean))
        elif key and clean:
            mine.pieces[ab] = PieceMemo(key, None, 0, {})
    mine.problems[:0] = ctx.problems
    return mine


def _remembered_piece(state: State, ab: str, memo: PieceMemo
                      ) -> tuple[list[str], str | None, Callable[[str, str], bytes | None]
                                 ] | None:
    """(the names under agents/<ab>/ that differ from the remembered tree's, the remembered
    shard's blob id or None when it had no shard, the state's read by blob id); None when
    they cannot be had. The
    shard's bytes are had by `_unspliced`, else read by that id (`_reused`)."""
    changed_names = getattr(state, "changed_names", None)
    blob_by_id = getattr(state, "blob_by_id", None)
    if changed_names is None or blob_by_id is None:
        return None
    parts = memo.key.split(" ")  # piece_key: "40000 <tree> 100644 <blob>" / "... None"
    if len(parts) == 4 and parts[0] == "40000" and parts[2] == "100644" and memo.summary:
        blob: str | None = parts[3]
    elif len(parts) == 3 and parts[0] == "40000" and parts[2] == "None" and \
            memo.summary is None:
        blob = None
    else:
        return None
    has = getattr(state, "has_object", None)
    if blob is not None and (has is None or not has(blob)):
        return None  # not in the object store any more: found out before reading anything
    names = changed_names(f"agents/{ab}", parts[1])
    return None if names is None else (names, blob, blob_by_id)


def _unspliced(raw: bytes | None, ab: str, summary: Mapping[str, Any], names: list[str]
               ) -> bytes | None:
    """The remembered shard's bytes, had without reading its blob (at 1M agents a ~3 MB
    blob deep in a delta chain of the pack, ~0.6 s): index/<ab>.json as it is now less the
    items of the changed agents (`shardsplice.edit`), when their SHA-256 is the one the
    memory holds for the remembered shard (its `summary`, of the bytes checked clean).
    That is the case when every changed agent is new to the piece (the usual push: agents
    added); any other case (an agent changed or removed, a shard not in the written
    shape) gives None and the caller reads the blob by id. Equal digests are equal bytes,
    so what follows is what the blob read gives."""
    touched = {n: None for n in names if layout.is_agent_id(n)}
    if raw is None or not touched:
        return None
    from git_elite.core import shardsplice

    try:
        done = shardsplice.edit(raw, ab, touched)
    except (ValueError, RecursionError):  # today's bytes, not vouched for: read the blob
        return None
    if done is None or shards.digest(done.data) != summary.get("sha256"):
        return None
    return done.data


def _kept(old: bytes | None, ab: str, memo: PieceMemo, names: list[str]
          ) -> dict[str, Any] | None:
    """The remembered shard's entries of the agents not in `names` (None: it does not parse
    as the shard the memory says it was)."""
    if old is None:
        return {}
    path = layout.shard_path(ab)
    try:
        value = context.strict_index(old, path)
    except EliteError:
        return None
    if not shards.is_shard(value, ab) or memo.summary is None or \
            len(value["agents"]) != memo.summary["agents"]:
        return None
    gone = set(names)
    return {a: e for a, e in value["agents"].items() if a not in gone}


def _spliced(state: State, ab: str, memo: PieceMemo, last: Remembered, names: list[str],
             old: bytes | None, fresh: dict[str, Any], key: str | None, clean: bool,
             raw: bytes | None) -> Tally | None:
    """The piece's Tally without parsing its shard: the remembered shard's bytes with the
    changed agents' entries edited in (`shardsplice.edit`, the bytes `indexing.dumps` gives
    for all the piece's entries) equal to index/<ab>.json, and what the piece adds up to
    from the memory: its summary, elite count and ranking counts corrected by the changed
    agents' old and new entries, its remembered rankings rows (complete down to the
    remembered cut) less the changed agents' plus theirs. None when the bytes differ or
    cannot be spliced (the caller parses and compares, for the exact problem)."""
    from git_elite.core import shardsplice

    if old is None or memo.summary is None:
        return None
    touched = {n: fresh.get(n) for n in names if layout.is_agent_id(n)}
    try:
        done = shardsplice.edit(old, ab, touched)
    except (ValueError, RecursionError):  # (checked clean before; never trusted to be)
        return None
    if done is None:
        return None
    data, olds, delta = done.data, done.olds, done.delta
    if raw != data:
        return None
    gone = {a: e for a, e in olds.items() if e is not None}
    counts = dict(memo.counts)
    for agent_id, item in gone.items():
        for name in shards.rows_of(agent_id, item):
            counts[name] = counts.get(name, 0) - 1
    rows: dict[str, list[shards.Row]] = {
        name: [r for r in last.rows.get(name, []) if r[1][:2] == ab and r[1] not in touched]
        for name in counts}
    for agent_id, item in fresh.items():
        for name, row in shards.rows_of(agent_id, item).items():
            counts[name] = counts.get(name, 0) + 1
            rows.setdefault(name, []).append(row)
    counts = {name: n for name, n in counts.items() if n > 0}
    rows = {name: sorted(r) for name, r in rows.items() if name in counts}
    elite = sum(1 for e in fresh.values() if e.get("elite") is True) - \
        sum(1 for e in gone.values() if e.get("elite") is True)
    mine = Tally(ranks=shards.Ranks(dict(counts), rows),
                 cut={name: row for name, row in last.cut.items() if name in counts},
                 elite=memo.elite + elite)
    mine.summary[ab] = {"agents": memo.summary["agents"] + delta,
                        "sha256": shards.digest(raw)}
    mine.ranked = {a: e for a, e in last.ranked.items() if a[:2] == ab and a not in touched}
    mine.ranked.update((a, e) for a, e in fresh.items() if shards.rows_of(a, e))
    if key and clean:
        mine.pieces[ab] = PieceMemo(key, dict(mine.summary[ab]), mine.elite, dict(counts))
    return mine


def _piece(state: State, ab: str, live: dict[str, Any], key: str | None, clean: bool
           ) -> Tally:
    """One format-2 piece's shard check and what it adds up to (with its PieceMemo when it
    is clean and has a key)."""
    mine = Tally(ranks=shards.Ranks())
    mine.problems = _shard(state, ab, live, mine)
    for name, rows in mine.ranks.rows.items():
        if mine.ranks.counts[name] > len(rows) and rows:  # the depth limit left some out
            mine.cut[name] = rows[-1]
    if key and clean and not mine.problems:
        mine.pieces[ab] = PieceMemo(key, mine.summary[ab], mine.elite,
                                    dict(mine.ranks.counts))
    return mine


def _groups(state: State, fmt: int, pieces: Sequence[str]) -> dict[str, list[str]]:
    """The directories under agents/ that make up each piece (listed once, not per piece)."""
    if fmt >= 2:
        return {ab: [f"agents/{ab}"] for ab in pieces}
    groups: dict[str, list[str]] = {ab: [] for ab in pieces}
    for name in state.names("agents"):
        if name[:2] in groups:
            groups[name[:2]].append(f"agents/{name}")
    return groups


class Outside:
    """Reads by path of the files outside the pieces (IDENTITY.json once per piece, an
    owner's identities/<nid>/rotation.json once per agent: mostly absent), shared by the
    pieces one process checks: each path is looked up in the tree once, not once per agent.
    The state is read-only, so a remembered answer is the answer; at most MOST paths are
    kept (then it starts again), so memory stays flat in the registry's size."""

    MOST = 4096

    def __init__(self, base: State):
        self.base = base
        self.known: dict[str, bytes | None] = {}

    def read(self, path: str) -> bytes | None:
        try:
            return self.known[path]
        except KeyError:
            pass
        data = self.base.read(path)
        if len(self.known) >= self.MOST:
            self.known.clear()
        self.known[path] = data
        return data


class Piece:
    """The registry state as one piece's check sees it: the files under the piece's
    directories read once (one tree listing each) and served from memory, everything else
    (IDENTITY.json, identities/, index/) from the whole state (through `outside`, shared
    by the pieces). Each agent's reads by path then cost a dict lookup, whatever the
    registry's size."""

    def __init__(self, base: State, dirs: list[str], outside: Outside | None = None):
        self.base = base
        self.outside = outside or Outside(base)
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
        return self.files.get(path) if self._mine(path) else self.outside.read(path)

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
    """Compare index/<ab>.json with the piece's entries; fold them into the tally. When the
    state knows the file's blob id without reading it (a git tree) and it is the id of the
    rebuilt bytes, the file is those bytes: it is not read (a shard sits deep in a delta
    chain of the pack; ~7 µs per agent of git's and this process's CPU at 10k)."""
    path = layout.shard_path(ab)
    value = shards.shard(ab, live)
    data = indexing.dumps(value)
    tally.summary[ab] = {"agents": len(live), "sha256": shards.digest(data)}
    tally.elite += sum(1 for e in live.values() if e.get("elite") is True)
    tally.ranks.add(live.items())
    # shards.rows_of(a, e) is empty exactly when the entry is not elite (not computed twice)
    tally.ranked.update((a, e) for a, e in live.items() if e.get("elite"))
    tally.keep_ranked()
    known = getattr(state, "blob_id", None)
    if known is not None and known(path) == blob_id(data):
        return []
    raw = state.read(path)
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
        want.update(_pins(state, want, problems, tally.ranked, tally))
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
          ranked: dict[str, Any], tally: Tally | None = None) -> dict[str, Any]:
    """The head's pins (SPEC §6.2) of the whole state; index/ranked.json and the trust
    shards compared with what they must be (problems appended). `ranked`: the entries the
    pieces made of the agents the rankings hold."""
    from git_elite.core import indexcheck, pins

    ctx = context.Context(EMPTY, state, {})
    context.formats(ctx)
    out = indexcheck.Rebuilt()
    found = dict(head)
    dumps = (lambda value: _ranked_bytes(state, value, tally)) if tally is not None else \
        indexing.dumps
    files = pins.pinned(found, lambda a: ranked[a] if a in ranked else indexcheck.entry(ctx, a),
                        state.read(layout.IDENTITY),
                        ctx.new_identity, pins.trust_listing(state.read, state.names), dumps)
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


def _ranked_bytes(state: State, value: dict[str, Any], tally: Tally) -> bytes:
    """`indexing.dumps(value)` for index/ranked.json, without writing it whole when the
    memory says what it is (~12,000 calls of the indented writer at 100k: the largest part
    of a second verify's own work). The value's digest in compact sorted JSON (the C
    encoder) names it: equal to the remembered one, the value is the remembered value, so
    its written bytes are the remembered bytes, whose SHA-256 the memory holds; when the
    file in the tree has that SHA-256 it is those bytes, and they are returned. A new value
    (a push that changed the rankings or a ranked agent): the remembered file's bytes,
    edited where agents entered, left or changed as the hooks edit them (`_ranked_edited`).
    Otherwise (nothing remembered, an edit that cannot decide) the value is written whole.
    Either way the answer is `indexing.dumps(value)`; its digests are kept for the next
    memory (`tally.ranked_pin`, `tally.ranked_blob`)."""
    try:  # (json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
        # by json's C encoder without the json package: core/cjson; a NaN or Infinity,
        # which json.dumps would write, raises here: nothing remembered of such a value)
        compact: str | None = sha256_hex(_SORTED.encode(value).encode("utf-8",
                                                                      "surrogatepass"))
    except (TypeError, ValueError):  # not plain JSON: nothing is remembered of it
        compact = None
    known = tally.ranked_known
    data = None
    if compact is not None and known is not None and known[0] == compact:
        raw = state.read(layout.RANKED)
        if raw is not None and shards.digest(raw) == known[1]:
            data = raw
    edited = None
    if compact is not None and known is not None and known[0] != compact and \
            tally.ranked_last is not None:  # a new value: the remembered bytes edited
        edited = _ranked_edited(state, value, known, tally.ranked_last)
    if edited is not None:
        data, digest = edited  # (its SHA-256 hashed with the remembered bytes' own)
    else:
        data = indexing.dumps(value) if data is None else data
        digest = shards.digest(data)
    tally.ranked_pin = None if compact is None else (compact, digest)
    agents = value.get("agents")
    tally.ranked_agents = agents if isinstance(agents, dict) else None
    tree_id = getattr(state, "tree_id", None)
    found = tree_id(layout.RANKED) if tree_id is not None else None
    mode, _, oid = (found or "").partition(" ")
    tally.ranked_blob = oid if mode == "100644" and oid else None
    return data


def _ranked_edited(state: State, value: dict[str, Any], known: tuple[str, str],
                   last: tuple[str, dict[str, Any]]) -> tuple[bytes, str] | None:
    """`indexing.dumps(value)` as the remembered index/ranked.json's bytes edited where
    ranked agents entered, left or changed (core/pinning.ranked_edited, the hooks' own
    edit): O(changed), no entry written but the changed ones. `last`: the blob id the
    memory keeps only when its entries were exactly the value that file was written from
    (`_remembered`: the very objects), and those entries; the blob read by its id must
    hash to the remembered bytes' SHA-256 (`known[1]`) and, edited, hold as many entries
    as the value. An entry is left as it is only when it is the very object the memory
    gave (`is`: 1, 1.0 and true are equal in Python, not in JSON); every other one is
    written again. (bytes, their SHA-256); None: cannot decide (the caller writes it
    whole)."""
    from git_elite.core import pinning, pins

    blob_by_id = getattr(state, "blob_by_id", None)
    agents = value.get("agents")
    blob, before = last
    if blob_by_id is None or not isinstance(agents, dict) or list(value) != [
            "schema_version", "agents"] or type(value["schema_version"]) is not int or \
            value["schema_version"] != pins.SCHEMA_VERSION or list(agents) != sorted(agents):
        return None  # not the value pins.ranked_value makes
    edits: dict[str, Any] = {a: None for a in before if a not in agents}
    edits.update((a, e) for a, e in agents.items() if before.get(a) is not e)
    raw = _ranked_sought(state, before, edits, known[1]) or blob_by_id(layout.RANKED, blob)
    if raw is None:
        return None
    return pinning.ranked_edited(raw, edits, len(agents), known[1])


def _ranked_sought(state: State, before: dict[str, Any], edits: dict[str, Any],
                   digest: str) -> bytes | None:
    """The remembered index/ranked.json's bytes sought in today's file (which the audit
    compares anyway: read once, through the reader's cache), as the remembered shard is
    (`_spliced`): today's bytes with the entries of the agents in `edits` put back as the
    memory has them (an agent new to the rankings taken out), taken only when they hash to
    the remembered bytes' SHA-256 `digest` — equal digests are equal bytes, so what the
    caller edits is exactly the remembered file, and no blob is read. None: not found
    (today's file differs elsewhere, or is not in the written shape): the blob is read."""
    from git_elite.core import shardsplice

    today = state.read(layout.RANKED)
    if today is None:
        return None
    back = {a: before.get(a) for a in edits}
    try:
        found = shardsplice.edit(today, "", back, end=shardsplice.RANKED_END)
    except (ValueError, RecursionError):
        return None
    if found is None or shards.digest(found.data) != digest:
        return None
    return found.data


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            out.append(problem)
    return out
