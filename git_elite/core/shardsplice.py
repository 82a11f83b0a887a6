"""A shard's new bytes from its parent's bytes (SPEC §6), for a commit that touches a few of
its agents. Pure.

A shard is written as `indexing.dumps` writes it: `{"agents": {...}, "schema_version": 2,
"shard": "ab"}`, indented by two, keys sorted; each agent's entry is one item of "agents", at
an indentation (four spaces after a newline) that nothing inside an entry has (nested items
are indented further, and JSON strings hold no raw newline). So the parent's bytes split into
one piece per agent, and the new shard is the unchanged pieces with the touched agents'
entries encoded afresh, in agent_id order: the bytes `indexing.dumps` would write, without
encoding the thousands of unchanged entries again (a shard of a 1M registry is ~3 MB).
Anything not in exactly that shape gives None, and the caller writes the shard in full.
"""

from __future__ import annotations

from git_elite.core import cjson

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

PREFIX = '{\n  "agents": {'
ITEM = '\n    "'  # how each agent's item starts; nothing else in a shard starts so
ID_LENGTH = 64


RANKED_END = '\n  },\n  "schema_version": 2\n}\n'  # index/ranked.json after its agents


def suffix(ab: str) -> str:
    return '\n  },\n  "schema_version": 2,\n  "shard": ' + cjson.encode_string(ab) + "\n}\n"


def pieces(text: str, ab: str) -> dict[str, str] | None:
    """{agent_id: its item's text} of a shard's text, or None when it is not in the shape
    `indexing.dumps` gives a non-empty shard."""
    end = suffix(ab)
    if not text.startswith(PREFIX + ITEM) or not text.endswith(end):
        return None
    body = text[len(PREFIX):len(text) - len(end)]
    out: dict[str, str] = {}
    start = 0
    while start < len(body):
        nxt = body.find(ITEM, start + 1)
        stop = len(body) if nxt < 0 else nxt - 1  # the item, without the comma after it
        if nxt >= 0 and body[nxt - 1] != ",":
            return None
        item = body[start:stop]
        key_end = len(ITEM) + ID_LENGTH
        if item[key_end:key_end + 3] != '": ' or not item[len(ITEM):key_end].isalnum():
            return None
        out[item[len(ITEM):key_end]] = item
        start = len(body) if nxt < 0 else nxt
    return out


def splice(raw: bytes, ab: str, agents: Mapping[str, Any], touched: Collection[str]
           ) -> bytes | None:
    """The bytes of shard `ab` holding `agents`, whose parent's bytes are `raw`: the parent's
    piece for every agent not in `touched`, a fresh one for those in it (and for any the
    parent lacks). None when `raw` is not a non-empty shard as `indexing.dumps` writes it,
    or `agents` is empty."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return None
    old = pieces(text, ab)
    if old is None or not agents:
        return None
    items = []
    try:
        for agent_id in sorted(agents):
            piece = None if agent_id in touched else old.get(agent_id)
            if piece is None:
                out = [ITEM[:-1], cjson.encode_string(agent_id), ": "]
                cjson.write_indented(agents[agent_id], out, ITEM[:-1], True)
                piece = "".join(out)
            items.append(piece)
    except cjson.Unusual:
        return None
    return (PREFIX + ",".join(items) + suffix(ab)).encode()


class Edited(NamedTuple):
    """A file edited by `edit`: its new bytes, the touched agents' parent entries (None:
    absent), the change in its number of agents, and how many bytes at its start are the
    parent's (`digests` hashes those once)."""

    data: bytes
    olds: dict[str, Any]
    delta: int
    same: int


def edit(raw: bytes, ab: str, entries: Mapping[str, Any], *, end: str | None = None
         ) -> Edited | None:
    """Shard `ab`'s new bytes when the agents in `entries` get those entries (None: the
    agent leaves), edited into the parent's bytes `raw` without reading its other agents:
    each touched item is found by searching for its key (an item's start is unique, see
    above), a new agent's place by bisecting the byte offsets of the sorted items (each
    probe a short search to the next item start), and the new bytes are the parent's runs
    of untouched items and the touched items' new text, joined once. So the work is one
    C-speed search and one copy of the shard per edit, not a parse of its thousands of
    entries (nor a scan of every item start, nor a copy per edit). Returns an `Edited`;
    None when `raw` is not a shard as `indexing.dumps` writes it (its items out of order or
    not comma-separated where the edit looks), an old item is not a JSON object, or the
    shard would be left empty (the caller rebuilds it). `end`: the text after the agents of
    another file written the same way (index/ranked.json: `RANKED_END`) instead of a
    shard's."""
    tail = (suffix(ab) if end is None else end).encode()
    if not raw.startswith(_HEAD) or not raw.endswith(tail) or \
            len(raw) < len(_HEAD) + len(tail):
        return None
    lo, hi = len(PREFIX), len(raw) - len(tail)  # the items: raw[lo:hi]
    view = memoryview(raw)  # runs of untouched items are copied once, by the final join
    parts: list[bytes | memoryview] = []
    olds: dict[str, Any] = {}
    cursor, delta, same = lo, 0, len(raw)  # raw[cursor:hi]: the items not passed yet
    try:
        for agent_id in sorted(entries):
            found = _locate(raw, lo, hi, agent_id)
            if found is None:
                return None
            at, after, olds[agent_id] = found
            item = entries[agent_id]
            if item is None and olds[agent_id] is None:
                continue
            if at < cursor or (lo < at < hi and raw[at - 1] != _COMMA):
                return None  # not sorted, or not one comma between items: not dumps' shape
            same = min(same, max(lo, at - 1))  # copied as it is: the prefix, the items before
            if at > cursor:  # the untouched items before (without the comma after them)
                parts += (view[cursor:at - 1 if at < hi else hi], b",")
            if item is not None:
                parts += (_item(agent_id, item), b",")
            cursor = after
            delta += (item is not None) - (olds[agent_id] is not None)
    except cjson.Unusual:
        return None
    if cursor < hi:
        parts += (view[cursor:hi], b",")
    if not parts:
        return None
    parts[-1] = tail  # (in place of the last comma)
    return Edited(b"".join((_PREFIX, *parts)), olds, delta, same)


def digests(raw: bytes, data: bytes, same: int) -> tuple[str, str]:
    """The sha256 hex digests of `raw` and `data`, whose first `same` bytes are equal
    (`Edited.same`): those are hashed once, for both (SHA-256 reads its input in order, so
    the state after them is shared), which saves hashing the shard's unchanged start twice."""
    from git_elite.core.state import hasher

    first = hasher("sha256", len(raw))(memoryview(raw)[:same])
    second = first.copy()
    first.update(memoryview(raw)[same:])
    second.update(memoryview(data)[same:])
    return first.hexdigest(), second.hexdigest()


_ITEM = ITEM.encode()
_PREFIX = PREFIX.encode()
_HEAD = _PREFIX + _ITEM
_COMMA = ord(",")


def _item(agent_id: str, entry: Any) -> bytes:
    """One agent's item as `indexing.dumps` writes it inside the agents object."""
    out = [ITEM[:-1], cjson.encode_string(agent_id), ": "]
    cjson.write_indented(entry, out, ITEM[:-1], True)
    return "".join(out).encode()


def _locate(raw: bytes, lo: int, hi: int, agent_id: str
            ) -> tuple[int, int, dict[str, Any] | None] | None:
    """Where agent_id's item is among the items raw[lo:hi]: (its start, the start of the
    next item or hi, its entry), or for an agent with no item (its place, the same, None);
    None when its item is not a JSON object."""
    start = raw.find(_ITEM + agent_id.encode() + b'": ', lo, hi)
    if start < 0:
        at = _place(raw, lo, hi, agent_id.encode())
        return at, at, None
    nxt = raw.find(_ITEM, start + 1, hi)
    stop = hi if nxt < 0 else nxt - 1  # the item, without the comma after it
    from git_elite.core import cjson

    try:
        old = cjson.loads(b"{" + raw[start:stop] + b"}").get(agent_id)
    except ValueError:
        return None
    if not isinstance(old, dict):
        return None
    return start, (hi if nxt < 0 else nxt), old


def entry_of(raw: bytes, ab: str, agent_id: str) -> dict[str, Any] | None:
    """agent_id's entry in shard `ab`'s bytes (None: it has none), its one item parsed;
    ValueError when the bytes are not a shard as `indexing.dumps` writes it or the item is
    not a JSON object (the caller then parses the shard whole)."""
    tail = suffix(ab).encode()
    if not raw.startswith(_HEAD) or not raw.endswith(tail) or \
            len(raw) < len(_HEAD) + len(tail):
        raise ValueError("not a shard as written")
    found = _locate(raw, len(PREFIX), len(raw) - len(tail), agent_id)
    if found is None:
        raise ValueError("not an entry")
    return found[2]


def _place(raw: bytes, lo: int, hi: int, agent_id: bytes) -> int:
    """Where an item for `agent_id` (absent) goes among the sorted items raw[lo:hi]: the
    start of the first item whose id is greater, or hi. A binary search over byte offsets:
    the first item start at or after an offset is one short search away (items are a few
    hundred bytes), so ~log2(len) searches, not a scan of every item."""
    end, found = hi, hi
    while lo < hi:
        mid = (lo + hi) // 2
        start = raw.find(_ITEM, mid, end)
        if start < 0 or start >= hi:
            hi = mid  # no item starts in raw[mid:hi]
        elif raw[start + len(_ITEM):start + len(_ITEM) + ID_LENGTH] > agent_id:
            found, hi = start, mid  # the first item from mid is past agent_id
        else:
            lo = start + 1
    return found
