"""core/tlog: the RFC 6962 tree, its stored-hash layout, proofs and C2SP tiles.

Roots are checked against Certificate Transparency's reference vectors
(fixtures/vectors/rfc6962-tree.json) and against an independent recursive MTH written here
from RFC 6962 §2.1; proofs against each other and against tampering.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import pytest

from git_elite.core import tlog
from git_elite.core.errors import EliteError
from tests.conftest import ROOT

VECTORS = json.loads((ROOT / "fixtures/vectors/rfc6962-tree.json").read_text())


def mth(entries: Sequence[bytes]) -> bytes:
    """RFC 6962 §2.1, recursively: the reference the stored-hash code is checked against."""
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:])).digest()


class Log:
    """A log in memory: stored hashes appended record by record."""

    def __init__(self, entries: Sequence[bytes]) -> None:
        self.entries = list(entries)
        self.hashes: list[bytes] = []
        self.reads = 0
        for n, entry in enumerate(entries):
            assert len(self.hashes) == tlog.stored_hash_index(0, n)
            self.hashes += tlog.stored_hashes_for_record(n, entry, self.read)
            assert len(self.hashes) == tlog.stored_hash_count(n + 1)

    def read(self, indexes: Sequence[int]) -> list[bytes]:
        self.reads += len(indexes)
        return [self.hashes[i] for i in indexes]


ENTRIES = [b"entry %d" % i for i in range(300)]


@pytest.fixture(scope="module")
def log() -> Log:
    return Log(ENTRIES)


def test_reference_roots() -> None:
    leaves = [bytes.fromhex(h) for h in VECTORS["leaves_hex"]]
    memory = Log(leaves)
    for size, want in enumerate(VECTORS["roots_hex"], start=1):
        assert tlog.tree_hash(size, memory.read).hex() == want
        assert mth(leaves[:size]).hex() == want
    assert tlog.tree_hash(0, memory.read).hex() == VECTORS["empty_root_hex"]


def test_roots_match_the_recursive_definition(log: Log) -> None:
    for size in list(range(0, 70)) + [127, 128, 129, 255, 256, 257, 300]:
        assert tlog.tree_hash(size, log.read) == mth(ENTRIES[:size]), size


def test_stored_hash_index_round_trips(log: Log) -> None:
    for index in range(len(log.hashes)):
        level, n = tlog.split_stored_hash_index(index)
        assert tlog.stored_hash_index(level, n) == index
    # the n-th subtree of 2**level records holds its Merkle root
    assert log.hashes[tlog.stored_hash_index(3, 2)] == mth(ENTRIES[16:24])


def test_root_reads_logarithmically_many_hashes() -> None:
    big = Log([b"%d" % i for i in range(4097)])
    big.reads = 0
    tlog.tree_hash(4097, big.read)
    assert big.reads == 2  # 4096 + 1: two complete subtrees


def test_inclusion_proofs_verify_and_fail_when_tampered(log: Log) -> None:
    for size in (1, 2, 3, 7, 8, 9, 64, 255, 256, 257, 300):
        root = mth(ENTRIES[:size])
        for n in sorted({0, size // 2, size - 1, min(5, size - 1)}):
            proof = tlog.prove_record(size, n, log.read)
            leaf = tlog.leaf_hash(ENTRIES[n])
            tlog.check_record(proof, size, root, n, leaf)
            with pytest.raises(tlog.TlogError):
                tlog.check_record(proof, size, root, n, tlog.leaf_hash(b"other"))
            if proof:
                bad = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
                with pytest.raises(tlog.TlogError):
                    tlog.check_record(bad, size, root, n, leaf)
                with pytest.raises(tlog.TlogError):
                    tlog.check_record(proof[:-1], size, root, n, leaf)
            with pytest.raises(tlog.TlogError):
                tlog.check_record([*proof, root], size, root, n, leaf)


def test_consistency_proofs_verify_and_fail_when_tampered(log: Log) -> None:
    for new in (1, 2, 3, 5, 8, 13, 64, 100, 256, 257, 300):
        root_new = mth(ENTRIES[:new])
        for old in sorted({0, 1, new // 3, new // 2, new - 1, new}):
            root_old = mth(ENTRIES[:old])
            proof = tlog.prove_tree(new, old, log.read)
            tlog.check_tree(proof, new, root_new, old, root_old)
            if 0 < old < new:
                with pytest.raises(tlog.TlogError):
                    tlog.check_tree(proof, new, root_new, old, mth(ENTRIES[1:old + 1]))
                with pytest.raises(tlog.TlogError):
                    tlog.check_tree(proof, new, hashlib.sha256(b"x").digest(), old, root_old)
                with pytest.raises(tlog.TlogError):
                    tlog.check_tree(proof[:-1], new, root_new, old, root_old)
                with pytest.raises(tlog.TlogError, match="too long"):
                    tlog.check_tree([*proof, root_new], new, root_new, old, root_old)
                with pytest.raises(tlog.TlogError, match="is empty|too short"):
                    tlog.check_tree([], new, root_new, old, root_old)
                for i in range(len(proof)):  # any one hash of the proof flipped
                    bad = [*proof[:i], proof[i][:-1] + bytes([proof[i][-1] ^ 1]), *proof[i + 1:]]
                    with pytest.raises(tlog.TlogError, match="does not match the roots"):
                        tlog.check_tree(bad, new, root_new, old, root_old)


@pytest.mark.parametrize("case", [
    "old bigger than new", "same size other root", "proof from zero", "proof for equal sizes",
])
def test_consistency_refusals(case: str, log: Log) -> None:
    root8, root9 = mth(ENTRIES[:8]), mth(ENTRIES[:9])
    with pytest.raises(tlog.TlogError) as err:
        if case == "old bigger than new":
            tlog.check_tree([], 8, root8, 9, root9)
        elif case == "same size other root":
            tlog.check_tree([], 8, root8, 8, root9)
        elif case == "proof from zero":
            tlog.check_tree([root8], 8, root8, 0, tlog.EMPTY_ROOT)
        else:
            tlog.check_tree([root8], 8, root8, 8, root8)
    assert isinstance(err.value, EliteError) and err.value.rule == "log"
    assert "\n" not in str(err.value)


def test_prove_refuses_impossible_sizes(log: Log) -> None:
    with pytest.raises(tlog.TlogError):
        tlog.prove_record(5, 5, log.read)
    with pytest.raises(tlog.TlogError):
        tlog.prove_tree(5, 6, log.read)


def test_incremental_append_equals_record_by_record(log: Log) -> None:
    first = Log(ENTRIES[:100])
    added = tlog.append_leaf_hashes(100, [tlog.leaf_hash(e) for e in ENTRIES[100:]], first.read)
    assert sorted(added) == list(range(len(first.hashes), len(log.hashes)))
    assert all(log.hashes[i] == h for i, h in added.items())


def test_tile_paths() -> None:
    for case in VECTORS["tile_index_paths"]:
        assert tlog.tile_path(0, case["index"], 256) == f"tile/0/{case['path']}"
        assert tlog.entries_path(case["index"], 7) == f"tile/entries/{case['path']}.p/7"
    assert tlog.tile_path(2, 1, 255) == "tile/2/001.p/255"
    for bad in [(0, 0, 0), (0, 0, 257), (64, 0, 1), (0, -1, 1)]:
        with pytest.raises(tlog.TlogError):
            tlog.tile_path(*bad)


def test_tile_widths_as_in_the_c2sp_example() -> None:
    for case in VECTORS["tree_tiles"]:
        size = case["size"]
        for level, want in case["partial"].items():
            full = case["full"].get(level, 0)
            assert tlog.tile_width(int(level), full, size) == want
            if full:
                assert tlog.tile_width(int(level), full - 1, size) == 256
        assert tlog.tile_width(len(case["partial"]) + 1, 0, size) == 0


def test_new_tiles_and_reading_back(log: Log) -> None:
    tiles: dict[str, bytes] = {}
    sizes = [0, 1, 2, 255, 256, 257, 300]
    for old, new in zip(sizes, sizes[1:], strict=False):
        fresh = tlog.new_tiles(old, new, log.read)
        assert not set(fresh) & set(tiles)  # a tile of a size is never rewritten
        tiles.update(fresh)
    assert {"tile/0/000", "tile/0/000.p/255", "tile/0/001.p/44", "tile/1/000.p/1"} <= set(tiles)
    assert tiles["tile/0/000"] == b"".join(tlog.leaf_hash(e) for e in ENTRIES[:256])
    assert tiles["tile/1/000.p/1"] == mth(ENTRIES[:256])
    for size in (1, 255, 256, 257, 300):
        reader = tlog.hash_reader_from_tiles(size, tiles.__getitem__)
        assert tlog.tree_hash(size, reader) == mth(ENTRIES[:size])
        for n in (0, size // 2, size - 1):
            assert tlog.prove_record(size, n, reader) == tlog.prove_record(size, n, log.read)
        assert tlog.prove_tree(size, 1, reader) == tlog.prove_tree(size, 1, log.read)


def test_tile_reader_refuses_short_tiles_and_hashes_beyond_the_tree(log: Log) -> None:
    tiles = tlog.new_tiles(0, 10, log.read)
    cut = {path: data[:-1] for path, data in tiles.items()}
    with pytest.raises(tlog.TlogError, match="bytes, not 320"):
        tlog.tree_hash(10, tlog.hash_reader_from_tiles(10, cut.__getitem__))
    with pytest.raises(tlog.TlogError, match="not in a tree of 10"):
        tlog.hash_reader_from_tiles(10, tiles.__getitem__)([tlog.stored_hash_index(4, 0)])


def test_entry_bundles_round_trip() -> None:
    entries = [b"", b"a", b"\x00" * 300, "é".encode()]
    bundle = tlog.entry_bundle(entries)
    assert bundle[:2] == b"\x00\x00" and bundle[2:5] == b"\x00\x01a"
    assert tlog.parse_entry_bundle(bundle) == entries
    for cut in (1, 3, len(bundle) - 1):
        with pytest.raises(tlog.TlogError):
            tlog.parse_entry_bundle(bundle[:cut])
    with pytest.raises(tlog.TlogError):
        tlog.entry_bundle([b"x" * 65536])


def test_tile_reader_falls_back_to_the_full_tile(log: Log) -> None:
    """A log may delete a partial tile once its full tile exists: a reader of the older size
    takes the prefix of the full one."""
    tiles = tlog.new_tiles(0, 300, log.read)
    assert "tile/0/000.p/100" not in tiles and "tile/0/000" in tiles
    reader = tlog.hash_reader_from_tiles(100, tiles.__getitem__)
    assert tlog.tree_hash(100, reader) == mth(ENTRIES[:100])
    with pytest.raises(KeyError):  # a missing full tile is not papered over
        tlog.prove_record(300, 5, tlog.hash_reader_from_tiles(
            300, {k: v for k, v in tiles.items() if k != "tile/0/000"}.__getitem__))
