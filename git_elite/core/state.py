"""Registry states and changes, the values the rule engine works on. Pure (no git here).

A state reads files by path, lazily: a big registry is never read whole. git.py provides the
tree-backed states; `MemoryState` serves tests, the work tree and new registries. `names(dir)`
lists a directory (the agents of one shard, the shards of index/); `agent_ids()` lists the
agents of either layout (format 2 `agents/<ab>/<id>/`, format 1 `agents/<id>/`).
"""

from __future__ import annotations

from git_elite.core.errors import Problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from typing import Any, NamedTuple, Protocol
else:
    from git_elite.core.records import NamedTuple
    Protocol = object


class State(Protocol):
    """A registry snapshot: bytes by path, directory listings, the agent ids."""

    def read(self, path: str) -> bytes | None: ...

    def names(self, directory: str) -> list[str]: ...

    def subtree(self, directory: str) -> dict[str, bytes]: ...

    def agent_ids(self) -> Iterable[str]: ...


class Change(NamedTuple):
    """One entry of a commit's diff: bytes before (None = added) and after (None = deleted).
    `refused`: the new entry was not read at all (a mode or size problem found before
    inflating it, git.py/gittree.py); `new` is then None and the engine reports the problem."""

    path: str
    old: bytes | None
    new: bytes | None
    refused: Problem | None = None


def agent_ids_of(state: State) -> Iterator[str]:
    """The agent ids under agents/ of either format, from `names` alone."""
    for name in state.names("agents"):
        if len(name) == 2:
            yield from (a for a in state.names(f"agents/{name}") if len(a) == 64)
        elif len(name) == 64:
            yield name


def names_in(paths: Iterable[str], directory: str) -> list[str]:
    prefix = directory.rstrip("/") + "/" if directory else ""
    return sorted({p[len(prefix):].split("/", 1)[0] for p in paths if p.startswith(prefix)})


class MemoryState:
    """A state held in a dict (path -> bytes)."""

    def __init__(self, files: Mapping[str, bytes] | None = None):
        self.files = dict(files or {})

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def names(self, directory: str) -> list[str]:
        return names_in(self.files, directory)

    def subtree(self, directory: str) -> dict[str, bytes]:
        prefix = directory + "/" if directory else ""
        return {p: d for p, d in self.files.items() if p.startswith(prefix)}

    def agent_ids(self) -> Iterator[str]:
        return agent_ids_of(self)

    def blob_id(self, path: str) -> str | None:
        """The git object id of the file at `path` (None: absent)."""
        data = self.files.get(path)
        return None if data is None else blob_id(data)


def blob_id(data: bytes) -> str:
    """The object id git gives a blob of `data` (without writing it)."""
    found = hasher("sha1", len(data))(b"blob %d\0" % len(data))
    found.update(data)  # (not `header + data`: a copy of a 2.9 MB shard at 1M)
    return str(found.hexdigest())


# A process digests its first SMALL_DIGEST bytes with CPython's own built-in sha1/sha256
# (the modules hashlib itself falls back to), the rest with hashlib's OpenSSL ones: the
# same digests. Loading libcrypto costs ~2.4 ms of CPU at start-up; the built-in sha256
# takes ~3.2 ms a MB here against OpenSSL's ~0.6, so OpenSSL pays for itself past ~0.9 MB
# digested in one process, not one document. A one-agent commit or a discover top 20
# digests a few KB and `index/ranked.json` (287–457 KB from 1k to 100k) with the built-ins;
# a 2.9 MB shard at 1M, or a verify's thousands of manifests, go to OpenSSL once the budget
# is spent. docs/scale.md, "The hooks, round 5" and "discover --offline, round 8".
SMALL_DIGEST = 1024 * 1024
_HASHERS: dict[tuple[str, bool], Any] = {}
_BUILTIN_LEFT = [SMALL_DIGEST]  # bytes the built-ins may still digest in this process


def hasher(name: str, size: int) -> Any:
    """The constructor of a new `name` ("sha1" or "sha256") hash object for `size` bytes."""
    small = size < _BUILTIN_LEFT[0]
    if small:
        _BUILTIN_LEFT[0] -= size
    found = _HASHERS.get((name, small))
    if found is None:
        found = _builtin_hash(name) if small else None
        if found is None:
            import hashlib

            found = getattr(hashlib, name)
            _BUILTIN_LEFT[0] = 0  # loaded: OpenSSL from now on
        _HASHERS[name, small] = found
    return found


def sha256_hex(data: bytes) -> str:
    """`hashlib.sha256(data).hexdigest()`, by the built-in sha256 for small data (`hasher`):
    a reader that hashes a few manifests loads no OpenSSL (docs/scale.md, "discover
    --offline, round 7")."""
    return str(hasher("sha256", len(data))(data).hexdigest())


def _builtin_hash(name: str) -> Any:
    """CPython's built-in constructor (`_sha1.sha1`; `_sha256.sha256` up to 3.11, then
    `_sha2.sha256`); None where the interpreter has none (then hashlib's)."""
    for module in (("_sha1",) if name == "sha1" else ("_sha2", "_sha256")):
        try:
            return getattr(__import__(module), name)  # (importlib itself costs more)
        except (ImportError, AttributeError):
            continue
    return None


class Overlay:
    """A base state with changes applied on top (what a commit would make)."""

    def __init__(self, base: State, changes: Iterable[Change]):
        self.base = base
        self.changed = {c.path: c.new for c in changes}

    def read(self, path: str) -> bytes | None:
        if path in self.changed:
            return self.changed[path]
        return self.base.read(path)

    def names(self, directory: str) -> list[str]:
        found = set(self.base.names(directory))
        prefix = directory.rstrip("/") + "/"
        for path, data in self.changed.items():
            if not path.startswith(prefix):
                continue
            name = path[len(prefix):].split("/", 1)[0]
            if data is not None:
                found.add(name)
            elif "/" not in path[len(prefix):] or not self._holds(prefix + name):
                found.discard(name)
        return sorted(found)

    def subtree(self, directory: str) -> dict[str, bytes]:
        prefix = directory + "/" if directory else ""
        out = self.base.subtree(directory)
        for path, data in self.changed.items():
            if path.startswith(prefix):
                if data is None:
                    out.pop(path, None)
                else:
                    out[path] = data
        return out

    def _holds(self, directory: str) -> bool:
        """Whether `directory` still holds a file after the changes."""
        prefix = directory + "/"
        if any(p.startswith(prefix) and d is not None for p, d in self.changed.items()):
            return True
        return any(self.read(f"{directory}/{n}") is not None or self._holds(f"{directory}/{n}")
                   for n in self.base.names(directory))

    def agent_ids(self) -> Iterator[str]:
        return agent_ids_of(self)


EMPTY: State = MemoryState()


def additions(files: Mapping[str, bytes]) -> list[Change]:
    """Every file as added to an empty registry (a full audit of one revision)."""
    return [Change(path, None, data) for path, data in sorted(files.items())]


def diff(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> list[Change]:
    """The changes between two in-memory file maps."""
    paths = sorted(set(old) | set(new))
    return [Change(p, old.get(p), new.get(p)) for p in paths if old.get(p) != new.get(p)]
