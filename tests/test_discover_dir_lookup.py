"""discover's read of a shown agent through git's own path lookup (issue 26 item 2, branch
discover4): the read-ahead asks `git cat-file` for `info <tree>:<name>/` instead of shipping
each directory on the way (an `agents/<ab>` tree of 1M is ~360 KB) and parsing it. What the
Python walk of that tree decided for the shown agent — the exact name, an entry that is a
directory, one entry among duplicates — is now git's; what reaches the checks is the agent
directory git names, and the shard entry pins that agent's manifest bytes, so a hostile
`agents/<ab>` tree with two entries of one agent's name either shows exactly the pinned bytes
or drops the agent with the same `index` rule (docs/discover.md, "Performance")."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import layout
from git_elite.edges import catfile, git
from tests.conftest import git as run_git
from tests.conftest import run_cli
from tests.helpers_discover import registry_with
from tests.helpers_gitobjects import git_out
from tests.helpers_registry import agent_files, isolated_module_env

ONE = agent_files("alice", 1, total=400)
TWO = agent_files("alice", 2, total=300)
FIRST, SECOND = (next(iter(f)).split("/")[2] for f in (ONE, TWO))


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("dirlookup")
    with isolated_module_env(tmp):
        work, bare = registry_with(tmp, "reg", [{"owner": "alice", "n": 1, "total": 400},
                                                {"owner": "alice", "n": 2, "total": 300}])
        yield {"tmp": tmp, "work": work, "bare": bare}


def _raw_tree(repo: Path, entries: list[tuple[str, str, str]]) -> str:
    """A tree object written byte for byte (no sorting, duplicates kept): (mode, name, id)."""
    data = b"".join(f"{mode} {name}".encode() + b"\0" + bytes.fromhex(oid)
                    for mode, name, oid in entries)
    return git_out(repo, "hash-object", "-t", "tree", "--literally", "-w", "--stdin",
                   data=data)


def _entries(repo: Path, treeish: str) -> list[tuple[str, str, str]]:
    out = git_out(repo, "ls-tree", treeish)
    return [(line.split()[0].lstrip("0") if line.startswith("04") else line.split()[0],
             line.split("\t", 1)[1], line.split()[2]) for line in out.splitlines()]


def _hostile_clone(reg: dict[str, Any], name: str, shown: list[tuple[str, str, str]],
                   files: dict[str, bytes] | None = None) -> Path:
    """A clone whose HEAD is the registry's tip with `agents/<ab>` of FIRST replaced by the
    raw entries `shown` (FIRST's own entry removed first), everything else as it was; the
    blobs of `files` written into it first."""
    clone = reg["tmp"] / name
    run_git("clone", "-q", str(reg["bare"]), str(clone))
    for raw in (files or {}).values():
        git_out(clone, "hash-object", "-w", "--stdin", data=raw)
    ab = FIRST[:2]
    kept = [e for e in _entries(clone, f"HEAD:agents/{ab}") if e[1] != FIRST]
    shard = _raw_tree(clone, sorted(kept + shown, key=lambda e: e[1]))
    agents = _raw_tree(clone, [(m, n, shard if n == ab else o)
                               for m, n, o in _entries(clone, "HEAD:agents")])
    top = _raw_tree(clone, [(m, n, agents if n == "agents" else o)
                            for m, n, o in _entries(clone, "HEAD")])
    commit = git_out(clone, "commit-tree", top, "-p", "HEAD", "-m", "hostile")
    run_git("update-ref", "refs/heads/main", commit, cwd=clone)
    return clone


def _dir(reg: dict[str, Any], agent: str) -> str:
    return git_out(reg["work"], "rev-parse", f"HEAD:{layout.agent_dir(agent, 2)}")


def _pinned(reg: dict[str, Any], agent: str) -> str:
    ranked = json.loads(git_out(reg["work"], "show", "HEAD:index/ranked.json"))
    return str(ranked["agents"][agent]["manifest_sha256"])


def _discover(clone: Path) -> tuple[list[dict[str, Any]], str]:
    proc = run_cli("discover", "--json", cwd=clone, check=None)
    return json.loads(proc.stdout), proc.stderr


def test_the_honest_tip_shows_both_agents(reg: dict[str, Any]) -> None:
    clone = _hostile_clone(reg, "honest", [("40000", FIRST, _dir(reg, FIRST))])
    rows, _ = _discover(clone)
    assert [r["agent_id"] for r in rows] == [FIRST, SECOND]


def test_two_entries_of_the_shown_name_git_first_other_agent_is_refused(
        reg: dict[str, Any]) -> None:
    """git's lookup takes the first entry of the name: another agent's directory, whose
    profile is not this agent's (`binding`, as the parse's pick of it was before)."""
    clone = _hostile_clone(reg, "first-other", [("40000", FIRST, _dir(reg, SECOND)),
                                                ("40000", FIRST, _dir(reg, FIRST))])
    rows, stderr = _discover(clone)
    assert [r["agent_id"] for r in rows] == [SECOND]
    assert f"agent {FIRST[:12]} dropped: " in stderr and "[binding]" in stderr


def test_two_entries_of_the_shown_name_git_first_unpinned_bytes_is_refused(
        reg: dict[str, Any]) -> None:
    """The first entry is a directory of this agent whose manifest is validly signed by
    its owner but is not the one the shard entry pins: dropped with `index`."""
    other = agent_files("alice", 1, total=999)
    repo = reg["work"]
    blobs = {name.rsplit("/", 1)[1]: git_out(repo, "hash-object", "--stdin", data=raw)
             for name, raw in other.items()}
    entries = [("100644", n, blobs[n]) for n in sorted(blobs)]
    resigned = git_out(repo, "mktree", "--missing", data="".join(
        f"{m} blob {o}\t{n}\n" for m, n, o in entries).encode())
    clone = _hostile_clone(reg, "first-unpinned", [("40000", FIRST, resigned),
                                                   ("40000", FIRST, _dir(reg, FIRST))],
                           other)
    assert _raw_tree(clone, entries) == resigned
    rows, stderr = _discover(clone)
    assert [r["agent_id"] for r in rows] == [SECOND]
    assert f"agent {FIRST[:12]} dropped: " in stderr and "[index]" in stderr


def test_two_entries_of_the_shown_name_git_first_pinned_is_read_safely(
        reg: dict[str, Any]) -> None:
    """The first entry is the agent's own directory: what is shown is exactly the pinned
    manifest (the duplicate behind it is never read)."""
    clone = _hostile_clone(reg, "first-pinned", [("40000", FIRST, _dir(reg, FIRST)),
                                                 ("40000", FIRST, _dir(reg, SECOND))])
    rows, _ = _discover(clone)
    assert [r["agent_id"] for r in rows] == [FIRST, SECOND]
    manifest = git_out(clone, "cat-file", "blob", f"{_dir(reg, FIRST)}:manifest.json")
    assert hashlib.sha256((manifest + "\n").encode()).hexdigest() == _pinned(reg, FIRST)


def test_an_agent_entry_that_is_not_a_directory_is_absent(reg: dict[str, Any]) -> None:
    """A file entry (mode 100644) naming the agent's directory tree: git's lookup finds no
    directory, the tree is parsed as before, and the agent is dropped (`index`: absent)."""
    clone = _hostile_clone(reg, "file-mode", [("100644", FIRST, _dir(reg, FIRST))])
    rows, stderr = _discover(clone)
    assert [r["agent_id"] for r in rows] == [SECOND]
    assert "[index]" in stderr and "absent" in stderr


@pytest.mark.parametrize("order", ["pinned-first", "other-first", "file-first"])
def test_the_lookup_never_differs_from_the_parse_but_by_the_duplicate(
        reg: dict[str, Any], order: str) -> None:
    """In process: the directory the read-ahead's lookup gives is git's first entry of the
    name that is a directory; the full parse keeps the last. Whichever it is, the files
    read are that directory's, and no `agents/<ab>` tree is shipped or parsed."""
    own, other = _dir(reg, FIRST), _dir(reg, SECOND)
    entries = {"pinned-first": [("40000", FIRST, own), ("40000", FIRST, other)],
               "other-first": [("40000", FIRST, other), ("40000", FIRST, own)],
               "file-first": [("100644", FIRST, other), ("40000", FIRST, own)]}[order]
    clone = _hostile_clone(reg, f"inproc-{order}", entries)
    repo = catfile.open_repo(clone)
    try:
        tip = repo.odb.resolve("HEAD^{commit}")
        assert tip is not None
        state = git.TreeState(repo, repo[tip].tree)
        path = layout.agent_path(FIRST, "manifest.json")
        state.warm([path])
        shard = git_out(clone, "rev-parse", f"HEAD:agents/{FIRST[:2]}")
        read = state.read(path)
        # found by git: the tree neither shipped nor parsed; else parsed, as before
        parsed = shard in repo._tables
        assert parsed == (shard in repo.odb._contents) == (order == "file-first")
    finally:
        repo.close()
    picked = {"pinned-first": own, "other-first": other, "file-first": None}[order]
    if picked is None:  # git stops at the file entry: the parse decides, as before
        assert read == _unwarmed(clone, path)
    else:
        assert read == subprocess.run(["git", "cat-file", "blob", f"{picked}:manifest.json"],
                                      cwd=clone, capture_output=True, check=True).stdout


def _unwarmed(clone: Path, path: str) -> bytes | None:
    repo = catfile.open_repo(clone)
    try:
        tip = repo.odb.resolve("HEAD^{commit}")
        assert tip is not None
        return git.TreeState(repo, repo[tip].tree).read(path)
    finally:
        repo.close()


def test_a_tree_already_parsed_is_not_asked_about(reg: dict[str, Any]) -> None:
    """The root, parsed when IDENTITY.json was read, is looked up in Python: git is asked
    only about the trees not at hand (no extra round trip for them)."""
    repo = catfile.open_repo(reg["work"])
    try:
        tip = repo.odb.resolve("HEAD^{commit}")
        assert tip is not None
        root = repo[tip].tree
        state = git.TreeState(repo, root)
        assert state.read(layout.IDENTITY) is not None  # parses the root's table
        state.warm([layout.agent_path(FIRST, "manifest.json")])
        agents = root.child("agents")
        assert (root.id, "agents") not in repo.odb.dirs
        assert (agents.id, FIRST[:2]) in repo.odb.dirs
        assert state.read(layout.agent_path(FIRST, "manifest.json")) == ONE[
            layout.agent_path(FIRST, "manifest.json")]
    finally:
        repo.close()
