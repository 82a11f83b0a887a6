"""state.hasher (hooks5; discover round 8): a process's first MiB of data hashed by CPython's
built-in sha1/sha256, the rest by hashlib's OpenSSL ones, the same digests either way; the blob ids, shard digests and
manifest_sha256 the index is built of are unchanged; an interpreter without the built-in
modules falls back to hashlib."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from git_elite.core import indexing, shards, state


@pytest.mark.parametrize("size", [0, 1, 55, 64, 1000, state.SMALL_DIGEST - 1,
                                  state.SMALL_DIGEST, state.SMALL_DIGEST + 1])
def test_the_same_digests_on_both_sides_of_the_threshold(size: int) -> None:
    data = bytes((i * 7 + 3) % 256 for i in range(size))
    assert state.hasher("sha256", size)(data).hexdigest() == hashlib.sha256(data).hexdigest()
    assert state.hasher("sha1", size)(data).hexdigest() == hashlib.sha1(data).hexdigest()
    assert state.blob_id(data) == hashlib.sha1(b"blob %d\0" % size + data).hexdigest()
    assert shards.digest(data) == hashlib.sha256(data).hexdigest()


def test_a_process_digests_its_first_mib_by_the_built_ins_then_by_openssl() -> None:
    """discover, round 8: the built-ins serve until SMALL_DIGEST bytes were digested in the
    process (a discover's 418 KB ranked.json among them), then OpenSSL serves everything:
    loading it (~2.4 ms) pays only past ~0.9 MB of digests (docs/scale.md)."""
    code = ("from git_elite.core import state\n"
            "kib = 1024\n"
            "names = [state.hasher('sha256', n).__name__ for n in (10, 600 * kib, 300 * kib,\n"
            "         200 * kib, 10)]\n"
            "names.append(state.hasher('sha1', 10).__name__)\n"
            "print(state.SMALL_DIGEST, *names)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert int(out[0]) == 1024 * 1024
    # 10 + 600 KiB + 300 KiB fit in 1 MiB; the next 200 KiB do not: OpenSSL from then on
    assert [("openssl" in name) for name in out[1:]] == [False, False, False, True, True, True]
    assert state.hasher("sha256", state.SMALL_DIGEST) is hashlib.sha256


def test_manifest_sha256_in_an_index_entry() -> None:
    raw = b'{"x": 1}'
    assert state.hasher("sha256", len(raw))(raw).hexdigest() == hashlib.sha256(raw).hexdigest()
    assert "hashlib" not in indexing.__dict__ and "hashlib" not in shards.__dict__


def test_without_the_built_in_modules_hashlib_serves() -> None:
    code = ("import sys\n"
            "for name in ('_sha1', '_sha2', '_sha256'): sys.modules[name] = None\n"
            "from git_elite.core import state\n"
            "import hashlib\n"
            "h = state.hasher('sha256', 3)\n"
            "assert h(b'abc').hexdigest() == hashlib.sha256(b'abc').hexdigest()\n"
            "assert state.blob_id(b'') == 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391'\n"
            "print(h.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "openssl_sha256"
