"""No internal error on any parent state (issue 17 item 3, the parent-state part): a
malformed parent INDEX.json head, shard or IDENTITY.json, or a parent manifest that is not one
in shape, is a listed problem or a from-scratch rebuild — never an exception."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_elite.core import documents, engine, indexing, layout
from git_elite.core.state import MemoryState, Overlay, diff
from tests.helpers_registry import (
    T0,
    agent_files,
    agent_id_of,
    base_files,
    identity,
    manifest,
    profile,
    with_index,
)

ONE = agent_id_of(profile(1))
SHARD = layout.shard_path(ONE[:2])
MANIFEST = layout.agent_path(ONE, "manifest.json")


def _parent() -> dict[str, bytes]:
    files = base_files()
    for n, owner in ((1, "alice"), (2, "bob"), (3, "carol")):
        files.update(agent_files(owner, n))
    return with_index(files)


def _json_edit(path: str, edit: Callable[[Any], None]) -> Callable[[dict[str, bytes]], None]:
    def apply(files: dict[str, bytes]) -> None:
        value = json.loads(files[path])
        edit(value)
        files[path] = indexing.dumps(value)
    return apply


def _set(keys: tuple[str, ...], value: Any) -> Callable[[Any], None]:
    def edit(doc: Any) -> None:
        for key in keys[:-1]:
            doc = doc[key]
        doc[keys[-1]] = value
    return edit


BROKEN: dict[str, Callable[[dict[str, bytes]], None]] = {
    "head ranking with a bogus id": _json_edit(layout.INDEX, _set(("rankings", "general"),
                                                                  ["f" * 64, 7])),
    "head elite_count a string": _json_edit(layout.INDEX, _set(("elite_count",), "x")),
    "head shards a list": _json_edit(layout.INDEX, _set(("shards",), [1, 2])),
    "head not JSON": lambda f: f.__setitem__(layout.INDEX, b"{nope"),
    "head a list": lambda f: f.__setitem__(layout.INDEX, b"[]\n"),
    "shard digest wrong": _json_edit(layout.INDEX, _set(("shards", ONE[:2], "sha256"), "0")),
    "shard agents a list": _json_edit(SHARD, _set(("agents",), [])),
    "shard entry score a string": _json_edit(SHARD, _set(("agents", ONE, "score_ppm"), "x")),
    "shard missing": lambda f: f.pop(SHARD),
    "identity version a string": _json_edit(layout.IDENTITY, _set(("version",), "x")),
    "identity policy a list": _json_edit(layout.IDENTITY, _set(("policy",), [])),
    "manifest eval_window a list": _json_edit(MANIFEST, _set(("eval_window",), [1])),
    "manifest metrics a number": _json_edit(MANIFEST, _set(("metrics",), 3)),
}


def _update(parent: dict[str, bytes]) -> dict[str, bytes]:
    """The parent with agent 1 updated by its owner and the index rebuilt for that."""
    body = manifest("alice", profile(1), created_at=T0 + 10, rate=0.5)
    after = {**parent, MANIFEST: documents.to_bytes(body)}
    state = MemoryState(parent)
    changes = diff(parent, after)
    for path, data in engine.expected_files(state, changes, Overlay(state, changes)).items():
        if data is None:
            after.pop(path, None)
        else:
            after[path] = data
    return after


@pytest.mark.parametrize("breakage", list(BROKEN.values()), ids=list(BROKEN))
def test_broken_parent_gives_problems_not_exceptions(breakage: Callable[[dict[str, bytes]],
                                                                        None]) -> None:
    parent = _parent()
    breakage(parent)
    after = _update(parent)
    problems = engine.check_change(MemoryState(parent), diff(parent, after), MemoryState(after))
    assert all(p.rule in ("identity", "index", "binding", "rollback", "ownership", "policy")
               for p in problems), problems
    # the index the commit carries is the rebuild from the manifests whenever the parent's
    # index could not be built on
    scratch = engine.full_index(MemoryState(after))
    assert json.loads(after[layout.INDEX]) == json.loads(scratch[layout.INDEX] or b"")


def test_broken_identity_is_a_listed_problem() -> None:
    parent = _parent()
    BROKEN["identity version a string"](parent)
    new = {**parent, layout.IDENTITY: documents.to_bytes(identity(version=2))}
    problems = engine.check_change(MemoryState(parent), diff(parent, new), MemoryState(new))
    assert any(p.rule == "identity" and "parent's IDENTITY.json" in p.message
               for p in problems), problems


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**6) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8)
paths = st.sampled_from([layout.INDEX, SHARD, layout.IDENTITY, MANIFEST])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=paths, value=json_values, key=st.sampled_from(
    ["rankings", "shards", "elite_count", "agents", "version", "policy", "eval_window",
     "metrics", "delegates", "threshold", "format", "schema_version", "shard"]))
def test_random_parent_states(path: str, value: Any, key: str) -> None:
    parent = _parent()
    doc = json.loads(parent[path])
    doc[key] = value
    parent[path] = indexing.dumps(doc)
    after = _update(parent)
    problems = engine.check_change(MemoryState(parent), diff(parent, after), MemoryState(after))
    assert isinstance(problems, list)
