"""The cache of parsed INDEX.json values ($GIT_DIR/elite-cache/index-<blob id>): a hit gives
exactly what parsing the blob gives, anything wrong with a cache file is ignored and the file
rewritten, and the hooks fill it so the next push or commit starts from it."""

from __future__ import annotations

import json
import marshal
from pathlib import Path

import pytest

from git_elite.core import layout, shards
from git_elite.edges import git
from tests.conftest import git as run_git
from tests.helpers_registry import agent_files, commit_raw, make_server, push


def _state(repo_path: Path, rev: str = "HEAD") -> git.TreeState:
    return git.state_at(git.open_repo(repo_path), rev)


def _cache_file(work: Path) -> Path:
    """The cache file of HEAD's INDEX.json, after emptying the cache."""
    for old in (work / ".git" / "elite-cache").glob("index-*"):
        old.unlink()
    oid = run_git("rev-parse", "HEAD:INDEX.json", cwd=work).stdout.strip()
    return work / ".git" / "elite-cache" / f"index-{oid}"


def test_a_hit_gives_what_parsing_gives(tmp_path: Path) -> None:
    work, _ = make_server(tmp_path)
    commit_raw(work, agent_files("alice", 1), index=True)
    want = json.loads((work / layout.INDEX).read_bytes())
    cache = _cache_file(work)
    assert _state(work).index_value() == want  # a miss: parsed, then cached
    assert cache.is_file()
    assert _state(work).index_value() == want  # a hit


@pytest.mark.parametrize("damage", [
    pytest.param(lambda oid, data: b"", id="empty"),
    pytest.param(lambda oid, data: data[:len(data) // 2], id="truncated"),
    pytest.param(lambda oid, data: b"0" * 40 + data[40:], id="other-oid"),
    pytest.param(lambda oid, data: oid.encode() + b"\n" + marshal.dumps([1, 2]), id="not-dict"),
    pytest.param(lambda oid, data: oid.encode() + b"\nnot marshal", id="garbage"),
])
def test_a_damaged_cache_file_is_ignored_and_rewritten(tmp_path: Path, damage: object) -> None:
    work, _ = make_server(tmp_path)
    commit_raw(work, agent_files("alice", 1), index=True)
    want = json.loads((work / layout.INDEX).read_bytes())
    cache = _cache_file(work)
    _state(work).index_value()
    oid = cache.name.removeprefix("index-")
    assert callable(damage)
    cache.write_bytes(damage(oid, cache.read_bytes()))
    assert _state(work).index_value() == want
    assert git.index_cache_load(git.open_repo(work), oid) == want


def test_hooks_fill_the_cache_and_pushes_still_check(tmp_path: Path) -> None:
    work, server = make_server(tmp_path)
    commit_raw(work, agent_files("alice", 1), index=True)
    assert push(work).returncode == 0
    tip_index = run_git("rev-parse", "HEAD:INDEX.json", cwd=work).stdout.strip()
    ranks = server / "elite-cache" / f"ranks-{tip_index}"  # format 2: the rankings data
    assert ranks.is_file()
    assert shards.Ranks.load(git.index_cache_load(git.open_repo(server), tip_index, "ranks"))
    commit_raw(work, agent_files("bob", 2), index=True)
    assert push(work).returncode == 0  # starts from the cached parent index
    commit_raw(work, agent_files("carol", 3), index=False)  # stale INDEX.json
    refused = push(work)
    assert refused.returncode != 0 and "[index]" in refused.stderr


@pytest.mark.parametrize("damage", [b"", b"garbage", b"0" * 40 + b"\n"], ids=["empty",
                                                                               "garbage",
                                                                               "other-oid"])
def test_a_damaged_ranks_cache_is_ignored(tmp_path: Path, damage: bytes) -> None:
    """The parent's rankings data is rebuilt from the shards when its cache file is bad;
    the push is checked the same."""
    work, server = make_server(tmp_path)
    commit_raw(work, agent_files("alice", 1), index=True)
    assert push(work).returncode == 0
    for cached in (server / "elite-cache").glob("ranks-*"):
        cached.write_bytes(damage)
    commit_raw(work, agent_files("bob", 2), index=True)
    assert push(work).returncode == 0
    commit_raw(work, agent_files("carol", 3), index=False)
    assert "[index]" in push(work).stderr
