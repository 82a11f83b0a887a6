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

from collections.abc import Collection, Mapping
from typing import Any

from git_elite.core import indexing

PREFIX = '{\n  "agents": {'
ITEM = '\n    "'  # how each agent's item starts; nothing else in a shard starts so
ID_LENGTH = 64


RANKED_END = '\n  },\n  "schema_version": 2\n}\n'  # index/ranked.json after its agents


def suffix(ab: str) -> str:
    return '\n  },\n  "schema_version": 2,\n  "shard": ' + indexing._STRING(ab) + "\n}\n"


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
                out = [ITEM[:-1], indexing._STRING(agent_id), ": "]
                indexing._encode(agents[agent_id], out, ITEM[:-1])
                piece = "".join(out)
            items.append(piece)
    except indexing._Unusual:
        return None
    return (PREFIX + ",".join(items) + suffix(ab)).encode()


def edit(raw: bytes, ab: str, entries: Mapping[str, Any], *, end: str | None = None
         ) -> tuple[bytes, dict[str, Any], int] | None:
    """Shard `ab`'s new bytes when the agents in `entries` get those entries (None: the
    agent leaves), edited into the parent's bytes `raw` without reading its other agents:
    each touched item is found by searching for its key (an item's start is unique, see
    above; a new agent's place by bisecting the sorted items), so the work is a few
    searches and copies of the shard's bytes, not a parse of its thousands of entries.
    Returns (bytes, {agent_id: its parent's entry or None}, the change in the number of
    agents); None when `raw` is not a shard as `indexing.dumps` writes it, an old item is
    not a JSON object, or the shard would be left empty (the caller rebuilds it). `end`:
    the text after the agents of another file written the same way (index/ranked.json:
    `RANKED_END`) instead of a shard's."""
    tail = (suffix(ab) if end is None else end).encode()
    if not raw.startswith((PREFIX + ITEM).encode()) or not raw.endswith(tail):
        return None
    body, olds, delta = raw[len(PREFIX):len(raw) - len(tail)], {}, 0
    try:
        for agent_id in sorted(entries):
            found = _edit_one(body, agent_id, entries[agent_id])
            if found is None:
                return None
            body, olds[agent_id] = found[0], found[1]
            delta += (entries[agent_id] is not None) - (found[1] is not None)
    except indexing._Unusual:
        return None
    if not body:
        return None
    return PREFIX.encode() + body + tail, olds, delta


_ITEM = ITEM.encode()


def _edit_one(body: bytes, agent_id: str, item: Any) -> tuple[bytes, Any] | None:
    """(body with agent_id's item replaced, inserted or removed, its old entry or None)."""
    start = body.find(_ITEM + agent_id.encode() + b'": ')
    new = None
    if item is not None:
        out = [ITEM[:-1], indexing._STRING(agent_id), ": "]
        indexing._encode(item, out, ITEM[:-1])
        new = "".join(out).encode()
    if start < 0:  # a new agent: before the first item with a greater id
        if new is None:
            return body, None
        at = _place(body, agent_id.encode())
        return (body[:at] + new + b"," + body[at:] if at < len(body)
                else body + b"," + new if body else new), None
    nxt = body.find(_ITEM, start + 1)
    stop = len(body) if nxt < 0 else nxt - 1
    import json

    try:
        old = json.loads(b"{" + body[start:stop] + b"}").get(agent_id)
    except ValueError:
        return None
    if not isinstance(old, dict):
        return None
    if new is not None:
        return body[:start] + new + body[stop:], old
    if nxt >= 0:
        return body[:start] + body[nxt:], old
    return (body[:start - 1] if start > 0 else b""), old


def _place(body: bytes, agent_id: bytes) -> int:
    """Where an item for `agent_id` (absent) goes: the start of the first item whose id is
    greater, or len(body) (bisecting the items' starts, found by one regex scan)."""
    import bisect
    import re

    starts = [m.start() for m in re.finditer(re.escape(_ITEM), body)]
    at = bisect.bisect_right(_Ids(body, starts), agent_id)
    return starts[at] if at < len(starts) else len(body)


class _Ids:
    """The agent ids of the items at `starts`, as a sequence for `bisect` (read lazily)."""

    def __init__(self, body: bytes, starts: list[int]):
        self.body, self.starts = body, starts

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> bytes:
        at = self.starts[index] + len(_ITEM)
        return self.body[at:at + ID_LENGTH]
