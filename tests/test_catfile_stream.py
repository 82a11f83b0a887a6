"""`verify`'s batched blob reads (issue 26 item 3): catfile.Stream gives exactly the bytes
git holds, leaves out what it cannot give, starts its own git in a forked child, and a tree
read through it (`diff_trees`/`TreeState.subtree` with a stream) is the same list of files
and refusals, hostile entries included, as the one-by-one reads."""

from __future__ import annotations

import multiprocessing
import subprocess
from pathlib import Path
from typing import Any

import pygit2
import pytest

from git_elite.core.errors import RegistryError
from git_elite.edges import catfile, git
from tests.helpers_gitobjects import agent_dir
from tests.helpers_gitobjects import blob as _blob
from tests.helpers_gitobjects import git_out as _git
from tests.helpers_gitobjects import tree as _tree


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A bare repository whose tree holds agents/ab/ with regular files (two sharing a
    blob), a symlink, an executable, an oversized manifest and a gitlink, and a blob set
    that spans several of the stream's batches."""
    where = tmp_path_factory.mktemp("stream") / "r.git"
    subprocess.run(["git", "init", "-q", "--bare", str(where)], check=True)
    many = {f"file {i}\n".encode() * (i % 7 + 1): "" for i in range(600)}
    ids = {data: _blob(where, data) for data in many}
    big = _blob(where, b"x" * (64 * 1024 + 1))
    small = _blob(where, b'{"a": 1}\n')
    inner = agent_dir(where, small, small)
    bad = _tree(where, [f"100644 blob {big}\tmanifest.json"])
    ab = _tree(where, [f"040000 tree {inner}\tab" + "1" * 62,
                       f"040000 tree {bad}\tab" + "2" * 62])
    agents = _tree(where, [f"040000 tree {ab}\tab"])
    top = _tree(where, [f"040000 tree {agents}\tagents"])
    return {"path": where, "ids": ids, "top": top, "small": small}


def test_contents_are_gits_bytes_across_batches(repo: dict[str, Any]) -> None:
    stream = catfile.Stream(str(repo["path"]))
    try:
        wanted = list(repo["ids"].values())
        assert len(wanted) > 2 * catfile.Stream.BATCH
        got = stream.contents(wanted)
        assert {got[oid]: None for oid in wanted} == dict.fromkeys(repo["ids"])
        assert all(got[oid] == data for data, oid in repo["ids"].items())
    finally:
        stream.close()


def test_what_git_cannot_give_is_left_out(repo: dict[str, Any]) -> None:
    stream = catfile.Stream(str(repo["path"]))
    try:
        missing, tree = "2" * 40, repo["top"]
        got = stream.contents([missing, tree, "HEAD\ncontents x", repo["small"]])
        assert got == {repo["small"]: b'{"a": 1}\n'}  # no missing object, no tree
    finally:
        stream.close()


def test_a_dead_stream_gives_nothing_and_the_reads_fall_back(repo: dict[str, Any]) -> None:
    pg = pygit2.Repository(str(repo["path"]))
    state = git.TreeState(pg, pg[repo["top"]])
    expected = state.subtree("agents")
    stream = catfile.Stream(str(repo["path"]))
    stream.contents([repo["small"]])
    assert stream.proc is not None
    stream.proc.kill()
    stream.proc.wait()
    assert stream.contents([repo["small"]]) == {}
    fresh = git.TreeState(pg, pg[repo["top"]])
    fresh.stream = stream
    assert fresh.subtree("agents") == expected
    stream.close()


def _child(stream: catfile.Stream, oid: str, conn: Any) -> None:
    conn.send((stream.contents([oid]), stream.proc is not None and stream.proc.pid))
    conn.close()


def test_a_forked_child_starts_its_own_git(repo: dict[str, Any]) -> None:
    stream = catfile.Stream(str(repo["path"]))
    try:
        stream.contents([repo["small"]])
        assert stream.proc is not None
        mine = stream.proc.pid
        ctx = multiprocessing.get_context("fork")
        reader, writer = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_child, args=(stream, repo["small"], writer))
        child.start()
        got, theirs = reader.recv()
        child.join()
        assert got == {repo["small"]: b'{"a": 1}\n'}
        assert theirs and theirs != mine
        assert stream.contents([repo["small"]]) == got  # the parent's own still answers
        assert stream.proc.pid == mine
    finally:
        stream.close()


def test_a_tree_read_through_the_stream_is_the_same(repo: dict[str, Any]) -> None:
    """Same files, same refusals (symlink, executable, gitlink, oversized manifest: each
    refused unread) with the stream and without."""
    pg = pygit2.Repository(str(repo["path"]))
    plain = git.TreeState(pg, pg[repo["top"]])
    streamed = git.TreeState(pg, pg[repo["top"]])
    streamed.stream = catfile.Stream(str(repo["path"]))
    try:
        files = plain.subtree("agents")
        assert streamed.subtree("agents") == files
        assert sorted(p.rsplit("/", 1)[1] for p in files) == ["manifest.json",
                                                                "profile.json"]
        refused = plain.take_refusals()
        assert streamed.take_refusals() == refused
        assert sorted((p.rsplit("/", 1)[1], r.rule) for p, r in refused) == [
            ("link.json", "layout"), ("manifest.json", "json"), ("run.sh", "layout"),
            ("sub", "layout")]
    finally:
        streamed.stream.close()


def test_the_repo_reader_refuses_what_is_not_an_object(repo: dict[str, Any]) -> None:
    """CatRepo as pygit2: a missing object, an empty id or one carrying a second batch
    command is a KeyError (never another object), an unknown revision resolves to None,
    and the process still answers afterwards."""
    cat = catfile.open_git_dir(repo["path"])
    try:
        for bad in ("2" * 40, "", f"{repo['small']}\ncontents {repo['top']}"):
            with pytest.raises(KeyError):
                cat[bad]
            with pytest.raises(KeyError):
                cat.odb.read(bad)
        assert cat.odb.resolve("no-such-ref") is None
        assert cat.odb.resolve(f"{repo['top']}\ninfo {repo['top']}") is None
        assert cat.odb.read(repo["small"]) == (3, b'{"a": 1}\n')
        top = cat[repo["top"]]
        assert top.type_str == "tree" and [e.name for e in top] == ["agents"]
    finally:
        cat.close()


def test_a_damaged_object_is_not_taken_for_a_missing_one(tmp_path: Path) -> None:
    """A loose object whose bytes are garbage: git's reasons, a RegistryError (for
    cache.Mender), not the KeyError of an object that is simply not there."""
    where = tmp_path / "d.git"
    subprocess.run(["git", "init", "-q", "--bare", str(where)], check=True)
    oid = _blob(where, b"hi\n")
    loose = where / "objects" / oid[:2] / oid[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"garbage")
    cat = catfile.open_git_dir(where)
    try:
        with pytest.raises(RegistryError, match="git cat-file failed"):
            cat[oid]
        with pytest.raises(KeyError):
            cat["3" * 40]
    finally:
        cat.close()


def test_a_read_by_path_through_the_stream_is_the_same(repo: dict[str, Any]) -> None:
    """`TreeState.read` with a stream (an audit's shards and IDENTITY.json): git's bytes,
    and the same refusals, checked before anything is asked of git."""
    pg = pygit2.Repository(str(repo["path"]))
    plain = git.TreeState(pg, pg[repo["top"]])
    streamed = git.TreeState(pg, pg[repo["top"]])
    streamed.stream = stream = catfile.Stream(str(repo["path"]))
    try:
        inner = "agents/ab/ab" + "1" * 62
        paths = [f"{inner}/{name}" for name in ("manifest.json", "link.json", "run.sh",
                                                "sub", "missing.json")]
        paths.append("agents/ab/ab" + "2" * 62 + "/manifest.json")  # oversized
        for path in paths:
            assert streamed.read(path) == plain.read(path)
            assert streamed.refused(path) == plain.refused(path)
        assert streamed.read(paths[0]) == b'{"a": 1}\n' and stream.proc is not None
        assert sorted(streamed.take_refusals()) == sorted(plain.take_refusals())
    finally:
        stream.close()


def test_the_streams_git_maps_its_pack_in_capped_windows(tmp_path: Path) -> None:
    """The stream's git runs with pack windows capped (memory flat in the pack's size, as
    libgit2's in git.open_reader) and still gives every blob of a pack several windows
    long, byte for byte, here with windows far smaller than the pack."""
    where = tmp_path / "r.git"
    subprocess.run(["git", "init", "-q", "--bare", str(where)], check=True)
    import random

    rng = random.Random(7)
    blobs = {_blob(where, rng.randbytes(40_000)): None for _ in range(60)}
    _git(where, "pack-objects", "-q", str(where / "objects" / "pack" / "pack"),
         data="".join(f"{oid}\n" for oid in blobs).encode())
    _git(where, "prune-packed")
    assert sum(p.stat().st_size for p in (where / "objects" / "pack").glob("*.pack")) > \
        2_000_000
    stream = catfile.Stream(str(where))
    stream.PACK_WINDOWS = ("-c", "core.packedGitWindowSize=64k", "-c",
                           "core.packedGitLimit=256k")
    try:
        got = stream.contents(list(blobs))
        assert stream.proc is not None
        argv = Path(f"/proc/{stream.proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"core.packedGitLimit=256k" in argv
        assert set(got) == set(blobs)
        assert all(_git(where, "hash-object", "--stdin", data=data) == oid
                   for oid, data in got.items())
    finally:
        stream.close()
    assert catfile.Stream.PACK_WINDOWS == ("-c", "core.packedGitWindowSize=32m", "-c",
                                           "core.packedGitLimit=64m")


def _half(stream: catfile.Stream, small: str, part: Any) -> tuple[bool, int, bool, bytes]:
    from git_elite.core import fanout

    got = stream.contents([small])[small]
    assert stream.proc is not None
    waits = any(end == stream.close for end in fanout._AT_CHILD_END)
    return fanout.CHILD, stream.proc.pid, waits, got


def test_a_forked_half_waits_for_its_own_git(repo: dict[str, Any],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """verify's second core (fanout.halves) closes the git it started before it exits: the
    git is not left behind unreaped, and its CPU counts in the child's resource usage (and
    so in verify's; it did not, ~30 µs per agent at 10k)."""
    import os

    from git_elite.core import fanout

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    stream = catfile.Stream(str(repo["path"]))
    try:
        first, second = fanout.halves([1, 2], lambda part: _half(stream, repo["small"], part))
        assert first[0] is False and second[0] is True
        assert first[3] == second[3] == b'{"a": 1}\n'
        assert first[2] is False  # the parent closes its own (here: `finally` below)
        assert second[2] is True  # the child's close runs at its end, before it exits
        assert second[1] != first[1]
        with pytest.raises(ProcessLookupError):
            os.kill(second[1], 0)  # waited for by the child, which was joined
        assert fanout._AT_CHILD_END == []
    finally:
        stream.close()
