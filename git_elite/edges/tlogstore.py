"""refs/elite/log (SPEC §15): a commit (parent: the previous one) whose tree holds
`checkpoint` (the signed note with its cosignatures) and the log as C2SP tlog-tiles files
(`tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`). Reading it, appending a leaf in
O(log n) tile reads, and writing the next commit — with git plumbing through pygit2, as
edges/stamping.py does for refs/elite/timestamp. Signing and witnesses: edges/logserver.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from git_elite.core import tlog
from git_elite.core.errors import EliteError, RegistryError
from git_elite.core.logrole import REF
from git_elite.core.witnessed import LogError, Opened
from git_elite.edges import git

CHECKPOINT = "checkpoint"
WIDTH = 256  # tlog-tiles: tile height 8
MAX_TILE = 32 * WIDTH  # bytes of a hash tile (256 hashes of 32 bytes)
MAX_BUNDLE = 4 << 20  # an entry bundle: 256 leaves of at most ~300 bytes, with room


@dataclass(frozen=True)
class Stored:
    """The log at one refs/elite/log commit: its checkpoint note and a tile reader."""

    commit: str
    note: bytes
    read: Callable[[str], bytes]


def at(repo: Any, commit: str) -> Stored:
    """The log stored in `commit` (a refs/elite/log commit)."""
    tree = git.commit_tree(repo, commit)
    if tree is None:
        raise RegistryError(f"{REF} {commit[:12]}: not a commit")

    def read(path: str) -> bytes:
        return _blob(repo, tree, path, MAX_BUNDLE if path.startswith("tile/entries/")
                     else MAX_TILE)

    return Stored(commit, _blob(repo, tree, CHECKPOINT, 1 << 20), read)


def _blob(repo: Any, tree: Any, path: str, limit: int) -> bytes:
    try:
        entry = tree[path]
    except KeyError:
        raise RegistryError(f"{REF}: {path} is missing") from None
    if entry.type_str != "blob" or entry.filemode != 0o100644:
        raise RegistryError(f"{REF}: {path} is not a regular file")
    obj = repo[entry.id]
    if obj.size > limit:
        raise RegistryError(f"{REF}: {path} is larger than {limit} bytes")
    return bytes(obj.data)


def current(repo: Any, ref: str = REF) -> Stored | None:
    """The log at `ref`, or None when there is none yet."""
    try:
        commit = str(repo.references[ref].peel(git._pygit2().Commit).id)
    except KeyError:
        return None
    return at(repo, commit)


def hash_reader(stored: Stored | None, size: int) -> tlog.HashReader:
    """The stored hashes of the first `size` leaves, from `stored`'s tiles."""
    if stored is None or size == 0:
        return lambda indexes: [] if not indexes else _none(indexes)
    return tlog.hash_reader_from_tiles(size, stored.read)


def hash_reader_with(stored: Stored | None, size: int, files: Mapping[str, bytes | None],
                     total: int) -> tlog.HashReader:
    """The stored hashes of the log of `total` leaves made by writing `files` over
    `stored` (which held `size`)."""
    def read(path: str) -> bytes:
        data = files.get(path)
        if data is not None:
            return data
        if stored is None:
            raise RegistryError(f"{REF}: {path} is missing")
        return stored.read(path)

    del size
    return tlog.hash_reader_from_tiles(total, read)


def check_tiles(stored: Stored, opened: Opened) -> None:
    """The stored tiles give the checkpoint's root (so proofs and leaves read from them
    are the checkpoint's)."""
    try:
        root = tlog.tree_hash(opened.size, hash_reader(stored, opened.size))
    except EliteError as err:
        raise LogError(f"the log's tiles cannot give the checkpoint's root: "
                                 f"{err.message}") from None
    if root != opened.root:
        raise LogError(f"the log's tiles do not hash to the checkpoint's root "
                                 f"(size {opened.size})")


def _none(indexes: Any) -> list[bytes]:
    raise RegistryError(f"{REF}: the log is empty (asked for hashes {list(indexes)[:3]})")


def leaves(stored: Stored, start: int, end: int, size: int | None = None) -> list[bytes]:
    """Leaves start..end-1 (their bytes), from the entry bundles of the log of `size`
    leaves (default `end`) that `stored` holds."""
    size = end if size is None else size
    out: list[bytes] = []
    for bundle in range(start // WIDTH, (end + WIDTH - 1) // WIDTH if end else 0):
        width = min(WIDTH, size - bundle * WIDTH)
        entries = tlog.parse_entry_bundle(stored.read(tlog.entries_path(bundle, width)))
        if len(entries) != width:
            raise RegistryError(f"{REF}: entry bundle {bundle} holds {len(entries)} "
                                f"entries, expected {width}")
        first = bundle * WIDTH
        out += entries[max(0, start - first):min(width, end - first)]
    return out


def append(stored: Stored | None, size: int, new: list[bytes]) -> tuple[dict[str, bytes],
                                                                        int, bytes]:
    """The files to write when the leaves `new` follow the `size` leaves of `stored`: the
    changed hash tiles and entry bundles. Returns (files, new size, new root)."""
    old_reader = hash_reader(stored, size)
    added = tlog.append_leaf_hashes(size, [tlog.leaf_hash(d) for d in new], old_reader)
    read_hashes = tlog.overlay_reader(old_reader, added)
    total = size + len(new)
    files = dict(tlog.new_tiles(size, total, read_hashes))
    first = size // WIDTH
    carried = leaves(stored, first * WIDTH, size) if stored is not None and size % WIDTH \
        else []
    pending = carried + list(new)
    for bundle in range(first, (total + WIDTH - 1) // WIDTH):
        chunk = pending[(bundle - first) * WIDTH:(bundle - first + 1) * WIDTH]
        files[tlog.entries_path(bundle, len(chunk))] = tlog.entry_bundle(chunk)
    return files, total, tlog.tree_hash(total, read_hashes)


def stale_partials(repo: Any, commit: str | None, files: Mapping[str, bytes | None]
                   ) -> dict[str, None]:
    """Partial tiles of `commit`'s tree that `files` supersede (a wider partial or the full
    tile of the same index): removed, so the tree holds what the newest checkpoint needs."""
    tree = git.commit_tree(repo, commit) if commit else None
    if tree is None:
        return {}
    out: dict[str, None] = {}
    for path in files:
        base = path.split(".p/", 1)[0]
        try:
            folder = tree[f"{base}.p"]
        except KeyError:
            continue
        for entry in repo[folder.id]:
            old = f"{base}.p/{entry.name}"
            if old != path:
                out[old] = None
    return out


def write(repo: Any, parent: str | None, files: Mapping[str, bytes | None], message: str
          ) -> str:
    """A new refs/elite/log commit (not referenced yet): `parent`'s tree with `files`."""
    return git.build_commit(repo, parent, files, message)


def move(cwd: str | Path, commit: str, expected: str | None) -> bool:
    """Compare-and-swap refs/elite/log to `commit`; False when someone moved it first."""
    proc = git.run(["update-ref", "-m", "git elite log", REF, commit, expected or git.ZERO],
                   cwd, check=False)
    return proc.returncode == 0
