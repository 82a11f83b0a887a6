"""Property (issue 17, item 3): whatever tree a commit carries — any names, any nesting, any
modes (symlinks, executables, gitlinks to objects that exist or not), any blob contents —
the rule engine over it (`gitcheck.check_commit`, what pre-receive and `verify --history`
run, and `gitcheck.audit`, what `verify` runs) returns problems, never raises."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_elite.core.errors import Problem
from git_elite.edges import git, gitcheck
from tests.helpers_attacks import Server, aid, start
from tests.helpers_registry import isolated_module_env

NAMES = ["agents", "IDENTITY.json", "INDEX.json", "README.md", ".gitignore", "manifest.json",
         "profile.json", "prompt.md", "endorsements", "identities", "index", "x", "d"]
MODES = [0o100644, 0o100755, 0o120000, 0o160000]
BLOBS = [b"", b"{}", b"[", b"\x00\xff", b'{"a": 1}', b"x" * 70_000, b"../../etc/passwd"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Any]]:
    tmp = tmp_path_factory.mktemp("tree-props")
    with isolated_module_env(tmp):
        srv = start(tmp)
        yield srv, git.open_repo(srv.work)


def shapes() -> st.SearchStrategy[Any]:
    blobs = st.sampled_from(range(len(BLOBS))).map(BLOBS.__getitem__)
    leaf = st.tuples(st.sampled_from(MODES), blobs)
    name = st.sampled_from(NAMES) | st.builds(lambda n: aid(n), st.integers(1, 2))
    return st.recursive(leaf, lambda kids: st.dictionaries(name, kids, min_size=1, max_size=4),
                        max_leaves=12)


def build(repo: Any, shape: Any, deep: int) -> Any:
    """A tree object from a shape (dict: directory; (mode, bytes): entry), `deep` extra
    levels of single-directory nesting around it."""
    from pygit2.enums import FileMode

    if not isinstance(shape, dict):
        shape = {"x": shape}
    builder = repo.TreeBuilder()
    for name, kid in shape.items():
        if isinstance(kid, dict):
            builder.insert(name, build(repo, kid, 0), FileMode.TREE)
        elif kid[0] == 0o160000:
            builder.insert(name, repo.head.target if kid[1] else "1" * 40, kid[0])
        else:
            builder.insert(name, repo.create_blob(kid[1]), kid[0])
    tree = builder.write()
    for _ in range(deep):
        wrap = repo.TreeBuilder()
        wrap.insert("d", tree, FileMode.TREE)
        tree = wrap.write()
    return tree


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(shape=shapes(), deep=st.sampled_from([0, 1, 9, 300]), on_top=st.booleans())
def test_any_tree_gives_problems_not_exceptions(base: tuple[Server, Any], shape: Any,
                                                deep: int, on_top: bool) -> None:
    import pygit2

    srv, repo = base
    tree = build(repo, shape, deep)
    if on_top:  # the shape merged into the registry's own tree
        builder = repo.TreeBuilder(repo.revparse_single(srv.tip).peel(pygit2.Commit).tree)
        builder.insert("d", tree, pygit2.enums.FileMode.TREE)
        tree = builder.write()
    sig = pygit2.Signature("t", "t@x", 1767225600, 0)
    commit = str(repo.create_commit(None, sig, sig, "prop", tree, [repo.revparse_single(
        srv.tip).id]))
    found = gitcheck.check_commit(repo, commit)
    assert all(isinstance(p, Problem) for p in found)
    assert found, "a hostile tree passed the engine"
    audit = gitcheck.audit(repo, commit)
    assert all(isinstance(p, Problem) for p in audit)


def test_the_fixture_repo_is_a_registry(base: tuple[Server, Any]) -> None:
    srv, repo = base
    assert gitcheck.check_commit(repo, srv.tip) == []
    assert Path(srv.work, "IDENTITY.json").exists()
