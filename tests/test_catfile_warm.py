"""discover's read-ahead through the batch reader (issue 26 item 2, branch discover3x):
`TreeState.warm(paths)` asks `git cat-file --batch-command` for the trees on the paths one
level at a time, then the blobs' headers, then the bytes of the blobs `read` will accept,
each level in one round trip. It is only a cache: every read after it gives the same bytes
and the same refusals as a reader that never warmed (hostile entries included), a refused
blob is never inflated, a missing object is still reported by `read`, and a batch process
that dies or answers out of step is replaced so later reads see git as before."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from git_elite.edges import catfile, git
from tests.helpers_gitobjects import agent_dir, tree
from tests.helpers_gitobjects import blob as _blob
from tests.helpers_gitobjects import git_out as _git


def _tree(repo: Path, lines: list[str]) -> str:
    return tree(repo, lines, missing=True)


GOOD = "ab" + "1" * 62
BIG = "ab" + "2" * 62
ODD = "cd" + "3" * 62
PATHS = [f"agents/ab/{GOOD}/manifest.json", f"agents/ab/{GOOD}/profile.json",
         f"agents/ab/{GOOD}/link.json", f"agents/ab/{GOOD}/run.sh",
         f"agents/ab/{GOOD}/sub", f"agents/ab/{GOOD}/gone.json",
         f"agents/ab/{BIG}/manifest.json", f"agents/cd/{ODD}/manifest.json",
         f"agents/cd/{ODD}/profile.json", "agents/ef/nothing/manifest.json", "IDENTITY.json"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A bare repository: a good agent (manifest, profile), a symlink, an executable, a
    gitlink and a missing blob beside them; an oversized manifest; an agent directory
    that is a blob, not a tree; a profile.json that names a tree."""
    where = tmp_path_factory.mktemp("warm") / "r.git"
    subprocess.run(["git", "init", "-q", "--bare", str(where)], check=True)
    small = _blob(where, b'{"a": 1}\n')
    profile = _blob(where, b'{"p": 2}\n')
    big = _blob(where, b"x" * (64 * 1024 + 1))
    identity = _blob(where, b'{"i": 3}\n')
    inner = agent_dir(where, small, profile, (f"100644 blob {'2' * 40}\tgone.json",))
    bad = _tree(where, [f"100644 blob {big}\tmanifest.json"])
    odd = _tree(where, [f"100644 blob {small}\tmanifest.json",
                        f"040000 tree {inner}\tprofile.json"])
    ab = _tree(where, [f"040000 tree {inner}\t{GOOD}", f"040000 tree {bad}\t{BIG}"])
    cd = _tree(where, [f"100644 blob {small}\tnot-a-dir", f"040000 tree {odd}\t{ODD}"])
    agents = _tree(where, [f"040000 tree {ab}\tab", f"040000 tree {cd}\tcd"])
    top = _tree(where, [f"040000 tree {agents}\tagents",
                        f"100644 blob {identity}\tIDENTITY.json"])
    commit = _git(where, "commit-tree", top, "-m", "t")
    return {"path": where, "commit": commit, "big": big, "small": small}


def _reads(state: git.TreeState) -> list[tuple[Any, Any]]:
    return [(state.read(p), state.refused(p)) for p in PATHS]


def test_reads_after_warm_are_the_unwarmed_reads(repo: dict[str, Any]) -> None:
    plain = git.state_at(catfile.open_git_dir(repo["path"]), repo["commit"])
    warmed_repo = catfile.open_git_dir(repo["path"])
    warmed = git.state_at(warmed_repo, repo["commit"])
    try:
        warmed.warm(PATHS)
        assert _reads(warmed) == _reads(plain)
        assert plain.read(f"agents/ab/{GOOD}/manifest.json") == b'{"a": 1}\n'
        assert plain.refused(f"agents/ab/{BIG}/manifest.json") is not None
    finally:
        plain.repo.close()
        warmed_repo.close()


def test_warmed_reads_need_no_round_trip(repo: dict[str, Any]) -> None:
    """After `warm`, the batch process is ended: the accepted blobs still read (from the
    read-ahead), so no request per path was left to make."""
    opened = catfile.open_git_dir(repo["path"])
    state = git.state_at(opened, repo["commit"])
    wanted = [f"agents/ab/{GOOD}/manifest.json", f"agents/ab/{GOOD}/profile.json",
              f"agents/cd/{ODD}/manifest.json", "IDENTITY.json"]
    state.warm(wanted)
    opened.close()  # git's stdin closed, the process waited for: no further answers
    assert [state.read(p) for p in wanted] == \
        [b'{"a": 1}\n', b'{"p": 2}\n', b'{"a": 1}\n', b'{"i": 3}\n']


def test_refused_blobs_are_never_inflated(repo: dict[str, Any]) -> None:
    opened = catfile.open_git_dir(repo["path"])
    state = git.state_at(opened, repo["commit"])
    try:
        state.warm(PATHS)
        assert repo["big"] in opened.odb.headers  # its size was asked, to refuse it
        assert repo["big"] not in opened.odb._contents  # its bytes were not
        assert all(len(data) <= 64 * 1024 for _, data in opened.odb._contents.values()
                   if _ == 3)
        assert "1" * 40 not in opened.odb._contents and "2" * 40 not in opened.odb._contents
        assert state.read(f"agents/ab/{BIG}/manifest.json") is None
        assert "exceeds the limit" in str(state.refused(f"agents/ab/{BIG}/manifest.json"))
    finally:
        opened.close()


def test_a_batch_process_gone_before_warm_is_replaced(repo: dict[str, Any]) -> None:
    opened = catfile.open_git_dir(repo["path"])
    state = git.state_at(opened, repo["commit"])
    plain = git.state_at(catfile.open_git_dir(repo["path"]), repo["commit"])
    try:
        first = opened.odb.proc
        first.kill()
        first.wait()
        state.warm(PATHS)
        assert opened.odb.proc is not first  # a new process, the old one's pipe dropped
        assert _reads(state) == _reads(plain)
    finally:
        opened.close()
        plain.repo.close()


def test_an_answer_out_of_step_starts_a_new_process(repo: dict[str, Any]) -> None:
    """An answer that is not for the object asked (here: the process is fed a stray
    command first, so every answer is one behind) is never taken for it."""
    opened = catfile.open_git_dir(repo["path"])
    state = git.state_at(opened, repo["commit"])
    plain = git.state_at(catfile.open_git_dir(repo["path"]), repo["commit"])
    try:
        odb = opened.odb
        stray = odb.proc
        assert stray.stdin is not None
        stray.stdin.write(f"info {repo['small']}\n".encode())
        stray.stdin.flush()
        state.warm(PATHS)
        assert odb.proc is not stray
        assert _reads(state) == _reads(plain)
    finally:
        opened.close()
        plain.repo.close()


def test_warm_is_nothing_for_other_repositories(tmp_path: Path) -> None:
    state = git.TreeState(object(), None)
    state.warm(PATHS)  # no tree, no batch reader: no error, nothing read
    assert state.read("IDENTITY.json") is None


# --- a lookup is the full parse's entry -------------------------------------------------------

def _outcome(fn: Any) -> Any:
    try:
        found = fn()
    except (KeyError, ValueError) as err:
        return type(err).__name__
    return (found.id, found.filemode, found.name, found.type_str)


def test_child_of_a_real_tree_is_its_entry(repo: dict[str, Any]) -> None:
    opened = catfile.open_git_dir(repo["path"])
    plain = catfile.open_git_dir(repo["path"])
    try:
        top = opened.commit_tree(repo["commit"])
        whole = plain.commit_tree(repo["commit"])
        for path in PATHS:
            assert _outcome(lambda p=path: top[p]) == _outcome(
                lambda p=path: _walk_whole(whole, p)), path
    finally:
        opened.close()
        plain.close()


def _walk_whole(node: Any, path: str) -> Any:
    for part in path.split("/"):
        node = node.entries()[part]
    return node
