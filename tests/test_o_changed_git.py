"""O(changed) on the hooks' git path (SPEC §12, issue 11): the tree diff the hooks, `verify
--history`, publish and the site run reads only the trees on the changed agent's path, so the
objects read for a one-agent commit do not grow with the registry's size; it finds the same
changes as libgit2's full diff, and keeps gittree's checks on what it reads."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pygit2
import pytest

from git_elite.edges import git, gittree


class Counting:
    """A pygit2.Repository that counts the objects looked up by id (trees and blobs)."""

    def __init__(self, repo: Any):
        self.repo = repo
        self.lookups = 0

    def __getitem__(self, oid: Any) -> Any:
        self.lookups += 1
        return self.repo[oid]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.repo, name)


def _aid(n: int) -> str:
    return hashlib.sha256(b"agent %d" % n).hexdigest()


def _registry(repo: Any, agents: int) -> Any:
    """A format-2-shaped tree of `agents` agents (manifest.json and profile.json each),
    spread over the 256 agents/<ab>/ directories, with a head and shards."""
    files: dict[str, bytes | None] = {"IDENTITY.json": b"{}", "INDEX.json": b"{}"}
    for n in range(agents):
        aid = _aid(n)
        files[f"agents/{aid[:2]}/{aid}/manifest.json"] = b'{"n": %d}' % n
        files[f"agents/{aid[:2]}/{aid}/profile.json"] = b'{"p": %d}' % n
        files[f"index/{aid[:2]}.json"] = b'{"shard": %d}' % n
    return repo[git.build_commit(repo, None, files, "base")].tree


def _new_aid() -> str:
    """An agent the registries do not hold, in a shard that both hold (agent 0's)."""
    return _aid(0)[:2] + "f" * 62


def _one_more(repo: Any, base: Any, n: int) -> Any:
    aid = _new_aid()
    files: dict[str, bytes | None] = {
        f"agents/{aid[:2]}/{aid}/manifest.json": b'{"new": %d}' % n,
        f"agents/{aid[:2]}/{aid}/profile.json": b'{"newp": %d}' % n,
        f"index/{aid[:2]}.json": b'{"shard": "changed"}', "INDEX.json": b'{"head": 2}'}
    parent = str(repo.create_commit(None, _sig(), _sig(), "b", base.id, []))
    return repo[git.build_commit(repo, parent, files, "one more")].tree


def _sig() -> Any:
    return pygit2.Signature("t", "t@example.org", 1767225600, 0)


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Any, Any, Any]]:
    out = {}
    for size in (300, 3000):
        path = tmp_path_factory.mktemp(f"reg{size}")
        repo = pygit2.init_repository(str(path), bare=True)
        base = _registry(repo, size)
        out[size] = (repo, base, _one_more(repo, base, size))
    return out


def test_one_agent_diff_reads_the_same_objects_at_300_and_3000(
        trees: dict[int, tuple[Any, Any, Any]]) -> None:
    counts = {}
    for size, (repo, old, new) in trees.items():
        counting = Counting(repo)
        changes = git.diff_trees(counting, old, new)
        assert [c.path for c in changes] == sorted(
            ["INDEX.json", f"index/{_new_aid()[:2]}.json",
             f"agents/{_new_aid()[:2]}/{_new_aid()}/manifest.json",
             f"agents/{_new_aid()[:2]}/{_new_aid()}/profile.json"])
        counts[size] = counting.lookups
    # trees: agents, agents/<ab> (both sides), the new agent's directory, index; blobs read
    assert counts[300] == counts[3000] <= 12, counts


def test_the_walk_finds_what_libgit2s_full_diff_finds(
        trees: dict[int, tuple[Any, Any, Any]]) -> None:
    repo, old, new = trees[300]
    for a, b in ((old, new), (new, old), (None, new), (old, None)):
        mine = {(c.path, c.old is not None, c.new is not None)
                for c in git.diff_trees(repo, a, b)}
        if a is None:
            deltas = b.diff_to_tree(swap=True).deltas
        elif b is None:
            deltas = a.diff_to_tree().deltas
        else:
            deltas = repo.diff(a, b).deltas
        theirs = {(d.new_file.path if d.status_char() != "D" else d.old_file.path,
                   d.status_char() != "A", d.status_char() != "D") for d in deltas}
        assert mine == theirs


def test_type_changes_and_modes_survive_the_walk(tmp_path: Path) -> None:
    """A file turned into a directory and back, and a mode change on the same blob, are
    changes; a symlink is refused unread; a directory entry naming a blob is a layout
    problem, not an exception."""
    from pygit2.enums import FileMode

    repo = pygit2.init_repository(str(tmp_path), bare=True)
    blob = repo.create_blob(b"{}")

    def tree(entries: list[tuple[str, Any, int]]) -> Any:
        builder = repo.TreeBuilder()
        for name, oid, mode in entries:
            builder.insert(name, oid, mode)
        return repo[builder.write()]

    sub = tree([("x.json", blob, FileMode.BLOB)])
    old = tree([("a", blob, FileMode.BLOB), ("b", sub.id, FileMode.TREE),
                ("c", blob, FileMode.BLOB), ("d", sub.id, FileMode.TREE)])
    good = tree([("a", sub.id, FileMode.TREE), ("b", blob, FileMode.BLOB),
                 ("c", blob, FileMode.LINK)])
    # libgit2 will not build a directory entry naming a blob: write the raw tree object
    raw = bytes(repo.odb.read(good.id)[1]) + b"40000 d\0" + blob.raw
    new = repo[repo.odb.write(pygit2.enums.ObjectType.TREE, raw)]
    found = {c.path: c for c in git.diff_trees(repo, old, new)}
    assert sorted(found) == ["a", "a/x.json", "b", "b/x.json", "c", "d"]
    assert found["a"].old == b"{}" and found["a"].new is None
    assert found["a/x.json"].new == b"{}" and found["b/x.json"].new is None
    assert found["c"].refused is not None and found["c"].refused.rule == "layout"
    assert found["d"].refused is not None and "names a blob" in found["d"].refused.message


def test_a_deep_tree_is_one_problem_at_the_depth_limit(tmp_path: Path) -> None:
    from pygit2.enums import FileMode

    repo = pygit2.init_repository(str(tmp_path), bare=True)
    inner = repo.TreeBuilder()
    inner.insert("x", repo.create_blob(b"x"), FileMode.BLOB)
    oid = inner.write()
    for _ in range(2000):
        wrap = repo.TreeBuilder()
        wrap.insert("d", oid, FileMode.TREE)
        oid = wrap.write()
    counting = Counting(repo)
    changes = git.diff_trees(counting, None, repo[oid])
    assert len(changes) == 1 and changes[0].refused is not None
    assert changes[0].refused.rule == "layout" and changes[0].refused.path == "d/d/d/…"
    assert counting.lookups <= gittree.MAX_DEPTH + 1


def _traced_commands(trace: Path) -> list[str]:
    return [line.split("built-in: ", 1)[1] for line in trace.read_text().splitlines()
            if "built-in: git " in line]


def test_a_commit_reads_only_the_staged_changes(tmp_path: Path) -> None:
    """pre-commit lists the staged changes with one `git diff-index --cached` (the git
    index is never loaded into Python: pygit2's would be O(entries)), stages the index files
    with one `git update-index`; post-commit of a plain `git commit` does not read the index
    again (its checksum is the one pre-commit left); a partial commit still ends clean."""
    from tests.conftest import git as run_git
    from tests.helpers_registry import agent_files, make_registry, write_files

    reg = make_registry(tmp_path / "reg")
    write_files(reg, agent_files("alice", 1))
    run_git("add", "agents", cwd=reg)
    trace = tmp_path / "trace"
    run_git("commit", "-q", "-m", "one", cwd=reg, env={"GIT_TRACE": str(trace)})
    hooks = [c for c in _traced_commands(trace) if not c.startswith("git commit")]
    assert [c.split()[1] for c in hooks if c.split()[1] in
            ("diff-index", "update-index", "ls-files", "read-tree")] == \
        ["diff-index", "update-index"], hooks
    assert run_git("status", "--porcelain", cwd=reg).stdout == ""
    write_files(reg, {**agent_files("bob", 2), **agent_files("carol", 3)})
    run_git("add", "agents", cwd=reg)
    trace.unlink()
    run_git("commit", "-q", "-m", "bob", "--", *sorted(agent_files("bob", 2)), cwd=reg,
            env={"GIT_TRACE": str(trace)})
    assert "ls-files" in " ".join(_traced_commands(trace))  # a temporary index: checked
    lines = run_git("status", "--porcelain", cwd=reg).stdout.splitlines()
    assert lines and all("agents/" in line for line in lines)
