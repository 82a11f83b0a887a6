"""Short agent ids, as git takes short commit ids: any unambiguous prefix of at least
MIN_PREFIX lowercase hex characters. Pure: the caller supplies the ids it knows."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from git_elite.core import layout
from git_elite.core.errors import EliteError, UsageError

MIN_PREFIX = 8
_HEX = re.compile(r"[0-9a-f]{8,64}")


def check(text: str) -> str:
    """A typed agent id or prefix, lower-cased; a usage error when it cannot be one."""
    value = text.strip().lower()
    if not _HEX.fullmatch(value):
        raise UsageError(f"{text[:80]!r} is not an agent id: give the 64 hex characters or a "
                         f"prefix of at least {MIN_PREFIX}")
    return value


def resolve(prefix: str, known: Iterable[str], where: str) -> str:
    """The one id of `known` that starts with `prefix` (a full id is taken as it is when
    nothing known matches, so the caller can say it is not there)."""
    matches = sorted({k for k in known if k.startswith(prefix)})
    if len(matches) == 1:
        return matches[0]
    if not matches:
        if len(prefix) == 64:
            return prefix
        raise EliteError(f"no agent id starting with {prefix} in {where}")
    shown = ", ".join(m[:16] for m in matches[:10]) + (" …" if len(matches) > 10 else "")
    raise EliteError(f"short agent id {prefix} is ambiguous in {where}: {len(matches)} agents "
                     f"match ({shown}); type more characters")


def indexed(read: Callable[[str], bytes | None], prefix: str) -> list[str]:
    """The agent ids a registry's index names where `prefix` could point: format 1's
    INDEX.json agents, format 2's shard index/<prefix[:2]>.json. `read(path)` gives a file
    of the registry's tip (None when absent); an unreadable index names nothing (the caller
    then says "unknown")."""
    import json

    known: list[str] = []
    for path in (layout.INDEX, layout.shard_path(prefix[:2])):
        raw = read(path)
        try:
            agents = json.loads(raw).get("agents") if raw else None
        except (ValueError, AttributeError):
            agents = None
        known += list(agents) if isinstance(agents, dict) else []
    return known
