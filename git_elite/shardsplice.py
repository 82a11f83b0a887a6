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

from git_elite import indexing

PREFIX = '{\n  "agents": {'
ITEM = '\n    "'  # how each agent's item starts; nothing else in a shard starts so
ID_LENGTH = 64


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
