"""shardsplice.edit: the new bytes of a shard (or of index/ranked.json) made by splicing the
touched agents' items into the parent's bytes equal `indexing.dumps` of the whole new
value, byte for byte: inserts, replacements and removals, at the first, last and only
item, several at once; the parent's entries it hands back are the parsed old items; the
digests hashed with the common start once are the plain ones; and a parent not in
`indexing.dumps`' shape gives None (the caller then parses it whole)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_elite.core import indexing, shards, shardsplice
from tests.test_shardsplice import AB, ENTRY, IDS  # the same random shards and entries


def _shard(agents: dict[str, Any]) -> bytes:
    return indexing.dumps(shards.shard(AB, agents))


def _ranked(agents: dict[str, Any]) -> bytes:
    return indexing.dumps({"schema_version": 2, "agents": agents})


def _apply(parent: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    out = dict(parent)
    for agent_id, item in edits.items():
        if item is None:
            out.pop(agent_id, None)
        else:
            out[agent_id] = item
    return out


@st.composite
def shard_and_edits(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A non-empty parent and edits: new agents, replaced and removed ones, and removals
    of agents the parent does not hold."""
    parent = draw(st.dictionaries(IDS, ENTRY, min_size=1, max_size=12))
    held = sorted(parent)
    edits: dict[str, Any] = draw(st.dictionaries(IDS, ENTRY, max_size=3))  # (mostly) new
    edits.update(draw(st.dictionaries(st.sampled_from(held), st.none() | ENTRY)))
    edits.update(draw(st.dictionaries(IDS, st.none(), max_size=2)))  # absent ones leaving
    return parent, edits


@settings(max_examples=150, deadline=None)
@given(case=shard_and_edits())
def test_edit_is_dumps(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    parent, edits = case
    after = _apply(parent, edits)
    found = shardsplice.edit(_shard(parent), AB, edits)
    if not after:
        assert found is None  # a shard left empty is the caller's to remove
        return
    assert found is not None
    data, olds, delta, same = found
    assert data == _shard(after)
    assert olds == {a: parent.get(a) for a in edits}
    assert delta == len(after) - len(parent)
    raw = _shard(parent)
    assert raw[:same] == data[:same]
    assert shardsplice.digests(raw, data, same) == (shards.digest(raw), shards.digest(data))


@settings(max_examples=150, deadline=None)
@given(case=shard_and_edits())
def test_edit_of_ranked_json_is_dumps(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    parent, edits = case
    after = _apply(parent, edits)
    raw = _ranked(parent)
    found = shardsplice.edit(raw, "", edits, end=shardsplice.RANKED_END)
    assert (found.data if found else None) == (_ranked(after) if after else None)
    if found is not None:
        assert shardsplice.digests(raw, found.data, found.same) == \
            (shards.digest(raw), shards.digest(found.data))


def _ids(*digits: str) -> list[str]:
    return [AB + d * 62 for d in digits]


def _entry(n: int) -> dict[str, Any]:
    return {"elite": n % 2 == 0, "score_ppm": n, "recent_tasks_7d": 3,
            "task_types": {"file-edit": {"count": n, "success_rate": 0.5}},
            "module": 'say "hi"\\\n', "owner_did": "did:key:z6Mk" + "é" * 4}


PLACES = {  # name: (parent ids, edits as {id: entry number or None})
    "insert before the first": (_ids("5", "9"), {AB + "1" * 62: 1}),
    "insert after the last": (_ids("1", "5"), {AB + "9" * 62: 1}),
    "insert between": (_ids("1", "9"), {AB + "5" * 62: 1}),
    "insert into the only": (_ids("5"), {AB + "1" * 62: 1, AB + "9" * 62: 2}),
    "replace the first": (_ids("1", "5", "9"), {AB + "1" * 62: 7}),
    "replace the last": (_ids("1", "5", "9"), {AB + "9" * 62: 7}),
    "replace the only": (_ids("5"), {AB + "5" * 62: 7}),
    "remove the first": (_ids("1", "5", "9"), {AB + "1" * 62: None}),
    "remove the last": (_ids("1", "5", "9"), {AB + "9" * 62: None}),
    "remove all but one": (_ids("1", "5", "9"), {AB + "1" * 62: None, AB + "9" * 62: None}),
    "remove the only, add another": (_ids("5"), {AB + "5" * 62: None, AB + "7" * 62: 3}),
    "every kind at once": (_ids("1", "3", "5", "7", "9"),
                           {AB + "0" * 62: 1, AB + "3" * 62: None, AB + "4" * 62: 2,
                            AB + "5" * 62: 8, AB + "9" * 62: None, AB + "a" * 62: 4}),
    "nothing changes": (_ids("1", "5"), {AB + "3" * 62: None}),
}


@pytest.mark.parametrize("name", sorted(PLACES))
def test_edit_at_every_place(name: str) -> None:
    ids, changes = PLACES[name]
    parent = {a: _entry(i) for i, a in enumerate(ids)}
    edits = {a: None if n is None else _entry(n) for a, n in changes.items()}
    raw = _shard(parent)
    found = shardsplice.edit(raw, AB, edits)
    assert found is not None and found.data == _shard(_apply(parent, edits))
    assert shardsplice.digests(raw, found.data, found.same) == \
        (shards.digest(raw), shards.digest(found.data))


def test_removing_the_only_agent_gives_none() -> None:
    (agent,) = _ids("5")
    assert shardsplice.edit(_shard({agent: _entry(1)}), AB, {agent: None}) is None


def test_untouched_items_are_copied_not_encoded() -> None:
    """An untouched item's bytes come from the parent, unread: an item the writer would
    not produce (a number written "00") is carried over as it is."""
    ids = _ids("1", "5", "9")
    raw = _shard({a: _entry(i) for i, a in enumerate(ids)})
    marked = raw.replace(b'"score_ppm": 0', b'"score_ppm": 00', 1)
    found = shardsplice.edit(marked, AB, {ids[1]: _entry(7), AB + "7" * 62: _entry(8)})
    assert found is not None and b'"score_ppm": 00' in found.data


def _swapped(raw: bytes) -> bytes:
    """The parent's first two items swapped: valid JSON, not in dumps' order."""
    items = shardsplice.pieces(raw.decode(), AB)
    assert items is not None
    ordered = [items[a] for a in sorted(items)]
    ordered[0], ordered[1] = ordered[1], ordered[0]
    return (shardsplice.PREFIX + ",".join(ordered) + shardsplice.suffix(AB)).encode()


HOSTILE = {  # a parent not in dumps' shape, and the edit that meets it
    "out of order": (_swapped, {AB + "1" * 62: 5, AB + "5" * 62: 6}),
    "no comma before an item": (lambda raw: raw.replace(b'},\n    "', b'}\n    "', 1),
                                {AB + "5" * 62: 6}),
    "an item not an object": (lambda raw: raw.replace(
        b'"' + (AB + "5" * 62).encode() + b'": {', b'"' + (AB + "5" * 62).encode()
        + b'": [{', 1).replace(b'\n    },\n    "' + (AB + "9" * 62).encode(),
                               b'\n    }],\n    "' + (AB + "9" * 62).encode(), 1),
                              {AB + "5" * 62: 6}),
    "not JSON inside the item": (lambda raw: raw.replace(b'"elite": true', b'"elite": tru', 1),
                                 {AB + "1" * 62: 6}),
    "another shard's name": (lambda raw: raw.replace(b'"shard": "3f"', b'"shard": "40"'),
                             {AB + "5" * 62: 6}),
    "no items": (lambda raw: _shard({}), {AB + "5" * 62: 6}),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_parent_not_in_dumps_shape_gives_none(name: str) -> None:
    change, edits = HOSTILE[name]
    ids = _ids("1", "5", "9")
    raw = change(_shard({a: _entry(2 * i) for i, a in enumerate(ids)}))
    json.loads(raw) if name in ("out of order", "an item not an object") else None
    assert shardsplice.edit(raw, AB, {a: _entry(n) for a, n in edits.items()}) is None


@settings(max_examples=100, deadline=None)
@given(held=st.lists(IDS, min_size=1, max_size=40, unique=True), probe=IDS)
def test_place_is_the_first_greater_item(held: list[str], probe: str) -> None:
    """The byte-offset bisection finds what a scan of every item would."""
    raw = _shard({a: _entry(3) for a in held if a != probe})
    if raw.count(b'\n    "') == 0:
        return
    lo, hi = len(shardsplice.PREFIX), len(raw) - len(shardsplice.suffix(AB))
    at = shardsplice._place(raw, lo, hi, probe.encode())
    later = [a for a in sorted(held) if a > probe]
    want = raw.index(b'\n    "' + later[0].encode()) if later else hi
    assert at == want


@settings(max_examples=100, deadline=None)
@given(parent=st.dictionaries(IDS, ENTRY, min_size=1, max_size=12), probe=IDS,
       data=st.data())
def test_entry_of_is_the_parsed_shards_entry(parent: dict[str, Any], probe: str,
                                              data: st.DataObject) -> None:
    """One agent's entry read from its item alone is what parsing the whole shard gives."""
    raw = _shard(parent)
    agent_id = data.draw(st.sampled_from([probe, *sorted(parent)]))
    assert shardsplice.entry_of(raw, AB, agent_id) == json.loads(raw)["agents"].get(agent_id)


@pytest.mark.parametrize("raw", [
    pytest.param(_shard({}), id="no-items"),
    pytest.param(b'{"agents": {}, "schema_version": 2, "shard": "3f"}\n', id="compact"),
    pytest.param(_shard({AB + "5" * 62: _entry(1)}).replace(b'"elite"', b'"elite" ', 1)
                 .replace(b"false", b"fals", 1), id="not-json-item"),
])
def test_entry_of_a_shard_not_as_written_is_a_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError):
        shardsplice.entry_of(raw, AB, AB + "5" * 62)
