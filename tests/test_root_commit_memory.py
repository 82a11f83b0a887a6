"""freshness.root_commit's memory (`$AGENTD_HOME/cache/root-commits.json`, threat-model row
R3-root): the root of a tip is asked of git once, then read from the memory; a damaged or
ill-shaped file is ignored (git is asked again, the file replaced); a shallow clone's first
commit is never remembered; the file keeps the newest ROOTS_KEPT tips."""

from __future__ import annotations

import json
from pathlib import Path

from git_elite.edges import freshness
from tests.conftest import git


def _repo(where: Path, commits: int) -> tuple[Path, list[str]]:
    git("init", "-q", "-b", "main", str(where))
    tips = []
    for i in range(commits):
        (where / "f").write_text(f"{i}\n")
        git("add", "f", cwd=where)
        git("commit", "-q", "-m", f"c{i}", cwd=where)
        tips.append(git("rev-parse", "HEAD", cwd=where).stdout.strip())
    return where, tips


def test_asked_once_then_remembered(tmp_path: Path, monkeypatch) -> None:
    repo, tips = _repo(tmp_path / "r", 3)
    assert freshness.root_commit(repo, tips[-1]) == tips[0]
    stored = json.loads(Path(freshness._roots_file()).read_text())
    assert stored == {tips[-1]: tips[0]}
    asked: list[list[str]] = []
    real = freshness.git.run
    monkeypatch.setattr(freshness.git, "run", lambda args, cwd, **kw: (
        asked.append(args), real(args, cwd, **kw))[1])
    assert freshness.root_commit(repo, tips[-1]) == tips[0]
    assert asked == []  # from the memory
    assert freshness.root_commit(repo, tips[1]) == tips[0]
    assert len(asked) == 1  # another tip: git again


def test_a_damaged_memory_is_ignored_and_replaced(tmp_path: Path) -> None:
    repo, tips = _repo(tmp_path / "r", 2)
    path = Path(freshness._roots_file())
    path.parent.mkdir(parents=True, exist_ok=True)
    for bad in (b"{not json", b"[1, 2]", json.dumps({tips[-1]: "not-a-commit-id"}).encode(),
                json.dumps({"nope": tips[0]}).encode()):
        path.write_bytes(bad)
        assert freshness.root_commit(repo, tips[-1]) == tips[0]
        assert json.loads(path.read_text()) == {tips[-1]: tips[0]}


def test_a_lying_entry_of_another_shape_is_not_taken(tmp_path: Path) -> None:
    repo, tips = _repo(tmp_path / "r", 2)
    path = Path(freshness._roots_file())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({tips[-1]: "A" * 40}))  # upper case: not an object id
    assert freshness.root_commit(repo, tips[-1]) == tips[0]


def test_a_shallow_clone_is_not_remembered(tmp_path: Path) -> None:
    origin, tips = _repo(tmp_path / "origin", 3)
    clone = tmp_path / "shallow"
    git("clone", "-q", "--depth", "1", f"file://{origin}", str(clone))
    assert freshness.root_commit(clone, tips[-1]) == tips[-1]  # its own first commit
    assert not Path(freshness._roots_file()).exists()
    assert freshness.root_commit(origin, tips[-1]) == tips[0]  # the full history's answer


def test_the_newest_tips_are_kept(tmp_path: Path) -> None:
    repo, tips = _repo(tmp_path / "r", freshness.ROOTS_KEPT + 3)
    for tip in tips:
        freshness.root_commit(repo, tip)
    stored = json.loads(Path(freshness._roots_file()).read_text())
    assert list(stored) == tips[-freshness.ROOTS_KEPT:]
    assert set(stored.values()) == {tips[0]}
