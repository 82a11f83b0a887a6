"""`.gitattributes` is protected (SPEC §4): `init` writes the required lines, and a push that
drops one or sets a converting attribute on registry paths is refused (`layout`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from git_elite.core import gitattributes, layout
from tests.conftest import git
from tests.helpers_registry import commit_raw, isolated_module_env, make_server, push

GOOD = layout.GITATTRIBUTES


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    tmp = tmp_path_factory.mktemp("attributes")
    with isolated_module_env(tmp):
        work, bare = make_server(tmp)
        yield work, bare, git("rev-parse", "HEAD", cwd=work).stdout.strip()


@pytest.fixture
def work(server: tuple[Path, Path, str]) -> Path:
    work, bare, tip = server
    git("update-ref", "refs/heads/main", tip, cwd=bare)
    git("fetch", "-q", "origin", cwd=work)
    git("reset", "-q", "--hard", tip, cwd=work)
    return work


def test_init_writes_the_required_lines(work: Path) -> None:
    assert (work / ".gitattributes").read_text() == (
        "*.json -text\nINDEX.json merge=elite-index\nindex/*.json merge=elite-index\n"
        "index/trust/*.json merge=elite-index\n")


REFUSED = {
    "drops -text": GOOD.replace("*.json -text\n", ""),
    "drops the shard merge line": GOOD.replace("index/*.json merge=elite-index\n", ""),
    "drops the head merge line": GOOD.replace("INDEX.json merge=elite-index\n", ""),
    "text=auto everywhere": GOOD + "* text=auto\n",
    "text on manifests": GOOD + "agents/**/manifest.json text\n",
    "unspecified text": GOOD + "*.json !text\n",
    "eol": GOOD + "*.json eol=crlf\n",
    "filter": GOOD + "agents/** filter=lfs\n",
    "ident": GOOD + "*.md ident\n",
    "working-tree-encoding": GOOD + "*.json working-tree-encoding=UTF-16\n",
    "macro": GOOD + "[attr]evil text eol=crlf\n",
}


@pytest.mark.parametrize("text", list(REFUSED.values()), ids=list(REFUSED))
def test_push_refused(work: Path, text: str) -> None:
    sha = commit_raw(work, {".gitattributes": text.encode()}, "attributes")
    result = push(work)
    assert result.returncode == 1, result.stderr
    assert f"REJECT {sha[:7]} .gitattributes: [layout]" in result.stderr, result.stderr


def test_push_refused_when_removed(work: Path) -> None:
    sha = commit_raw(work, {".gitattributes": None}, "no attributes")
    result = push(work)
    assert f"REJECT {sha[:7]} .gitattributes: [layout]" in result.stderr, result.stderr


ACCEPTED = {
    "binary images": GOOD + "*.png binary\n",
    "comment and spacing": "# keep bytes\n*.json   -text\n" + GOOD,
    "unset eol": GOOD + "*.md -eol -filter\n",
}


@pytest.mark.parametrize("text", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_push_accepted(work: Path, text: str) -> None:
    commit_raw(work, {".gitattributes": text.encode()}, "attributes")
    result = push(work)
    assert result.returncode == 0, result.stderr


def test_format1_needs_two_lines() -> None:
    v1 = b"*.json -text\nINDEX.json merge=elite-index\n"
    assert gitattributes.problems(v1, 1) == []
    assert len(gitattributes.problems(v1, 2)) == 1
    assert gitattributes.problems(b"\xff", 2) == [".gitattributes is not UTF-8"]
