"""O(changed) in bytes (SPEC §6): a commit touching one agent reads and writes its shard and
the head only (given the parent's rankings data); the check hashes only changed shards;
discover's top N read the head and N manifests."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from git_elite.core import documents, engine, layout
from git_elite.core.state import EMPTY, Change, MemoryState, Overlay, additions
from git_elite.edges import registry_sources
from tests.helpers_registry import (
    T0,
    agent_files,
    agent_id_of,
    base_files,
    manifest,
    profile,
    with_index,
)

N = 120
OWNERS = ("alice", "bob", "carol")


class Counting(MemoryState):
    """A state that records the paths read, with an optional rankings-data cache."""

    def __init__(self, files: dict[str, bytes], ranks: Any = None):
        super().__init__(files)
        self.reads: list[str] = []
        self.ranks = ranks

    def read(self, path: str) -> bytes | None:
        self.reads.append(path)
        return super().read(path)

    def derived_load(self) -> Any:
        return self.ranks

    def index_reads(self) -> set[str]:
        return {p for p in self.reads if p == layout.INDEX or p.startswith("index/")}


@pytest.fixture(scope="module")
def registry() -> tuple[dict[str, bytes], Any]:
    files = base_files()
    for n in range(N):
        files.update(agent_files(OWNERS[n % 3], n, total=60 + n, recent=20))
    files = with_index(files)
    state = MemoryState(files)
    ranks = engine.rebuild(EMPTY, additions(files), state).ranks.dump()
    return files, ranks


def _update(files: dict[str, bytes], n: int) -> list[Change]:
    body = manifest(OWNERS[n % 3], profile(n), created_at=T0 + 10, total=500, recent=400)
    path = layout.agent_path(agent_id_of(profile(n)), "manifest.json")
    return [Change(path, files[path], documents.to_bytes(body))]


def test_one_agent_reads_and_writes_one_shard(registry: tuple[dict[str, bytes], Any]) -> None:
    files, ranks = registry
    parent = Counting(files, ranks)
    changes = _update(files, 7)
    written = engine.expected_files(parent, changes, Overlay(parent, changes))
    shard = layout.shard_path(agent_id_of(profile(7))[:2])
    # agent 7 is ranked: its entry in index/ranked.json changes too (SPEC §6.2)
    assert set(written) == {layout.INDEX, shard, layout.RANKED}
    assert parent.index_reads() == {layout.INDEX, shard, layout.RANKED}
    # the check of that commit hashes and parses only that shard of the new state
    changes += [Change(p, files.get(p), d) for p, d in written.items()]
    new = Counting({**files, **{p: d for p, d in written.items() if d is not None}})
    check_parent = Counting(files, ranks)
    assert engine.check_change(check_parent, changes, new) == []
    assert new.index_reads() == {layout.INDEX, shard, layout.RANKED}
    # and not the parent's shard: the pushed one with the agent's parent entry put back
    # hashes to the parent head's digest (indexcheck._reverted)
    assert check_parent.index_reads() == {layout.INDEX, layout.RANKED}


def _unranked(files: dict[str, bytes]) -> int:
    """An agent number no head ranking lists."""
    import json

    ranked = {a for rows in json.loads(files[layout.INDEX])["rankings"].values() for a in rows}
    return next(n for n in range(N) if agent_id_of(profile(n)) not in ranked)


def test_an_unranked_agent_leaves_ranked_json_alone(
        registry: tuple[dict[str, bytes], Any]) -> None:
    """An agent no ranking lists, changed so that it stays out of every ranking: the
    commit reads and writes its shard and the head, not index/ranked.json (SPEC §6.2)."""
    files, ranks = registry
    n = _unranked(files)
    body = manifest(OWNERS[n % 3], profile(n), created_at=T0 + 10, total=61, recent=11)
    path = layout.agent_path(agent_id_of(profile(n)), "manifest.json")
    changes = [Change(path, files[path], documents.to_bytes(body))]
    parent = Counting(files, ranks)
    written = engine.expected_files(parent, changes, Overlay(parent, changes))
    shard = layout.shard_path(agent_id_of(profile(n))[:2])
    assert set(written) == {layout.INDEX, shard}
    assert parent.index_reads() == {layout.INDEX, shard}


def test_without_the_cache_every_shard_is_read_once(
        registry: tuple[dict[str, bytes], Any]) -> None:
    files, _ = registry
    parent = Counting(files)
    changes = _update(files, 7)
    written = engine.expected_files(parent, changes, Overlay(parent, changes))
    shards = {p for p in files if p.startswith("index/")}
    assert parent.index_reads() == {layout.INDEX} | shards
    assert written == engine.expected_files(Counting(files, registry[1]), changes,
                                            Overlay(MemoryState(files), changes))


def test_discover_top_n_reads_the_head_and_n_manifests(
        registry: tuple[dict[str, bytes], Any]) -> None:
    files, _ = registry
    reads: list[str] = []

    def read(path: str) -> bytes | None:
        reads.append(path)
        return files.get(path)

    def nothing() -> Iterator[tuple[str, bytes]]:
        return iter(())

    source = registry_sources.Source("reg", "reg", "0" * 40, read, nothing)
    source.check_identity()
    found, complete = registry_sources.listing([source], None, 5)
    assert len(found) == 5 and not complete
    # the head's rankings come with their entries in index/ranked.json (docs/spec.md §6.2):
    # no shard is read, and no manifest until the verifier reads the ones shown
    assert {p for p in reads if p.startswith("index/")} == {layout.RANKED}
    assert sum(p.endswith("/manifest.json") for p in reads) == 0
    shown = registry_sources.verifier([source])
    assert all(shown(candidate) == [] for candidate in found)
    assert sum(p.endswith("/manifest.json") for p in reads) == 5
    everything, _ = registry_sources.listing([source], None, 0)  # filters: from the shards
    assert len(everything) >= len(found)


class Caching(Counting):
    """A state whose rankings-data cache can be written, as a git-backed state's can (which
    serialises the value at once: a copy)."""

    def derived_save(self, value: Any) -> None:
        self.ranks = copy.deepcopy(value)


def test_a_cold_parent_is_read_once_then_cached(registry: tuple[dict[str, bytes], Any]
                                                ) -> None:
    """A parent whose rankings data is not cached (a fresh clone, a bulk import) costs one
    read of every shard, once: its rankings data is saved, so the next commit on the same
    parent reads the head and the shard it touches only; both give the same bytes."""
    files, ranks = registry
    cold = Caching(files)
    changes = _update(files, 7)
    first = engine.expected_files(cold, changes, Overlay(cold, changes))
    assert cold.index_reads() == {layout.INDEX} | {p for p in files if p.startswith("index/")}
    assert cold.ranks == ranks  # the parent's own rankings data, as a build makes it
    cold.reads.clear()
    again = engine.expected_files(cold, changes, Overlay(cold, changes))
    shard = layout.shard_path(agent_id_of(profile(7))[:2])
    assert cold.index_reads() == {layout.INDEX, shard, layout.RANKED}
    assert again == first == engine.expected_files(Counting(files, ranks), changes,
                                                   Overlay(MemoryState(files), changes))


def test_a_bad_parent_shard_is_not_cached(registry: tuple[dict[str, bytes], Any]) -> None:
    """A parent shard that does not hash to its head's digest: nothing is cached and the
    index is rebuilt from the manifests (the same bytes as from a sound parent)."""
    files, ranks = registry
    other = next(p for p in sorted(files) if p.startswith("index/")
                 and p != layout.shard_path(agent_id_of(profile(7))[:2]))
    damaged = Caching({**files, other: files[other].replace(b'"agents"', b'"agents" ', 1)})
    changes = _update(files, 7)
    written = engine.expected_files(damaged, changes, Overlay(damaged, changes))
    assert damaged.ranks is None
    assert written[layout.INDEX] == engine.expected_files(
        Counting(files, ranks), changes, Overlay(MemoryState(files), changes))[layout.INDEX]


def test_an_agent_entering_a_ranking_is_read_from_its_shard_item(
        registry: tuple[dict[str, bytes], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranked agents withdrawn: an agent in no head ranking before enters one, and
    index/ranked.json, with its entry from its (untouched) shard, of which only its item is
    parsed, not the whole shard; the files equal a full rebuild's."""
    import json

    from git_elite.core import pins

    files, ranks = registry
    rankings = json.loads(files[layout.INDEX])["rankings"]
    gone = set(rankings["general"][:5]) | set(rankings["file-edit"][:5])
    changes = [Change(layout.agent_path(a, "tombstone.json"), None, b"{}")
               for a in sorted(gone)]
    new = {**files, **{c.path: b"{}" for c in changes}}
    full = engine.full_index(MemoryState(new))
    entering = pins.ranked_ids(json.loads(full[layout.INDEX] or b"")["rankings"]) - \
        pins.ranked_ids(rankings)
    assert entering and not {a[:2] for a in entering} & {a[:2] for a in gone}
    parsed: list[bytes] = []
    real = json.loads

    def spy(raw: Any, *args: Any, **kwargs: Any) -> Any:
        parsed.append(raw if isinstance(raw, bytes) else raw.encode())
        return real(raw, *args, **kwargs)

    parent = Counting(files, ranks)
    monkeypatch.setattr(json, "loads", spy)
    written = engine.expected_files(parent, changes, Overlay(parent, changes))
    monkeypatch.setattr(json, "loads", real)
    for a in entering:  # (a withdrawn agent's shard left empty is parsed: the old path)
        assert files[layout.shard_path(a[:2])] not in parsed
        assert layout.shard_path(a[:2]) in parent.reads
    assert all(written[p] == full.get(p) for p in written)
    # a parent whose shard is not what its head pins: its entry is not taken from it
    from git_elite.core import indexing

    (agent,) = sorted(entering)[:1]
    shard = json.loads(files[layout.shard_path(agent[:2])])
    shard["agents"][agent]["attestations"] += 1
    bad = Counting({**files, layout.shard_path(agent[:2]): indexing.dumps(shard)}, ranks)
    written = engine.expected_files(bad, changes, Overlay(bad, changes))
    assert written[layout.RANKED] == full[layout.RANKED]


def test_a_shard_the_commit_does_not_carry_is_edited_once(
        registry: tuple[dict[str, bytes], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """pre-commit and `git elite index` (the commit does not carry the shard yet): the
    parent's shard is edited once, forward, and hashed with the new bytes; it is not first
    "reverted" (the new state's shard *is* the parent's) nor given a git blob id. A commit
    that carries the shard (a push) still takes it from there: revert, then forward."""
    from git_elite.core import shardsplice, state

    files, ranks = registry
    edits: list[str] = []  # the shard each edit is of ("": index/ranked.json)
    blob_ids: list[int] = []
    real_edit, real_blob_id = shardsplice.edit, state.blob_id
    monkeypatch.setattr(shardsplice, "edit", lambda raw, ab, *a, **k: (
        edits.append(ab), real_edit(raw, ab, *a, **k))[1])
    monkeypatch.setattr(state, "blob_id", lambda data: (
        blob_ids.append(len(data)), real_blob_id(data))[1])
    changes = _update(files, 7)
    shard = layout.shard_path(agent_id_of(profile(7))[:2])
    parent = Counting(files, ranks)
    written = engine.expected_files(parent, changes, Overlay(parent, changes))
    assert (edits.count(shard[6:8]), blob_ids) == (1, [])
    assert parent.reads.count(shard) == 1
    pushed = changes + [Change(shard, files[shard], written[shard])]
    edits.clear()
    again = engine.expected_files(Counting(files, ranks), pushed, Overlay(parent, pushed))
    assert edits.count(shard[6:8]) == 2 and blob_ids  # (a memory state hashes both)
    assert again[shard] == written[shard]


def test_a_touched_shard_is_edited_not_parsed(registry: tuple[dict[str, bytes], Any],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit that updates, adds or removes an agent edits its shard's bytes where that
    agent's item is (shardsplice.edit): no shard is parsed whole (the other agents of the
    shard are neither decoded nor re-encoded), and the bytes equal a full rebuild's."""
    import json

    files, ranks = registry
    by_shard: dict[str, int] = {}
    for n in range(N):
        by_shard[agent_id_of(profile(n))[:2]] = by_shard.get(agent_id_of(profile(n))[:2], 0) + 1
    n = next(n for n in range(N) if by_shard[agent_id_of(profile(n))[:2]] >= 2)
    parsed: list[bytes] = []
    real = json.loads

    def spy(raw: Any, *args: Any, **kwargs: Any) -> Any:
        parsed.append(raw if isinstance(raw, bytes) else raw.encode())
        return real(raw, *args, **kwargs)

    tomb = layout.agent_path(agent_id_of(profile(n)), "tombstone.json")
    added = agent_files("bob", N + 5, total=90, recent=30)
    for changes in (_update(files, n), [Change(p, None, d) for p, d in sorted(added.items())],
                    [Change(tomb, None, b"{}")]):
        parent = Counting(files, ranks)
        monkeypatch.setattr(json, "loads", spy)
        written = engine.expected_files(parent, changes, Overlay(parent, changes))
        monkeypatch.setattr(json, "loads", real)
        assert not [raw for raw in parsed if b'"shard": "' in raw]
        new = {**files, **{c.path: c.new for c in changes if c.new is not None}}
        full = engine.full_index(MemoryState(new))
        assert all(written[p] == full.get(p) for p in written if p != layout.INDEX)
        parsed.clear()


def test_the_commit_hooks_check_and_rebuild_parse_the_parent_head_once(
        registry: tuple[dict[str, bytes], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """hooks6: pre-commit checks a change (pinning.declares_pins parses the parent's
    INDEX.json), then rebuilds on the same parent: the head is handed over, not parsed
    again; the rebuild's bytes are those of one that parses it itself."""
    from git_elite.core import cjson, pinning

    files, ranks = registry
    changes = _update(files, 7)
    pinning._LAST_HEAD.clear()
    alone = engine.rebuild(Counting(files, ranks), changes,
                           Overlay(Counting(files, ranks), changes)).files
    parsed: list[int] = []
    real_loads = cjson.loads
    monkeypatch.setattr(cjson, "loads", lambda raw, *a, **k: (
        parsed.append(raw == files[layout.INDEX]), real_loads(raw, *a, **k))[1])
    parent = Counting(files, ranks)
    new = Overlay(parent, changes)
    assert engine.check_change(parent, changes, new, check_index=False, now=T0 + 20) == []
    assert engine.rebuild(parent, changes, new).files == alone
    assert parsed.count(True) == 1
    assert not pinning._LAST_HEAD  # handed over once: the rebuild may change its copy
    with pytest.raises(ValueError):
        pinning.take_head(b"{not json")
