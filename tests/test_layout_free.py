"""Free files (SPEC §4): README.md, LICENSE, .gitattributes, plus .gitignore and
.pre-commit-config.yaml (so a registry can use the pre-commit framework hook we ship) —
accepted through a real push, but each at most 1 MiB (endless data) and never a junk path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from git_elite import layout
from tests.helpers_attacks import Server, accepted, commit, refused, reset, start
from tests.helpers_registry import isolated_module_env


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("free")
    with isolated_module_env(tmp):
        yield start(tmp)


@pytest.fixture
def srv(shared: Server) -> Server:
    reset(shared)
    return shared


def test_pre_commit_config_and_gitignore_accepted(srv: Server) -> None:
    config = (b"repos:\n  - repo: local\n    hooks:\n      - id: git-elite-registry\n"
              b"        name: git elite\n        entry: git-elite hook pre-commit\n"
              b"        language: system\n        pass_filenames: false\n")
    accepted(srv, {".pre-commit-config.yaml": config, ".gitignore": b"*.tmp\n"})


def test_free_file_over_one_mib_refused(srv: Server) -> None:
    sha = commit(srv.work, {"README.md": b"x" * (layout.FREE_LIMIT + 1)})
    lines = refused(srv, sha, "json", "README.md")
    assert any("exceeds the limit" in line for line in lines), lines


def test_other_top_level_paths_still_refused(srv: Server) -> None:
    sha = commit(srv.work, {".github/workflows/ci.yml": b"on: push\n"})
    refused(srv, sha, "layout", ".github/workflows/ci.yml")
