"""Cache clones: first clone, fetch, damaged cache rebuilt, rewind refused, unreachable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from git_elite.core.errors import RegistryError
from git_elite.edges import cache
from git_elite.edges.known_registries import Registry
from tests.conftest import git


def _origin(tmp_path: Path) -> tuple[Path, Path]:
    work = tmp_path / "work"
    git("init", "-q", str(work))
    (work / "a.txt").write_text("one\n")
    git("add", "a.txt", cwd=work)
    git("commit", "-qm", "one", cwd=work)
    bare = tmp_path / "origin.git"
    git("clone", "-q", "--bare", str(work), str(bare))
    git("remote", "add", "origin", str(bare), cwd=work)
    return work, bare


def _commit(work: Path, text: str) -> str:
    (work / "a.txt").write_text(text)
    git("commit", "-qam", text, cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def test_clone_then_fetch(tmp_path: Path) -> None:
    work, bare = _origin(tmp_path)
    reg = Registry("r", str(bare))
    path = cache.sync(reg)
    assert cache.branch(reg, path) == "main"
    new = _commit(work, "two\n")
    assert cache.tip(cache.sync(reg), "main") == new


def test_offline_needs_a_cache(tmp_path: Path) -> None:
    # a registry elsewhere (a URL) is never fetched offline; a path on this machine is
    # (tests/test_offline_local.py)
    with pytest.raises(RegistryError, match="no usable cached copy"):
        cache.sync(Registry("r", "https://example.invalid/elites.git"), offline=True)


def test_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    work, bare = _origin(tmp_path)
    reg = Registry("r", str(bare))
    path = Path(cache.sync(reg))  # (a str: os.path for the offline read, discover7)
    shutil.rmtree(path / "objects")
    (path / "objects").mkdir()
    assert not cache.usable(path)
    new = _commit(work, "three\n")
    assert cache.tip(cache.sync(reg), "main") == new
    assert cache.usable(path)


def test_rewound_branch_is_refused(tmp_path: Path) -> None:
    work, bare = _origin(tmp_path)
    reg = Registry("r", str(bare))
    first = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    cache.sync(reg)
    seen = _commit(work, "four\n")
    cache.sync(reg)
    git("push", "-q", "--force", "origin", f"{first}:refs/heads/main", cwd=work)
    with pytest.raises(RegistryError, match="rewound") as err:
        cache.sync(reg)
    assert err.value.rule == "non-fast-forward"
    assert cache.tip(reg.cache, "main") == seen


def test_unreachable_registry_fails_after_bounded_retries(tmp_path: Path) -> None:
    reg = Registry("gone", "http://127.0.0.1:9/nowhere.git")  # the discard port: refused
    with pytest.raises(RegistryError, match=r"cannot reach registry gone .* after 2 attempts"):
        cache.sync(reg, attempts=2)


@pytest.mark.parametrize("url", ["{tmp}/nowhere.git", "file://{tmp}/nowhere.git"],
                         ids=["path", "file-url"])
def test_missing_local_registry_fails_at_once(tmp_path: Path, url: str) -> None:
    reg = Registry("gone", url.format(tmp=tmp_path))
    with pytest.raises(RegistryError, match=r"^registry gone: .*nowhere.git does not exist$"):
        cache.sync(reg, attempts=5)
