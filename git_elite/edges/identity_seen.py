"""The reader's memory of each registry's IDENTITY.json (SPEC §6.2): the highest version
seen and the roles it declared, in `$AGENTD_HOME/freshness/identity/<key>.json` next to
the timestamp versions (§6.1). Keyed by the registry's root commit over git, by its owner
and name over HTTP (radicle-httpd, `--url`). Every decision is `identity_pin.judge`'s.

A refusal is `rollback`, one line naming the registry, the versions and the role;
`--allow-stale` does not bypass it (docs/freshness.md).
"""

from __future__ import annotations

import os

from git_elite.core import cjson, documents, identity_pin, jsonstrict, layout
from git_elite.core.errors import JsonError, RegistryError
from git_elite.core.identity_pin import Pin
from git_elite.core.state import sha256_hex
from git_elite.edges import freshness, git, store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path
    from typing import Any


def git_key(cwd: str | Path, tip: str, cat: Any = None) -> str:
    """The registry's root commit (`cat`: a catfile.CatRepo on `cwd`, or None)."""
    return freshness.root_commit(cwd, tip, cat)


def http_key(body: dict[str, Any]) -> str:
    """owner_did and name: there is no commit graph to name the registry by."""
    name, owner = str(body["name"]), str(body["owner_did"])
    return "url-" + sha256_hex(f"{name}\0{owner}".encode())[:40]


def _file(key: str) -> str:
    return os.path.join(store.home_dir(), freshness.SEEN_DIR, "identity", f"{key}.json")


def seen(key: str) -> Pin | None:
    try:
        value = cjson.loads(freshness.raw_bytes(_file(key)))
    except (OSError, ValueError):
        return None
    return Pin.from_dict(value.get("identity") if isinstance(value, dict) else None)


def remember(key: str, pin: Pin, registry: str) -> None:
    old = seen(key)
    if old is not None and (old.version, old.sha256) == (pin.version, pin.sha256):
        return
    if old is not None and old.version > pin.version:
        return
    import json  # (a write: reads take core/cjson)

    store.ensure_home()
    data = json.dumps({"registry": registry, "key": key, "identity": pin.to_dict()}) + "\n"
    store.atomic_write(_file(key), data.encode(), 0o600)


def check(key: str, raw: bytes, name: str,
          successors: Callable[[int, int], Sequence[bytes]] = lambda low, high: ()) -> None:
    """Refuse (RegistryError, rule `rollback`) an IDENTITY.json `raw` (already checked
    standalone) that is older than, or drops a role of, the one remembered under `key`;
    else remember it. `successors(low, high)`: the IDENTITY.json bytes of versions
    low+1 … high the reader can see (a clone's history), asked only when a role vanished."""
    body = documents.parse(raw, layout.IDENTITY, documents.REGISTRY_IDENTITY).body
    pin = seen(key)
    version = int(body["version"])
    lost = pin is not None and version > pin.version and \
        any(role not in identity_pin.roles_of(body) for role in pin.roles)
    chain = [raw, *successors(pin.version, version)] if pin is not None and lost else []
    why = identity_pin.judge(pin, body, raw, chain)
    if why is not None:
        raise RegistryError(f"{why} (docs/freshness.md)", rule=identity_pin.RULE,
                            path=name)
    if pin is None or version >= pin.version:
        remember(key, Pin.of(body, raw), str(body["name"]))


def history(cwd: str | Path, tip: str) -> Callable[[int, int], Sequence[bytes]]:
    """The IDENTITY.json versions in the first-parent history of `tip` (newest first, each
    read size-bounded), stopping at version `low`."""

    def read(low: int, high: int) -> list[bytes]:
        proc = git.run(["rev-list", "--first-parent", tip, "--", layout.IDENTITY], cwd,
                       check=False)
        out: list[bytes] = []
        for commit in proc.stdout.decode().split():
            spec = f"{commit}:{layout.IDENTITY}"
            size = git.run(["cat-file", "-s", spec], cwd, check=False).stdout.strip()
            if not size.isdigit() or int(size) > documents.MAX_BYTES[
                    documents.REGISTRY_IDENTITY]:
                break
            blob = git.run(["cat-file", "blob", spec], cwd, check=False)
            out.append(blob.stdout)
            if _version(blob.stdout) <= low:
                break
        return out

    return read


def _version(raw: bytes) -> int:
    try:
        value = jsonstrict.loads(raw, name=layout.IDENTITY, max_bytes=len(raw))
    except JsonError:
        return 0
    version = value.get("version") if isinstance(value, dict) else None
    return version if type(version) is int else 0


def check_source(source: Any) -> None:
    """The pin check of a registry_sources.Source (its IDENTITY.json already checked)."""
    raw = source.identity_raw
    where = getattr(source, "git_dir", None)
    if where is not None:
        key = source.pin_key = source.pin_key or git_key(where, source.tip)
        check(key, raw, source.name, history(where, source.tip))
        return
    body = documents.parse(raw, layout.IDENTITY, documents.REGISTRY_IDENTITY).body
    check(http_key(body), raw, source.name)
