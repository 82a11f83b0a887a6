"""What `verify` reads of a repository with fewer `git` processes (edges/repofacts.py and
freshness's root-commit walk, docs/scale.md "second verify, round 8") is what the `git`
processes it replaced answer, for every shape of repository and HEAD: a bare repository,
a work tree, an unborn, detached, symlinked or chained HEAD, a linked worktree, a `.git`
directory given as the path, core.worktree, GIT_DIR, a subdirectory, a `safe.directory`
refusal, repeated and value-less keys; and the root commit found by walking first parents
to a remembered tip is `git rev-list --first-parent --max-parents=0`'s, also past a merge
of another history, never through a replace ref, a graft or a shallow clone."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from git_elite.edges import catfile, freshness, git, repofacts
from tests.conftest import git as run_git


def _commit(repo: Path, message: str) -> str:
    run_git("commit", "-q", "--allow-empty", "-m", message, cwd=repo)
    return run_git("rev-parse", "HEAD", cwd=repo).stdout.strip()


def _work(tmp: Path) -> Path:
    run_git("init", "-q", str(tmp / "work"))
    _commit(tmp / "work", "first")
    return tmp / "work"


def _bare(tmp: Path) -> Path:
    run_git("clone", "-q", "--bare", str(_work(tmp)), str(tmp / "bare.git"))
    return tmp / "bare.git"


def bare_unborn(tmp: Path) -> Path:
    run_git("init", "-q", "--bare", str(tmp / "empty.git"))
    return tmp / "empty.git"


def work_unborn(tmp: Path) -> Path:
    run_git("init", "-q", str(tmp / "w"))
    return tmp / "w"


def detached(tmp: Path) -> Path:
    work = _work(tmp)
    run_git("checkout", "-q", "--detach", cwd=work)
    return work


def symlinked_head(tmp: Path) -> Path:
    bare = _bare(tmp)
    (bare / "HEAD").unlink()
    (bare / "HEAD").symlink_to("refs/heads/main")
    return bare


def chained_head(tmp: Path) -> Path:  # HEAD -> refs/heads/alias -> refs/heads/main
    bare = _bare(tmp)
    run_git("symbolic-ref", "refs/heads/alias", "refs/heads/main", cwd=bare)
    run_git("symbolic-ref", "HEAD", "refs/heads/alias", cwd=bare)
    return bare


def other_branch(tmp: Path) -> Path:
    bare = _bare(tmp)
    run_git("symbolic-ref", "HEAD", "refs/heads/trunk", cwd=bare)
    return bare


def linked_worktree(tmp: Path) -> Path:
    run_git("worktree", "add", "-q", "-b", "side", str(tmp / "linked"), cwd=_work(tmp))
    return tmp / "linked"


def git_dir_itself(tmp: Path) -> Path:
    return _work(tmp) / ".git"


def subdirectory(tmp: Path) -> Path:
    (tmp / "work" / "sub").mkdir(parents=True)
    run_git("init", "-q", str(tmp / "work"))
    return tmp / "work" / "sub"


def core_worktree(tmp: Path) -> Path:
    bare = _bare(tmp)
    (tmp / "tree").mkdir()
    run_git("config", "core.worktree", str(tmp / "tree"), cwd=bare)
    return bare


def keys_repeated(tmp: Path) -> Path:
    bare = _bare(tmp)
    with open(bare / "config", "a") as handle:
        handle.write('[elite]\n\tbranch = one\n\tbranch = two \n[remote]\n\turl = x\n'
                     '[remote "Q"]\n\turl\n[remote "a"]\n\turl = rad://z3abc\n'
                     '[remote "rad"]\n\turl = rad:z4\n[remote "a"]\n\turl = /srv/b.git\n')
    return bare


def branch_valueless(tmp: Path) -> Path:
    bare = _bare(tmp)
    with open(bare / "config", "a") as handle:
        handle.write("[elite]\n\tbranch = one\n\tbranch\n")
    return bare


SHAPES: dict[str, tuple[Callable[[Path], Path], str | None, bool]] = {
    # shape: (builder, the branch read from HEAD's file (None: git asked), bare)
    "bare": (_bare, "refs/heads/main", True),
    "bare, unborn branch": (bare_unborn, "refs/heads/main", True),
    "bare, HEAD on another branch": (other_branch, "refs/heads/trunk", True),
    "work tree": (_work, "refs/heads/main", False),
    "work tree, unborn branch": (work_unborn, "refs/heads/main", False),
    "detached HEAD": (detached, None, False),
    "symlinked HEAD": (symlinked_head, None, False),
    "HEAD naming a symbolic ref": (chained_head, None, False),
    "linked worktree": (linked_worktree, None, False),
    "a .git directory as the path": (git_dir_itself, "refs/heads/main", False),
    "a subdirectory of a work tree": (subdirectory, None, False),
    "bare with core.worktree": (core_worktree, "refs/heads/main", False),
    "repeated keys, remotes": (keys_repeated, "refs/heads/main", True),
    "a value-less elite.branch": (branch_valueless, "refs/heads/main", True),
}


def _same_as_git(path: Path) -> repofacts.Facts:
    facts = repofacts.Facts(str(path))
    assert facts.config_get("elite.branch") == git.config_get("elite.branch", path)
    assert facts.head_branch() == git._head_branch(path)  # `git symbolic-ref -q HEAD`
    assert facts.remote_urls("rad") == git.remote_urls(path, "rad")
    assert facts.toplevel() == git.toplevel(path)
    return facts


@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_answers_are_gits(tmp_path: Path, shape: str) -> None:
    build, head, bare = SHAPES[shape]
    facts = _same_as_git(build(tmp_path))
    assert (facts.head, facts.bare) == (head, bare)


def test_repeated_keys_in_gits_order(tmp_path: Path) -> None:
    facts = _same_as_git(keys_repeated(tmp_path))
    assert facts.config_get("elite.branch") == "two"
    assert facts.remote_urls("rad") == ["rad:z4", str(tmp_path / "work"), "rad://z3abc",
                                        "/srv/b.git"]


def test_git_dir_in_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = _bare(tmp_path)
    monkeypatch.setenv("GIT_DIR", str(bare))
    assert repofacts.Facts(str(bare)).head is None
    monkeypatch.chdir(tmp_path)
    _same_as_git(bare)


def test_a_safe_directory_refusal(tmp_path: Path) -> None:
    """git reads no repository config where it refuses the owner (`git config` answers 1,
    nothing found): HEAD's file is not read either, and every answer is git's refusal."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give the repository another owner")
    bare = other_branch(tmp_path)
    for folder, _, files in os.walk(bare):
        for name in [folder, *(os.path.join(folder, f) for f in files)]:
            os.lchown(name, 4321, 4321)
    assert run_git("symbolic-ref", "HEAD", cwd=bare, check=False).returncode == 128
    facts = _same_as_git(bare)
    assert (facts.head, facts.bare, facts.head_branch()) == (None, False, None)


def test_not_a_repository(tmp_path: Path) -> None:
    facts = _same_as_git(tmp_path)
    assert facts.head is None


# --- the root commit, walked to a remembered tip ---------------------------------------------

def _rev_list(repo: Path, tip: str) -> str:
    return run_git("rev-list", "--first-parent", "--max-parents=0", tip,
                   cwd=repo).stdout.split()[-1]


def _root(repo: Path, tip: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    """freshness.root_commit through a CatRepo, and the `git` subcommands it started."""
    started: list[str] = []
    real = git.run

    def counted(args: list[str], *rest: object, **kw: object) -> object:
        started.append(args[0])
        return real(args, *rest, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(git, "run", counted)
    cat = catfile.open_repo(repo)
    try:
        return freshness.root_commit(repo, tip, cat), started
    finally:
        cat.close()
        monkeypatch.setattr(git, "run", real)


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, list[str]]:
    work = _work(tmp_path)
    first = run_git("rev-parse", "HEAD", cwd=work).stdout.strip()
    return work, [first, *(_commit(work, f"c{n}") for n in range(3))]


def test_a_new_tip_walks_to_the_remembered_one(history: tuple[Path, list[str]],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    work, commits = history
    assert freshness.root_commit(work, commits[1]) == commits[0]  # remembered
    root, started = _root(work, commits[3], monkeypatch)
    assert root == _rev_list(work, commits[3]) == commits[0]
    assert started == []  # no `git rev-list`
    assert freshness._roots()[commits[3]] == commits[0]


def test_a_merge_of_another_history(history: tuple[Path, list[str]], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Only first parents: a remembered tip of a merged-in history names another root."""
    work, commits = history
    run_git("checkout", "-q", "--orphan", "other", cwd=work)
    other = _commit(work, "another root")
    run_git("checkout", "-q", "main", cwd=work)
    run_git("merge", "-q", "--allow-unrelated-histories", "-m", "merge", "other", cwd=work)
    merge = run_git("rev-parse", "HEAD", cwd=work).stdout.strip()
    assert freshness.root_commit(work, other) == other  # remembered: its own root
    root, started = _root(work, merge, monkeypatch)
    assert root == _rev_list(work, merge) == commits[0]
    assert started == []  # walked to main's first commit


@pytest.mark.parametrize("how", ["replace ref", "packed replace ref", "graft", "shallow"])
def test_rev_list_where_a_remembered_history_may_differ(
        history: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        how: str) -> None:
    work, commits = history
    assert freshness.root_commit(work, commits[2]) == commits[0]  # remembered
    if how == "shallow":
        shallow = tmp_path / "shallow"
        run_git("clone", "-q", "--depth", "2", f"file://{work}", str(shallow))
        work = shallow
    elif how == "graft":
        (work / ".git" / "info").mkdir(exist_ok=True)
        (work / ".git" / "info" / "grafts").write_text(f"{commits[2]}\n")
    else:
        run_git("replace", "--graft", commits[2], cwd=work)  # c1 now has no parent
        if how == "packed replace ref":
            run_git("pack-refs", "--all", cwd=work)
            shutil.rmtree(work / ".git" / "refs" / "replace", ignore_errors=True)
    root, started = _root(work, commits[3], monkeypatch)
    assert root == _rev_list(work, commits[3])
    assert started == ["rev-list"]
    assert root == commits[2]  # (the remembered tip's root was commits[0])


def test_the_config_begun_ahead_is_the_answer_read(tmp_path: Path) -> None:
    """`Facts(path, ahead=True)` (verify's: git answers while the audit's modules load)
    takes the answer of the `git config` it began, the same as one run then; unused, it is
    ended by `git.start_clear` (verify's `finally`)."""
    bare = other_branch(tmp_path)
    facts = repofacts.Facts(str(bare), ahead=True)
    key = (tuple(repofacts.config_args(repofacts.PATTERN)), str(bare))
    assert key in git._STARTED
    assert (facts.head, facts.bare) == ("refs/heads/trunk", True)
    assert key not in git._STARTED  # taken by the read
    assert facts.pairs == repofacts.Facts(str(bare)).pairs
    repofacts.Facts(str(bare), ahead=True)
    assert key in git._STARTED
    git.start_clear()
    assert not git._STARTED
