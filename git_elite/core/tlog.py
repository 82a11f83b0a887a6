"""The RFC 6962 Merkle tree of the witnessed log, and its C2SP tlog-tiles files (SPEC §15).

Hashes are SHA-256; a leaf hashes as H(0x00 ‖ data), a node as H(0x01 ‖ left ‖ right), the
empty tree as H("") (RFC 6962 §2.1; Go's `tlog.TreeHash(0)` returns zeros instead, which no
checkpoint uses). Hashes are kept in the *stored-hash* order of Go's
golang.org/x/mod/sumdb/tlog: every hash of every complete subtree, written as soon as the
record that completes it is added, so a tree of n records holds about 2n hashes and any root
or proof needs O(log n) of them. `HashReader` reads stored hashes by index; a server backs it
with its own storage, a reader with tiles (`hash_reader_from_tiles`). Proofs are the lists of
RFC 6962 §2.1.1/§2.1.2 (deepest hash first); the checks follow RFC 9162 §2.1.3.2/§2.1.4.2.
Pure: bytes in, values out.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Mapping, Sequence

from git_elite.core.errors import EliteError

HashReader = Callable[[Sequence[int]], list[bytes]]
HASH_SIZE = 32
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes, 8,192 bytes
MAX_ENTRY = 0xFFFF  # an entry bundle's uint16 length prefix
EMPTY_ROOT = hashlib.sha256(b"").digest()


class TlogError(EliteError):
    """A proof that does not verify, or a tree, tile or bundle that cannot be read."""

    def __init__(self, message: str) -> None:
        super().__init__(message, rule="log")


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


# --- stored-hash layout ----------------------------------------------------------------


def stored_hash_index(level: int, n: int) -> int:
    """Where the hash of the n-th complete subtree of 2**level records is stored."""
    # hash (level, n) follows hash (level-1, 2n+1), the right child that completed it
    for _ in range(level):
        n = 2 * n + 1
    i = 0
    while n > 0:  # the leaf n comes after n + n/2 + n/4 + … earlier hashes
        i += n
        n >>= 1
    return i + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """The (level, n) stored at `index`: the inverse of `stored_hash_index`."""
    if index < 0:
        raise TlogError(f"stored hash index {index} is negative")
    # the leaf n0 whose hashes end at or after index; its index is ~2*n0
    n0 = index // 2
    while stored_hash_index(0, n0) > index:
        n0 -= 1
    while stored_hash_index(0, n0 + 1) <= index:
        n0 += 1
    level = index - stored_hash_index(0, n0)  # hashes written after leaf n0, in level order
    return level, n0 >> level


def stored_hash_count(n: int) -> int:
    """How many hashes a tree of n records stores."""
    if n == 0:
        return 0
    count = stored_hash_index(0, n - 1) + 1
    last = n - 1
    while last & 1:  # each trailing one bit completes one more subtree
        count += 1
        last >>= 1
    return count


def stored_hashes_for_record(n: int, data: bytes, read_hashes: HashReader) -> list[bytes]:
    """The hashes to append when record n (0-based) is added: its leaf hash, then the root of
    every subtree it completes, in stored order."""
    return stored_hashes_for_leaf_hash(n, leaf_hash(data), read_hashes)


def stored_hashes_for_leaf_hash(n: int, leaf: bytes, read_hashes: HashReader) -> list[bytes]:
    completed = ((n + 1) & -(n + 1)).bit_length() - 1  # trailing zeros of n+1
    indexes = [stored_hash_index(level, (n >> level) - 1)
               for level in reversed(range(completed))]
    left = _read(read_hashes, indexes)
    hashes, h = [leaf], leaf
    for sibling in reversed(left):
        h = node_hash(sibling, h)
        hashes.append(h)
    return hashes


def append_leaf_hashes(old_n: int, leaves: Sequence[bytes],
                       read_hashes: HashReader) -> dict[int, bytes]:
    """Every stored hash (index → hash) added when `leaves` (leaf hashes) follow the first
    old_n records; reads only hashes of the first old_n records through `read_hashes`."""
    added: dict[int, bytes] = {}
    reader = overlay_reader(read_hashes, added)
    for i, leaf in enumerate(leaves):
        n = old_n + i
        start = stored_hash_index(0, n)
        for j, h in enumerate(stored_hashes_for_leaf_hash(n, leaf, reader)):
            added[start + j] = h
    return added


def overlay_reader(base: HashReader, extra: Mapping[int, bytes]) -> HashReader:
    """A reader that answers from `extra` first and asks `base` for the rest."""

    def read(indexes: Sequence[int]) -> list[bytes]:
        missing = [i for i in indexes if i not in extra]
        found = dict(zip(missing, _read(base, missing), strict=True)) if missing else {}
        return [extra[i] if i in extra else found[i] for i in indexes]

    return read


def _read(read_hashes: HashReader, indexes: Sequence[int]) -> list[bytes]:
    if not indexes:
        return []
    hashes = read_hashes(indexes)
    if len(hashes) != len(indexes) or any(len(h) != HASH_SIZE for h in hashes):
        raise TlogError(f"hash reader returned {len(hashes)} hashes for {len(indexes)} indexes")
    return list(hashes)


# --- roots and proofs from stored hashes -----------------------------------------------


def _pieces(lo: int, hi: int) -> list[int]:
    """The stored-hash indexes of the complete subtrees that make up records [lo, hi)."""
    need = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1  # the largest power of two that fits
        while lo & ((1 << level) - 1):
            level -= 1
        need.append(stored_hash_index(level, lo >> level))
        lo += 1 << level
    return need


def _range_hashes(ranges: Sequence[tuple[int, int]], read_hashes: HashReader) -> list[bytes]:
    """MTH(D[lo:hi]) of each range, with one call to the reader."""
    plans = [_pieces(lo, hi) for lo, hi in ranges]
    hashes = iter(_read(read_hashes, [i for plan in plans for i in plan]))
    out = []
    for plan in plans:
        pieces = [next(hashes) for _ in plan]
        h = pieces[-1]
        for left in reversed(pieces[:-1]):
            h = node_hash(left, h)
        out.append(h)
    return out


def _split(size: int) -> int:
    """The largest power of two smaller than size (size ≥ 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def tree_hash(n: int, read_hashes: HashReader) -> bytes:
    """The root of the first n records (H("") for the empty tree)."""
    if n < 0:
        raise TlogError(f"tree size {n} is negative")
    return _range_hashes([(0, n)], read_hashes)[0] if n else EMPTY_ROOT


def _path(m: int, lo: int, hi: int) -> list[tuple[int, int]]:
    if hi - lo == 1:
        return []
    k = _split(hi - lo)
    if m < lo + k:
        return _path(m, lo, lo + k) + [(lo + k, hi)]
    return _path(m, lo + k, hi) + [(lo, lo + k)]


def _subproof(m: int, lo: int, hi: int, complete: bool) -> list[tuple[int, int]]:
    if m == hi:
        return [] if complete else [(lo, hi)]
    k = _split(hi - lo)
    if m <= lo + k:
        return _subproof(m, lo, lo + k, complete) + [(lo + k, hi)]
    return _subproof(m, lo + k, hi, False) + [(lo, lo + k)]


def prove_record(t: int, n: int, read_hashes: HashReader) -> list[bytes]:
    """The inclusion proof of record n in the tree of the first t records."""
    if not 0 <= n < t:
        raise TlogError(f"record {n} is not in a tree of {t}")
    return _range_hashes(_path(n, 0, t), read_hashes)


def prove_tree(t: int, n: int, read_hashes: HashReader) -> list[bytes]:
    """The consistency proof from the tree of n records to the tree of t records."""
    if not 0 <= n <= t:
        raise TlogError(f"no consistency proof from size {n} to size {t}")
    if n == 0 or n == t:
        return []
    return _range_hashes(_subproof(n, 0, t, True), read_hashes)


def check_record(proof: Sequence[bytes], t: int, root_t: bytes, n: int,
                 leaf_hash_n: bytes) -> None:
    """Raise TlogError unless `proof` shows leaf n in the tree of t records with root_t."""
    if not 0 <= n < t:
        raise TlogError(f"record {n} is not in a tree of {t}")
    fn, sn, r = n, t - 1, leaf_hash_n
    for p in proof:
        if sn == 0:
            raise TlogError(f"inclusion proof of record {n} in {t} is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise TlogError(f"inclusion proof of record {n} in {t} is too short")
    if r != root_t:
        raise TlogError(f"inclusion proof of record {n} in {t} does not lead to the root")


def check_tree(proof: Sequence[bytes], t: int, root_t: bytes, n: int, root_n: bytes) -> None:
    """Raise TlogError unless `proof` shows the tree (n, root_n) is a prefix of (t, root_t)."""
    if not 0 <= n <= t:
        raise TlogError(f"size {t} does not extend size {n}")
    if n == 0 or n == t:
        if proof:
            raise TlogError(f"a consistency proof from {n} to {t} must be empty")
        if n == t and root_n != root_t:
            raise TlogError(f"two different roots for the tree of size {n}")
        return
    path = list(proof)
    if n & (n - 1) == 0:  # the old tree is a complete subtree: its root starts the path
        path.insert(0, root_n)
    if not path:
        raise TlogError(f"consistency proof from {n} to {t} is empty")
    fn, sn = n - 1, t - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise TlogError(f"consistency proof from {n} to {t} is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise TlogError(f"consistency proof from {n} to {t} is too short")
    if fr != root_n or sr != root_t:
        raise TlogError(f"consistency proof from {n} to {t} does not match the roots")


# --- tiles (c2sp.org/tlog-tiles) -------------------------------------------------------


def _index_path(index: int) -> str:
    if index < 0:
        raise TlogError(f"tile index {index} is negative")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def _width_suffix(width: int) -> str:
    if not 1 <= width <= TILE_WIDTH:
        raise TlogError(f"tile width {width} is not between 1 and {TILE_WIDTH}")
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(level: int, index: int, width: int) -> str:
    """`tile/<L>/<N>[.p/<W>]` (N as x001/x234/067)."""
    if not 0 <= level <= 63:
        raise TlogError(f"tile level {level} is not between 0 and 63")
    return f"tile/{level}/{_index_path(index)}{_width_suffix(width)}"


def entries_path(index: int, width: int) -> str:
    """`tile/entries/<N>[.p/<W>]`: the entry bundle beside level-0 tile N."""
    return f"tile/entries/{_index_path(index)}{_width_suffix(width)}"


def tile_width(level: int, index: int, n: int) -> int:
    """How many hashes tile (level, index) holds in a tree of n records (0: none yet)."""
    count = n >> (TILE_HEIGHT * level)  # hashes at this tile level
    return max(0, min(TILE_WIDTH, count - index * TILE_WIDTH))


def new_tiles(old_n: int, new_n: int, read_hashes: HashReader) -> dict[str, bytes]:
    """Every hash tile (path → bytes), full or partial, of size new_n that size old_n did not
    have: what a log writes when it grows from old_n to new_n."""
    if not 0 <= old_n <= new_n:
        raise TlogError(f"a log does not shrink from {old_n} to {new_n}")
    wanted: list[tuple[str, list[int]]] = []
    level = 0
    while new_n >> (TILE_HEIGHT * level):
        first = (old_n >> (TILE_HEIGHT * level)) // TILE_WIDTH
        last = ((new_n >> (TILE_HEIGHT * level)) - 1) // TILE_WIDTH
        for index in range(first, last + 1):
            width = tile_width(level, index, new_n)
            if width > tile_width(level, index, old_n):
                wanted.append((tile_path(level, index, width),
                               [stored_hash_index(TILE_HEIGHT * level, index * TILE_WIDTH + i)
                                for i in range(width)]))
        level += 1
    hashes = iter(_read(read_hashes, [i for _, idx in wanted for i in idx]))
    return {path: b"".join(next(hashes) for _ in idx) for path, idx in wanted}


def hash_reader_from_tiles(n: int, read_tile: Callable[[str], bytes]) -> HashReader:
    """A reader of the stored hashes of a tree of n records, from its tiles (each tile read
    once; a partial tile `read_tile` cannot find — LookupError or OSError — is taken from
    the full tile that replaced it). The hashes are what the tiles say: check the root or
    proofs computed from them against a signed checkpoint before trusting them."""
    cache: dict[str, bytes] = {}

    def fetch(level: int, index: int, width: int) -> bytes:
        try:
            return read_tile(tile_path(level, index, width))
        except (LookupError, OSError):
            if width == TILE_WIDTH:
                raise
        # a log may drop a partial tile once the full one exists (c2sp.org/tlog-tiles)
        return read_tile(tile_path(level, index, TILE_WIDTH))[:width * HASH_SIZE]

    def tile(level: int, index: int) -> bytes:
        width = tile_width(level, index, n)
        path = tile_path(level, index, width) if width else ""
        if path not in cache:
            data = fetch(level, index, width) if width else b""
            if len(data) != width * HASH_SIZE:
                raise TlogError(f"{path or 'tile'} has {len(data)} bytes, "
                                f"not {width * HASH_SIZE}")
            cache[path] = data
        return cache[path]

    def one(index: int) -> bytes:
        level, k = split_stored_hash_index(index)
        if (k + 1) << level > n:
            raise TlogError(f"stored hash {index} is not in a tree of {n}")
        tile_level, height = divmod(level, TILE_HEIGHT)
        start = k << height  # first hash of the subtree at the tile's level
        data = tile(tile_level, start // TILE_WIDTH)
        pos = start % TILE_WIDTH
        row = [data[i * HASH_SIZE:(i + 1) * HASH_SIZE] for i in range(pos, pos + (1 << height))]
        while len(row) > 1:
            row = [node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
        return row[0]

    def read(indexes: Sequence[int]) -> list[bytes]:
        return [one(i) for i in indexes]

    return read


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Entries as one bundle: each a big-endian uint16 length, then its bytes."""
    out = []
    for entry in entries:
        if len(entry) > MAX_ENTRY:
            raise TlogError(f"a log entry has {len(entry)} bytes, more than {MAX_ENTRY}")
        out.append(struct.pack(">H", len(entry)) + entry)
    return b"".join(out)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle; TlogError if it is cut short."""
    entries, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise TlogError("entry bundle ends inside a length prefix")
        (size,) = struct.unpack_from(">H", data, pos)
        if pos + 2 + size > len(data):
            raise TlogError("entry bundle ends inside an entry")
        entries.append(data[pos + 2:pos + 2 + size])
        pos += 2 + size
    if len(entries) > TILE_WIDTH:
        raise TlogError(f"entry bundle holds {len(entries)} entries, more than {TILE_WIDTH}")
    return entries
