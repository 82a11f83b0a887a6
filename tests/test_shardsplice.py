"""shardsplice: a shard's bytes made from its parent's bytes equal `indexing.dumps` of the
new shard, byte for byte, whatever the entries hold; anything else gives None (the caller
then writes the shard in full)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_elite.core import indexing, shards, shardsplice

AB = "3f"
IDS = st.text("0123456789abcdef", min_size=62, max_size=62).map(lambda s: AB + s)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # quotes, \n, é…
SCALAR = st.one_of(st.integers(-10**6, 10**9), st.floats(allow_nan=False,
                   allow_infinity=False), st.booleans(), st.none(), TEXT)
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)), max_leaves=8)
ENTRY = st.dictionaries(TEXT, VALUE, max_size=5)


def _entry(n: int) -> dict[str, Any]:
    return {"owner_did": "did:key:z6Mk" + "x" * 44, "score_ppm": n, "elite": n % 2 == 0,
            "recent_tasks_7d": 3, "task_types": {"file-edit\n": {"count": n,
                                                               "success_rate": 0.5}},
            "module": 'say "hi"\\', "success_rate": 0.9 + n / 1e6}


@settings(max_examples=150, deadline=None)
@given(parent=st.dictionaries(IDS, ENTRY, min_size=1, max_size=8),
       added=st.dictionaries(IDS, ENTRY, max_size=3), data=st.data())
def test_splice_is_dumps(parent: dict[str, Any], added: dict[str, Any],
                         data: st.DataObject) -> None:
    raw = indexing.dumps(shards.shard(AB, parent))
    removed = data.draw(st.sets(st.sampled_from(sorted(parent))))
    replaced = data.draw(st.dictionaries(st.sampled_from(sorted(parent)), ENTRY))
    agents = {a: e for a, e in parent.items() if a not in removed}
    agents.update(replaced)
    agents.update(added)
    touched = set(removed) | set(replaced) | set(added)
    want = indexing.dumps(shards.shard(AB, agents))
    got = shardsplice.splice(raw, AB, agents, touched)
    assert got == (want if agents else None)


def test_untouched_entries_are_copied_not_encoded() -> None:
    """The point: an unchanged entry's bytes come from the parent (here, one whose bytes
    the writer would not produce shows that they were not re-encoded)."""
    ids = [AB + f"{i:062x}" for i in range(3)]
    raw = indexing.dumps(shards.shard(AB, {a: _entry(i) for i, a in enumerate(ids)}))
    agents = {a: _entry(i) for i, a in enumerate(ids)}
    agents[ids[1]] = _entry(7)
    assert shardsplice.splice(raw, AB, agents, {ids[1]}) == \
        indexing.dumps(shards.shard(AB, agents))
    marked = raw.replace(b'"score_ppm": 0', b'"score_ppm": 00', 1)
    assert b'"score_ppm": 00' in (shardsplice.splice(marked, AB, agents, {ids[1]}) or b"")


@pytest.mark.parametrize("raw", [
    pytest.param(b"", id="empty"),
    pytest.param(b"\xff\xfe", id="not-utf8"),
    pytest.param(b'{"agents": {}, "schema_version": 2, "shard": "3f"}\n', id="compact"),
    pytest.param(indexing.dumps(shards.shard("40", {"40" + "0" * 62: _entry(1)})),
                 id="another-shard"),
    pytest.param(indexing.dumps(shards.shard(AB, {})), id="no-agents"),
    pytest.param(indexing.dumps({"agents": {AB + "0" * 62: _entry(1)}, "schema_version": 2,
                                 "shard": AB, "extra": 1}), id="extra-key"),
    pytest.param(indexing.dumps(shards.shard(AB, {"short": _entry(1)})), id="short-id"),
])
def test_other_shapes_give_none(raw: bytes) -> None:
    agents = {AB + "1" * 62: _entry(2)}
    assert shardsplice.splice(raw, AB, agents, set(agents)) is None


def test_an_agent_the_parent_lacks_is_encoded_even_if_not_said_touched() -> None:
    raw = indexing.dumps(shards.shard(AB, {AB + "0" * 62: _entry(1)}))
    agents = {AB + "0" * 62: _entry(1), AB + "1" * 62: _entry(2)}
    assert shardsplice.splice(raw, AB, agents, set()) == \
        indexing.dumps(shards.shard(AB, agents))
