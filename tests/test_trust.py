"""Trust evaluation (SPEC §8): chains, depth, scoping, expiry, revocation, rotation."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_elite.core import documents, keys, trust
from git_elite.core.errors import EliteError, TrustError
from git_elite.edges import trusted_dids
from tests.helpers_pipeline import NOW, keypair

A, B, C, D, E = (keypair(n) for n in ("alice", "bob", "carol", "dave", "eve"))


def endorse(frm: keys.Keypair, to: keys.Keypair, types: tuple[str, ...] = ("*",),
            created: int = NOW - 100, expires: int | None = None,
            revoked: bool = False) -> documents.Document:
    body = trust.make_endorsement(frm, to.did, types, created, expires, revoked)
    raw = documents.to_bytes(body)
    doc, problems = documents.check(raw, "e.json", documents.ENDORSEMENT)
    assert doc is not None and problems == []
    return doc


def roots(*dids: str, types: tuple[str, ...] = ("*",), depth: int = 2) -> trust.TrustSet:
    return trust.TrustSet(tuple(trust.TrustEntry(d, types, NOW) for d in dids), depth)


def explain(ts: trust.TrustSet, docs: list[documents.Document], did: str, task: str = "*",
            rotations: list[documents.Document] | None = None) -> list[str]:
    return list(trust.explain(ts, trust.edges(docs, rotations or [], NOW), did, task).path)


def test_direct_depth_one_and_two_and_beyond() -> None:
    chain = [endorse(A, B), endorse(B, C), endorse(C, D)]
    ts = roots(A.did)
    assert explain(ts, chain, A.did) == [A.did]
    assert explain(ts, chain, B.did) == [A.did, B.did]
    assert explain(ts, chain, C.did) == [A.did, B.did, C.did]
    assert explain(ts, chain, D.did) == []  # three endorsements > max_depth 2
    assert explain(roots(A.did, depth=3), chain, D.did) == [A.did, B.did, C.did, D.did]
    assert explain(roots(A.did, depth=0), chain, B.did) == []


def test_task_type_scoping() -> None:
    docs = [endorse(A, B, ("file-edit",)), endorse(B, C, ("*",))]
    assert explain(roots(A.did), docs, C.did, "file-edit") == [A.did, B.did, C.did]
    assert explain(roots(A.did), docs, C.did, "search") == []
    assert explain(roots(A.did), docs, B.did, "*") == []  # file-edit does not cover every type
    assert explain(roots(A.did, types=("search",)), docs, B.did, "file-edit") == []
    assert explain(roots(A.did, types=("search",)), docs, A.did, "search") == [A.did]


def test_expiry_and_revocation() -> None:
    assert explain(roots(A.did), [endorse(A, B, expires=NOW)], B.did) == []
    assert explain(roots(A.did), [endorse(A, B, expires=NOW + 1)], B.did) == [A.did, B.did]
    revoked = [endorse(A, B), endorse(A, B, created=NOW - 50, revoked=True)]
    assert explain(roots(A.did), revoked, B.did) == []
    older_revocation = [endorse(A, B, created=NOW - 10), endorse(A, B, created=NOW - 50,
                                                                 revoked=True)]
    assert explain(roots(A.did), older_revocation, B.did) == [A.did, B.did]
    same_time = [endorse(A, B), endorse(A, B, revoked=True)]
    assert explain(roots(A.did), same_time, B.did) == []


def test_rotation_carries_trust_without_using_depth() -> None:
    rotation = documents.parse(documents.to_bytes(documents.sign_rotation(B, E, NOW - 10)),
                               "rotation.json")
    docs = [endorse(A, B), endorse(E, C)]
    assert explain(roots(A.did), docs, E.did, rotations=[rotation]) == [A.did, B.did, E.did]
    assert explain(roots(A.did), docs, C.did, rotations=[rotation]) == \
        [A.did, B.did, E.did, C.did]
    assert explain(roots(A.did), docs, E.did) == []


def test_shortest_path_wins_then_smallest() -> None:
    docs = [endorse(A, B), endorse(B, D), endorse(A, D), endorse(A, C), endorse(C, E),
            endorse(B, E)]
    assert explain(roots(A.did), docs, D.did) == [A.did, D.did]
    assert explain(roots(A.did), docs, E.did) == min([A.did, B.did, E.did], [A.did, C.did, E.did])


def test_trust_file_round_trip_and_refusals(tmp_path: Path) -> None:
    path = tmp_path / "trusted-dids.json"
    assert trusted_dids.load(path) == trust.TrustSet()
    ts = roots(A.did).add(trust.TrustEntry(B.did, ("search",), NOW, "bob"))
    trusted_dids.save(path, ts)
    assert trusted_dids.load(path) == ts and path.stat().st_mode & 0o777 == 0o600
    assert trusted_dids.load(path).remove(A.did).trusted == (
        trust.TrustEntry(B.did, ("search",), NOW, "bob"),)


@pytest.mark.parametrize(("text", "message"), [
    ('{"version": 1, "trusted": [], "extra": 1}', "unknown field(s) extra"),
    ('{"version": 2, "trusted": []}', "version must be 1"),
    ('{"version": 1, "trusted": [{"did": "did:key:zz", "task_types": ["*"], "added_at": 1}]}',
     "did:key:zz"),
    ('{"version": 1, "trusted": [{"did": "DID", "task_types": [], "added_at": 1}]}',
     "task_types must be"),
    ('{"version": 1, "trusted": [{"did": "DID", "task_types": ["*"], "added_at": 1, "x": 0}]}',
     "unknown field(s) x"),
    ('{"version": 1, "version": 1, "trusted": []}', "duplicate key"),
], ids=["unknown-top", "version", "bad-did", "empty-types", "unknown-entry", "duplicate"])
def test_bad_trust_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "trusted-dids.json"
    path.write_text(text.replace("DID", A.did))
    with pytest.raises(EliteError) as err:
        trusted_dids.load(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_remove_unknown_is_refused() -> None:
    with pytest.raises(TrustError):
        roots(A.did).remove(B.did)


# --- brute force reference: enumerate every simple path --------------------------------

NODES = [f"n{i}" for i in range(6)]
TYPES = ["*", "x", "y"]


def brute(ts: trust.TrustSet, graph: list[trust.Edge], task: str) -> dict[str, tuple[str, ...]]:
    usable = [e for e in graph if trust.covers(e.task_types, task)]
    best: dict[str, tuple[int, int, tuple[str, ...]]] = {}

    def walk(path: tuple[str, ...], depth: int) -> None:
        key = (depth, len(path), path)
        if path[-1] not in best or key < best[path[-1]]:
            best[path[-1]] = key
        for edge in usable:
            step = 0 if edge.rotation else 1
            if edge.frm == path[-1] and edge.to not in path and depth + step <= ts.max_depth:
                walk((*path, edge.to), depth + step)

    for root in ts.roots(task):
        walk((root,), 0)
    return {did: value[2] for did, value in best.items()}


edge_st = st.builds(trust.Edge, st.sampled_from(NODES), st.sampled_from(NODES),
                    st.sets(st.sampled_from(TYPES), min_size=1).map(lambda s: tuple(sorted(s))),
                    st.booleans())


@settings(max_examples=300, deadline=None)
@given(graph=st.lists(edge_st, max_size=14),
       root_list=st.lists(st.tuples(st.sampled_from(NODES), st.sampled_from(TYPES)), max_size=3),
       depth=st.integers(0, 3), task=st.sampled_from(TYPES))
def test_matches_brute_force(graph: list[trust.Edge], root_list: list[tuple[str, str]],
                             depth: int, task: str) -> None:
    ts = trust.TrustSet(tuple(trust.TrustEntry(d, (t,), 0) for d, t in root_list), depth)
    assert trust.best_paths(ts, graph, task) == brute(ts, graph, task)


def test_brute_force_agrees_on_every_small_chain() -> None:
    for combo in itertools.product([False, True], repeat=3):
        graph = [trust.Edge(NODES[i], NODES[i + 1], ("*",), rot) for i, rot in enumerate(combo)]
        ts = trust.TrustSet((trust.TrustEntry("n0", ("*",), 0),), 1)
        assert trust.best_paths(ts, graph, "x") == brute(ts, graph, "x")
