"""catfile's per-process object memory (branch prerecv): an object named by its full id is
read from git once per process (pre-receive at 1M read the pushed shard four times and each
agents/<ab> tree two or three times); a name that can move (HEAD, a ref, a short id) is
always asked again; past CACHE_BYTES nothing more is kept; a tree is parsed once per id
and its entries are made once each; the diff of two trees makes entries only for the
names that differ."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from git_elite.edges import catfile


def _git(repo: Path, *args: str, data: bytes | None = None) -> str:
    return subprocess.run(["git", *args], cwd=repo, input=data, capture_output=True,
                          check=True).stdout.decode().strip()


def _loose(repo: Path, oid: str) -> Path:
    return repo / "objects" / oid[:2] / oid[2:]


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    where = tmp_path / "r.git"
    subprocess.run(["git", "init", "-q", "--bare", str(where)], check=True)
    return where


def _commit(repo: Path, text: bytes, parent: str | None = None) -> str:
    blob = _git(repo, "hash-object", "-w", "--stdin", data=text)
    tree = _git(repo, "mktree", data=f"100644 blob {blob}\tf.json\n".encode())
    extra = ["-p", parent] if parent else []
    return _git(repo, "commit-tree", tree, *extra, "-m", "c")


def test_an_object_by_id_is_read_once(repo: Path) -> None:
    blob = _git(repo, "hash-object", "-w", "--stdin", data=b'{"a": 1}\n')
    cat = catfile.open_git_dir(repo)
    try:
        assert cat.odb.read(blob) == (3, b'{"a": 1}\n')
        _loose(repo, blob).unlink()  # git could no longer give it
        assert cat.odb.read(blob) == (3, b'{"a": 1}\n')
    finally:
        cat.close()
    fresh = catfile.open_git_dir(repo)  # another process asks git again: the object is gone
    try:
        with pytest.raises(KeyError):
            fresh.odb.read(blob)
    finally:
        fresh.close()


def test_a_name_that_moves_is_asked_again(repo: Path) -> None:
    first = _commit(repo, b"1\n")
    second = _commit(repo, b"2\n", first)
    _git(repo, "update-ref", "refs/heads/main", first)
    cat = catfile.open_git_dir(repo)
    try:
        assert cat.odb.read("refs/heads/main")[1].startswith(b"tree ")
        before = cat.odb.read("refs/heads/main")[1]
        _git(repo, "update-ref", "refs/heads/main", second)
        after = cat.odb.read("refs/heads/main")[1]
        assert before != after and f"parent {first}".encode() in after
        assert cat.odb.read(second) == (1, after)  # by id: the same bytes
        cat.odb.read(first[:12])
        _loose(repo, first).unlink()
        with pytest.raises(KeyError):
            cat.odb.read(first[:12])  # a short id is a name: asked again, and gone
    finally:
        cat.close()


def test_nothing_more_is_kept_past_the_budget(repo: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    monkeypatch.setattr(catfile, "CACHE_BYTES", 10)
    small = _git(repo, "hash-object", "-w", "--stdin", data=b"12345\n")
    large = _git(repo, "hash-object", "-w", "--stdin", data=b"0123456789\n")
    cat = catfile.open_git_dir(repo)
    try:
        assert cat.odb.read(large)[1] == b"0123456789\n"
        assert cat.odb.read(small)[1] == b"12345\n"
        _loose(repo, large).unlink()
        _loose(repo, small).unlink()
        assert cat.odb.read(small)[1] == b"12345\n"  # within the budget: kept
        with pytest.raises(KeyError):
            cat.odb.read(large)  # over it: read again, and git no longer has it
    finally:
        cat.close()


def test_a_tree_is_parsed_once_per_id(repo: Path) -> None:
    commit = _commit(repo, b"1\n")
    cat = catfile.open_git_dir(repo)
    try:
        one, two = cat.commit_tree(commit), cat[cat.commit_tree(commit).id]
        assert one is not two and one.table() is two.table()
        assert one["f.json"] is two["f.json"]  # an entry made once per tree id
        assert [e.name for e in two] == ["f.json"] and two["f.json"].data == b"1\n"
        assert list(one.entries().values()) == [two["f.json"]] and len(one) == 1
        with pytest.raises(KeyError):
            one["f.json/x"]  # not a directory
        with pytest.raises(KeyError):
            one["absent"]
    finally:
        cat.close()


def test_the_diff_of_two_trees_makes_only_the_differing_entries(repo: Path) -> None:
    from git_elite.edges import gittree

    blobs = [_git(repo, "hash-object", "-w", "--stdin", data=b"%d\n" % i) for i in range(50)]
    lines = [f"100644 blob {b}\tf{i:02d}.json" for i, b in enumerate(blobs)]
    old = _git(repo, "mktree", data="".join(x + "\n" for x in lines).encode())
    changed = lines[:10] + [f"100644 blob {blobs[0]}\tf10.json"] + lines[11:] + \
        [f"100755 blob {blobs[1]}\tzz.sh"]
    new = _git(repo, "mktree", data="".join(x + "\n" for x in changed).encode())
    cat = catfile.open_git_dir(repo)
    try:
        found = list(gittree.changed_entries(cat, cat[old], cat[new]))
        assert [(c.path, c.old is not None, c.new is not None) for c in found] == \
            [("f10.json", True, True), ("zz.sh", False, True)]
        assert found[1].new is not None and found[1].new.mode == 0o100755
        assert len(cat._made[old]) == 1 and len(cat._made[new]) == 2  # not 50 and 51
    finally:
        cat.close()
