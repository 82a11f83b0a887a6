"""How many bytes a reader over HTTP (SPEC §14) accepts for each index document, and what
parsing one may cost (issue 24 f4). Pure: the numbers, and a cheap upper bound of the memory
a parse takes, computed from the bytes before anything is parsed.

- The head (INDEX.json) is small and fixed: the largest legitimate one — 65 rankings of 100
  ids (~75 bytes a line at indent 2: ~490 KB), 256 shard digests (~26 KB), 256 trust
  digests (~28 KB), the pins — is about 550 KB; HEAD_MAX allows 1 MiB. A format-1 head
  holds every entry: over HTTP one above 1 MiB (~1,300 agents) is refused; migrate it, or
  read it from a clone.
- Every other index file gets what the head declares for it: a shard or index/ranked.json
  `agents` × ENTRY_MAX, a trust shard `documents` × TRUST_ROW_MAX (plus a little for the
  frame), never more than DOC_MAX; a file the head does not declare gets nothing.
- Parsing: CPython's objects cost up to ~28 bytes per byte of JSON made of tiny containers
  (`[],[],…`). `parse_cost` bounds it from counts of containers and separators, and no
  document whose bound is above PARSE_BUDGET is parsed: a legitimate shard of a 1M-agent
  registry (~2.9 MB) costs ~16 MB by this bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KIB = 1024
MIB = 1024 * KIB
HEAD_MAX = 1 * MIB
DOC_MAX = 16 * MIB
ENTRY_MAX = 128 * KIB  # one index entry: a 64 KiB manifest's numbers, re-indented
TRUST_ROW_MAX = 256  # "endorsements/<nid>/<nid>.json": "<64 hex>", indented
FRAME = 4 * KIB
PARSE_BUDGET = 48 * MIB


def parse_cost(data: bytes) -> int:
    """An upper bound of the bytes CPython's json needs for `data` (measured: every shape
    tried stays under it): the text and its decoded copy, each container, each value."""
    containers = data.count(b"{") + data.count(b"[")
    separators = data.count(b",") + data.count(b":")
    return 2 * len(data) + 128 * containers + 64 * separators


def declared(head: Mapping[str, Any] | None, path: str) -> int | None:
    """The most bytes `path` may have, from the format-2 `head` (None: not an index file,
    so its document type's own limit applies)."""
    if path == "INDEX.json":
        return HEAD_MAX
    if not path.startswith("index/"):
        return None
    if head is None:
        return DOC_MAX
    if path == "index/ranked.json":
        return _size(head.get("ranked"), "agents", ENTRY_MAX)
    if path.startswith("index/trust/"):
        ab = path.removeprefix("index/trust/").removesuffix(".json")
        return _size(_get(head.get("trust"), ab), "documents", TRUST_ROW_MAX)
    ab = path.removeprefix("index/").removesuffix(".json")
    return _size(_get(head.get("shards"), ab), "agents", ENTRY_MAX)


def _get(table: Any, key: str) -> Any:
    return table.get(key) if isinstance(table, dict) else None


def _size(listed: Any, field: str, row: int) -> int:
    count = listed.get(field) if isinstance(listed, dict) else None
    if type(count) is not int or count < 0:
        return 0
    return min(DOC_MAX, FRAME + count * row)
