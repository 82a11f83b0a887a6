"""The verified-tree memory of `git elite verify` (docs/registry.md, "What verify
remembers"): `$AGENTD_HOME/verified/<key>.json`, one file per key.

The key is a SHA-256 over everything a piece's check depends on besides the piece itself:
the ids of the tree's top entries other than agents/ and index/ (audit.memory_context:
IDENTITY.json and its policy, identities/, endorsements/, ...), this package's version and
the digest of its own code and schemas (the rules), and the versions of Python and of the
libraries that check (PyNaCl, cryptography, jsonschema, pygit2). Inside, each piece is
remembered with the ids of its `agents/<ab>` tree and of its index/<ab>.json: git object ids
name their content, so a piece is taken from memory only when it is byte for byte what
was checked, under the same rules; in a piece that changed, the agents whose directories
did not are taken from its remembered shard (core/audit.py `_reused`). Only a tree that
verified clean is remembered. The code digest is kept under a stamp of the files it reads
(`code_version`). A file
that cannot be read or is not exactly the expected shape is ignored (and replaced by the
next clean run); `verify --no-cache` neither reads nor writes it.
"""

from __future__ import annotations

import errno
import os
import sys

from git_elite.core import audit, cjson, shards
from git_elite.core.errors import EliteError
from git_elite.core.state import sha256_hex
from git_elite.edges import store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from git_elite.core.state import State

# (no contextlib, functools, hashlib, json, pathlib or typing on a second verify's path:
# docs/scale.md, "second verify, round 7")

VERSION = 3  # 2: "ranked_pin" (index/ranked.json's digests); 3: "ranked_blob" (its blob
# id: its bytes edited where ranked agents changed, core/audit.py); a file of another version is
# ignored (as a damaged one: the next clean verify reads everything and writes this one)
KEEP = 8  # files kept (the newest): one per registry context verified lately
LIBRARIES = ("pynacl", "cryptography", "jsonschema", "pygit2")


STAMP = "code-version"  # $AGENTD_HOME/verified/code-version (not *.json: no memory)
STAMPS = 4  # stamps (ways of starting an install) it keeps
_ABSENT = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})  # Path.exists False


class _CodeVersion:
    """`code_version()`, computed once per process (`cache_clear` forgets it, as
    functools.cache's did)."""

    def __init__(self) -> None:
        self.known: list[str] = []

    def __call__(self) -> str:
        if not self.known:
            self.known.append(_code_version())
        return self.known[0]

    def cache_clear(self) -> None:
        self.known.clear()


def _code_version() -> str:
    """`compute_code_version()`, remembered in $AGENTD_HOME/verified/code-version under a
    stamp of the files it reads (`stamp`): reading and hashing the package and asking the
    libraries' metadata cost more than the rest of a second verify's own work (importlib
    .metadata alone is ~30 ms), and they change only when the software is installed again.
    The file keeps the last `STAMPS` stamps, one line each: the same install started two
    ways (`git-elite`, `python -m git_elite`) has two sys.path lists, so two stamps, and
    must not recompute on every switch. A stamp that no line holds, or a file that cannot
    be read, recomputes (and writes its line first)."""
    found = stamp()
    path = os.path.join(store.home_dir(), "verified", STAMP)
    if found is None:
        return compute_code_version()
    try:
        with open(path, encoding="ascii") as file:
            lines = [line.split() for line in file.read().splitlines()]
    except (OSError, ValueError):
        lines = []
    kept = [parts for parts in lines if len(parts) == 2 and len(parts[0]) == 64
            and len(parts[1]) == 64 and all(c in "0123456789abcdef" for c in parts[1])]
    for known, digest in kept:
        if known == found:
            return digest
    digest = compute_code_version()
    rows = [[found, digest], *kept][:STAMPS]
    try:
        store.atomic_write(path, "".join(f"{a} {b}\n" for a, b in rows).encode(), 0o600,
                           durable=False)
    except EliteError:
        pass  # a read-only home: computed every time
    return digest


code_version = _CodeVersion()


def stamp(root: Path | None = None, dirs: list[str] | None = None) -> str | None:
    """What `compute_code_version` depends on, by file metadata alone: this package's
    version, Python's, and the path, size, inode, mtime and ctime (ns) of every file of the
    package (`root`: its .py files and schemas), and those of every directory on sys.path
    (`dirs`): installing, upgrading or removing a library renames its *.dist-info there,
    which moves that directory's mtime and ctime; any write to a file moves its ctime,
    which no user can set back. None (no stamp: always compute) for a package that is not
    plain files. (By os.path: the same digest pathlib's rglob, glob and stat gave.)"""
    import git_elite

    if root is None:
        top = store.as_path(os.path.dirname(git_elite.__file__))
        # where the import system finds the schemas (importlib.resources, which
        # compute_code_version reads them through, costs ~5 ms of imports: zipfile...)
        # (its package's __path__: what importlib.util.find_spec gave, without importing
        # importlib.util and contextlib)
        try:
            __import__("git_elite.schemas")  # (package data: no stub for mypy)
        except ImportError:
            return None
        found = sys.modules["git_elite.schemas"]
        places = list(getattr(found, "__path__", None) or [])
        if len(places) != 1:
            return None
        schemas = store.as_path(places[0])
    else:
        top = str(root)
        schemas = os.path.join(top, "schemas")
    if not os.path.isdir(top) or not os.path.isdir(schemas):
        return None
    lines = [f"{git_elite.__version__} {sys.version}\n".encode()]
    where = dirs if dirs is not None else [d for d in sys.path if d and os.path.isabs(d)]
    try:
        files = [*_python_files(top), *(os.path.join(schemas, name) for name in
                                          sorted(os.listdir(schemas)))]
        for path in [*files, *map(store.as_path, where)]:
            try:
                st = os.stat(path)
            except OSError as err:
                if err.errno not in _ABSENT:
                    raise
                lines.append(f"{path} -\n".encode("utf-8", "surrogateescape"))
                continue
            lines.append(f"{path} {st.st_size} {st.st_dev} {st.st_ino} {st.st_mtime_ns} "
                         f"{st.st_ctime_ns}\n".encode("utf-8", "surrogateescape"))
    except OSError:
        return None
    return sha256_hex(b"".join(lines))


def _python_files(top: str) -> list[str]:
    """`sorted(Path(top).rglob("*.py"))` as str: every *.py below `top`, in pathlib's order
    (by path parts, not by string: `a/b.py` before `a-c.py`)."""
    found: list[tuple[list[str], str]] = []
    for folder, dirs, names in os.walk(top):
        dirs.sort()
        rel = os.path.relpath(folder, top)
        parts = [] if rel == "." else rel.split(os.sep)
        found += [([*parts, name], os.path.join(folder, name)) for name in names
                  if name.endswith(".py")]
    found.sort(key=lambda item: item[0])
    return [path for _, path in found]


def compute_code_version() -> str:
    """A digest of this package's code and schemas, its version and the checking libraries'
    versions: any change of a rule, a schema or a library makes a new key."""
    import hashlib
    from importlib import metadata, resources
    from pathlib import Path

    import git_elite

    digest = hashlib.sha256(f"{git_elite.__version__} {sys.version}\n".encode())
    for name in LIBRARIES:
        try:
            digest.update(f"{name} {metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} -\n".encode())
    root = Path(git_elite.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(f"{path.relative_to(root)}\0".encode() + path.read_bytes())
    schemas = resources.files("git_elite.schemas")
    for item in sorted(schemas.iterdir(), key=lambda t: t.name):
        if item.name.endswith(".json"):
            digest.update(f"schemas/{item.name}\0".encode() + item.read_bytes())
    return digest.hexdigest()


class FileMemory:
    """audit.Memory over one file."""

    def __init__(self, path: str, key: str):
        self.path, self.key = path, key
        self.recalled: list[audit.Remembered | None] = []  # the file read once

    def recall(self) -> audit.Remembered | None:
        if not self.recalled:
            self.recalled.append(self._read())
        return self.recalled[0]

    def _read(self) -> audit.Remembered | None:
        try:
            with open(self.path, "rb") as file:
                value = cjson.loads(file.read())  # (json's parser, not its package)
            return _parse(value, self.key)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None  # unreadable or damaged: as if nothing were remembered

    def keep(self, remembered: audit.Remembered) -> None:
        value = {"version": VERSION, "key": self.key,
                 "pieces": {ab: [m.key, m.summary, m.elite, m.counts]
                            for ab, m in sorted(remembered.pieces.items())},
                 "counts": remembered.counts, "rows": remembered.rows, "cut": remembered.cut,
                 "ranked": remembered.ranked,
                 "ranked_pin": None if remembered.ranked_pin is None else
                 list(remembered.ranked_pin), "ranked_blob": remembered.ranked_blob}
        try:  # (json's C encoder, not its package: core/cjson; a value json.dumps would
            # write with a NaN raises ValueError here: no memory, the next verify reads all)
            data = _COMPACT.encode(value).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError):
            return
        try:
            store.atomic_write(self.path, data, 0o600, durable=False)  # made again by the
            # next full verify
            folder = os.path.dirname(self.path)
            mine = [os.path.join(folder, name) for name in os.listdir(folder)
                    if name.endswith(".json")]  # (as Path.glob("*.json"): dot files too)
            older = sorted(mine, key=lambda p: os.stat(p).st_mtime)
            for stale in older[:-KEEP]:
                try:
                    os.unlink(stale)
                except FileNotFoundError:
                    pass
        except (OSError, EliteError):
            pass  # a read-only home: no memory, every verify reads everything


def open_memory(state: State) -> FileMemory | None:
    """The memory for the tree `state` (None when the state gives no object ids)."""
    context = audit.memory_context(state)
    if context is None:
        return None
    key = sha256_hex(f"{VERSION} {context} {code_version()}".encode())
    return FileMemory(os.path.join(store.home_dir(), "verified", f"{key[:40]}.json"), key)


def _parse(value: Any, key: str) -> audit.Remembered | None:
    """The file's content, checked to be exactly the shape `keep` writes."""
    if value.get("version") != VERSION or value.get("key") != key:
        return None
    pieces = {}
    for ab, (piece_key, summary, elite, counts) in value["pieces"].items():
        if not (isinstance(piece_key, str) and isinstance(elite, int) and (summary is None or (
                isinstance(summary.get("agents"), int) and
                isinstance(summary.get("sha256"), str) and len(summary) == 2))):
            return None
        pieces[str(ab)] = audit.PieceMemo(piece_key, None if summary is None else dict(summary),
                                          elite, _counts(counts))
    ranks = shards.Ranks.load({"version": 1, "depth": shards.DEPTH,
                               "counts": _counts(value["counts"]), "rows": value["rows"]})
    cut = {str(k): (int(n), str(a)) for k, (n, a) in value["cut"].items()}
    ranked = value["ranked"]
    if ranks is None or not all(isinstance(e, dict) for e in ranked.values()):
        return None
    pin = value["ranked_pin"]
    if pin is not None and not (type(pin) is list and len(pin) == 2 and all(
            type(d) is str and len(d) == 64 and _HEX.issuperset(d) for d in pin)):
        return None
    blob = value["ranked_blob"]
    if blob is not None and not (type(blob) is str and len(blob) in (40, 64) and
                                 _HEX.issuperset(blob)):
        return None
    return audit.Remembered(pieces, ranks.counts, ranks.rows, cut,
                            {str(a): e for a, e in ranked.items()},
                            None if pin is None else (pin[0], pin[1]), blob)


_HEX = frozenset("0123456789abcdef")
_COMPACT = cjson.Encoder(sort_keys=False)  # the memory file: compact JSON, UTF-8


def _counts(value: Any) -> dict[str, int]:
    out = {str(k): n for k, n in value.items()}
    if any(type(n) is not int for n in out.values()):
        raise TypeError("counts")
    return out
