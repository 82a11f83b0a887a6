"""A damaged cache clone never ends in an internal error (issue 10.2, SPEC §13).

A registry with agents is published once (that fills the cache clone), then the clone is
damaged in one of many ways; `publish`, `discover` and `discover --offline` run through the
real command line. Online they re-clone and carry on; offline they work or print one line
that names the cache and what to do.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import git, run_cli
from tests.helpers_publish import index, write_agent
from tests.helpers_registry import isolated_module_env, make_identity, make_server

AGENTS = 5


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """tmp/home/.agentd (identity, manifests, a filled cache) and tmp/server.git."""
    tmp = tmp_path_factory.mktemp("damage")
    with isolated_module_env(tmp):
        make_server(tmp)
        make_identity("alice")
        for n in range(1, AGENTS + 1):
            write_agent("alice", n)
        run_cli("publish", "--registry", str(tmp / "server.git"))
        yield tmp


def cache_of(home: Path) -> Path:
    return next((home / ".agentd" / "cache" / "registries").glob("server-*.git"))


def loose(cache: Path, kind: str | None = None) -> list[Path]:
    files = sorted(p for p in (cache / "objects").glob("??/*") if p.is_file())
    if kind is None:
        return files
    return [p for p in files
            if _type(cache, p.parent.name + p.name) == kind]


def _type(cache: Path, oid: str) -> str:
    proc = subprocess.run(["git", "cat-file", "-t", oid], cwd=cache, capture_output=True,
                          text=True, check=False)
    return proc.stdout.strip()


def overwrite(path: Path, data: bytes) -> None:
    """Replace the file (a new inode: the damage stays in the cache)."""
    path.unlink()
    path.write_bytes(data)


def garbage(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(max(n, 64))


def packed(cache: Path) -> list[Path]:
    git("repack", "-q", "-a", "-d", cwd=cache)
    return sorted((cache / "objects" / "pack").glob("pack-*"))


def half_loose(cache: Path) -> None:
    for p in loose(cache)[::2]:
        overwrite(p, garbage(p.stat().st_size // 2))


def every_other(kind: str) -> Callable[[Path], None]:
    def damage(cache: Path) -> None:
        found = loose(cache, kind)
        assert found, f"no loose {kind}s to damage"
        for p in found[::2]:
            overwrite(p, b"garbage" * 10)
    return damage


def half_packed(cache: Path) -> None:
    for p in packed(cache)[::2] + loose(cache)[::2]:
        overwrite(p, garbage(p.stat().st_size // 2))


def pack_garbage(cache: Path) -> None:
    for p in packed(cache):
        if p.suffix == ".pack":
            overwrite(p, b"PACK" + garbage(p.stat().st_size))


def pack_truncated(cache: Path) -> None:
    for p in packed(cache):
        if p.suffix == ".pack":
            os.truncate(p, p.stat().st_size // 2)


def pack_idx_missing(cache: Path) -> None:
    for p in packed(cache):
        if p.suffix in (".idx", ".bitmap", ".rev"):
            p.unlink()


def pack_bytes_flipped(cache: Path) -> None:
    for p in packed(cache):
        if p.suffix == ".pack":
            data = bytearray(p.read_bytes())
            for at in range(len(data) // 3, len(data) - 40, 97):
                data[at] ^= 0x5A
            overwrite(p, bytes(data))


def head_garbage(cache: Path) -> None:
    overwrite(cache / "HEAD", b"\x00\xffgarbage\n")


def refs_garbage(cache: Path) -> None:
    git("pack-refs", "--all", cwd=cache)
    overwrite(cache / "packed-refs", b"zzzz not a ref\n\x00\x01")


def config_garbage(cache: Path) -> None:
    overwrite(cache / "config", b"[core\n\x00 = =\n")


def objects_gone(cache: Path) -> None:
    shutil.rmtree(cache / "objects")


def cache_is_a_file(cache: Path) -> None:
    shutil.rmtree(cache)
    cache.write_bytes(b"not a repository\n")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "half-of-objects-garbage": half_loose,
    "loose-blobs-garbage": every_other("blob"),
    "loose-trees-garbage": every_other("tree"),
    "loose-commits-garbage": every_other("commit"),
    "half-of-packs-garbage": half_packed,
    "pack-garbage": pack_garbage,
    "pack-truncated": pack_truncated,
    "pack-idx-missing": pack_idx_missing,
    "pack-bytes-flipped": pack_bytes_flipped,
    "head-garbage": head_garbage,
    "refs-garbage": refs_garbage,
    "config-garbage": config_garbage,
    "objects-dir-gone": objects_gone,
    "cache-is-a-file": cache_is_a_file,
}


@pytest.fixture(params=DAMAGE.values(), ids=DAMAGE.keys())
def damaged(request: pytest.FixtureRequest, pristine: Path, isolated_env: Path,
            tmp_path: Path) -> Path:
    """A copy of the pristine set-up, its cache damaged; returns the server path."""
    shutil.copytree(pristine / "home" / ".agentd", isolated_env / ".agentd", symlinks=True)
    server = tmp_path / "server.git"
    shutil.copytree(pristine / "server.git", server, symlinks=True)
    request.param(cache_of(isolated_env))
    return server


def no_internal_error(proc: subprocess.CompletedProcess[str]) -> None:
    assert "internal error" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


def test_publish_carries_on(damaged: Path) -> None:
    agent = write_agent("alice", 99)
    proc = run_cli("publish", "--registry", str(damaged), check=None)
    no_internal_error(proc)
    assert proc.returncode == 0, proc.stderr
    assert f"published  {agent}" in proc.stdout
    assert proc.stdout.count("up to date") == AGENTS
    assert agent in index(damaged)["agents"]


def test_discover_carries_on(damaged: Path) -> None:
    proc = run_cli("discover", "--registry", str(damaged), "--top", "0", "--json", check=None)
    no_internal_error(proc)
    assert proc.returncode == 0, proc.stderr
    assert "dropped" not in proc.stderr
    assert proc.stdout.count('"agent_id"') == AGENTS


def test_discover_offline_works_or_names_the_cache(damaged: Path, isolated_env: Path) -> None:
    proc = run_cli("discover", "--registry", str(damaged), "--top", "0", "--json",
                   "--offline", check=None)
    no_internal_error(proc)
    if proc.returncode == 0 and proc.stdout.count('"agent_id"') == AGENTS:
        return
    # the registry (or the part of it that cannot be read) is left out, named in one line
    assert proc.returncode in (0, 1)
    lines = proc.stderr.splitlines()
    naming = [line for line in lines
              if str(cache_of(isolated_env)) in line and "without --offline" in line]
    assert len(naming) == 1 and len(lines) <= 2, proc.stderr  # (+ "no registry could be read")
    assert "dropped" not in proc.stderr


# truncated local state (SPEC §13): registries.yaml and trusted-dids.json ---------------------
def _local_state(home: Path) -> dict[str, bytes]:
    run_cli("registry", "add", "main", "https://example.invalid/chrysalis-elites.git")
    run_cli("registry", "add", "mirror", "https://mirror.example.invalid/elites.git",
            "--branch", "main")
    for name in ("alice", "bob"):
        run_cli("trust", "add", f"did:key:{_nid(name)}", "--alias", name)
    agentd = home / ".agentd"
    return {name: (agentd / name).read_bytes()
            for name in ("registries.yaml", "trusted-dids.json")}


def _nid(name: str) -> str:
    from tests.helpers_registry import nid

    return nid(name)


LISTS = {"registries.yaml": ("registry", "list"), "trusted-dids.json": ("trust", "list")}
HINTS = {"registries.yaml": "git elite registry add", "trusted-dids.json": "git elite trust add"}


@pytest.mark.parametrize("name", LISTS, ids=LISTS)
def test_truncated_local_state_named_in_one_line(name: str, isolated_env: Path) -> None:
    whole = _local_state(isolated_env)[name]
    path = isolated_env / ".agentd" / name
    refused = 0
    for i, size in enumerate(range(0, len(whole), len(whole) // 8)):
        path.write_bytes(whole[:size])
        for args in (LISTS[name], ("discover", "--offline"))[:1 + (i % 4 == 1)]:
            proc = run_cli(*args, check=None)
            no_internal_error(proc)
            if args == LISTS[name] and proc.returncode != 0:
                refused += 1
                assert proc.returncode == 1
                assert proc.stderr.count("\n") == 1, proc.stderr
                assert str(path) in proc.stderr and HINTS[name] in proc.stderr, proc.stderr
    assert refused >= 3  # (a truncation at a line end can still be a valid, shorter file)


def test_garbage_bytes_in_local_state(isolated_env: Path) -> None:
    _local_state(isolated_env)
    for name in LISTS:
        path = isolated_env / ".agentd" / name
        path.write_bytes(b"\xff\xfe\x00garbage\x00" * 3)
        proc = run_cli(*LISTS[name], check=1)
        assert proc.stderr.count("\n") == 1 and str(path) in proc.stderr, proc.stderr
