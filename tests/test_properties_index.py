"""Property: after any random sequence of publish/update/tombstone/endorse/migrate steps by a
few owners, each checked by the rule engine and applied only when accepted, the incrementally
maintained index (format 1: INDEX.json; format 2: the head and its shards) equals a
from-scratch rebuild byte for byte, the head's digests match the shards, and every refused
step was refused for exactly the rules the generator intended. A sequence starts in format 1
when it holds a migrate step (changes to format 1 are then checked as audits of old history
are) and in format 2 otherwise. Engine level (state.MemoryState/Overlay, no git) for speed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from git_elite.core import documents, engine, indexing, layout, migration, shards
from git_elite.core.state import Change, MemoryState, Overlay
from tests.helpers_registry import (
    T0,
    agent_id_of,
    base_files,
    endorsement,
    identity,
    key,
    manifest,
    nid,
    profile,
    tombstone,
    with_index,
)

OWNERS = ("alice", "bob", "carol")
AGENTS = 4
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# no shrinking in the heavy variant (long sequences shrink for minutes); FAST shrinks
HEAVY = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck),
                 phases=[Phase.explicit, Phase.reuse, Phase.generate])


@dataclass
class Agent:
    owner: str
    created_at: int
    raw: bytes
    tombstoned: bool = False


@dataclass
class Model:
    """What the registry should hold, tracked independently of the engine."""

    files: dict[str, bytes]
    agents: dict[int, Agent] = field(default_factory=dict)
    clock: int = T0
    fmt: int = 2

    def path(self, n: int, name: str) -> str:
        return layout.agent_path(agent_id_of(profile(n)), name, self.fmt)


Metrics = tuple[float, int, int]
metrics = st.tuples(st.floats(0, 1, allow_nan=False), st.integers(0, 400),
                    st.integers(0, 400)).map(lambda m: (m[0], m[1], min(m[1], m[2])))
steps = st.lists(st.tuples(st.sampled_from(("manifest", "tombstone", "endorse", "migrate")),
                           st.sampled_from(OWNERS), st.integers(0, AGENTS - 1),
                           st.integers(-3, 40), metrics), max_size=14)


def _manifest_step(model: Model, owner: str, n: int, delta: int, m: Metrics
                   ) -> tuple[dict[str, bytes | None], set[str]]:
    agent = model.agents.get(n)
    created = agent.created_at + delta if agent else model.clock
    body = manifest(owner, profile(n), created_at=created, rate=m[0], total=m[1], recent=m[2])
    files: dict[str, bytes | None] = {model.path(n, "manifest.json"): documents.to_bytes(body)}
    if agent is None:
        files[model.path(n, "profile.json")] = documents.to_bytes(profile(n))
        return files, set()
    if agent.tombstoned:
        return files, {"deletion"}
    return files, ({"ownership"} if owner != agent.owner else set()) | (
        {"rollback"} if delta <= 0 else set())


def _tombstone_step(model: Model, owner: str, n: int, delta: int
                    ) -> tuple[dict[str, bytes | None], set[str]]:
    agent = model.agents.get(n)
    agent_id = agent_id_of(profile(n))
    created = (agent.created_at if agent else model.clock) + delta
    files: dict[str, bytes | None] = {
        model.path(n, "manifest.json"): None,
        model.path(n, "tombstone.json"): documents.to_bytes(tombstone(owner, agent_id, created))}
    if agent is None or agent.tombstoned:
        return files, {"deletion"}
    return files, ({"ownership"} if owner != agent.owner else set()) | (
        {"rollback"} if delta <= 0 else set())


def _endorse_step(model: Model, owner: str, n: int) -> dict[str, bytes | None]:
    other = OWNERS[(OWNERS.index(owner) + 1 + n % 2) % len(OWNERS)]
    body = endorsement(owner, other, created_at=model.clock)
    return {layout.endorsement_path(nid(owner), nid(other)): documents.to_bytes(body)}


def _migrate_step(model: Model) -> dict[str, bytes | None]:
    if model.fmt >= 2:
        return {}
    state = MemoryState(model.files)
    old = json.loads(model.files[layout.IDENTITY])
    body = documents.sign_multi(migration.identity_body(old, model.clock), [key("server")])
    return migration.files(state, documents.to_bytes(body))


def _apply(model: Model, files: dict[str, bytes | None]) -> list[Any]:
    """Run the engine on one commit (the index rebuilt incrementally); returns problems."""
    parent = MemoryState(model.files)
    changes = [Change(p, parent.read(p), data) for p, data in sorted(files.items())
               if parent.read(p) != data]
    rebuilt = engine.expected_files(parent, changes, Overlay(parent, changes))
    changes = [c for c in changes if c.path not in rebuilt]
    changes += [Change(p, parent.read(p), d) for p, d in rebuilt.items() if parent.read(p) != d]
    new = Overlay(parent, changes)
    problems = engine.check_change(parent, changes, new, legacy=True)
    if not problems:
        model.files = {p: d for p in set(model.files) | set(new.changed)
                       if (d := new.read(p)) is not None}
    return problems


def _record(model: Model, kind: str, owner: str, n: int, files: dict[str, bytes | None]
            ) -> None:
    if kind == "tombstone":
        model.agents[n].tombstoned = True
        return
    if kind == "migrate":
        model.fmt = 2
        return
    if kind == "endorse":
        return
    raw = files[model.path(n, "manifest.json")]
    assert raw is not None
    model.agents[n] = Agent(owner, documents.parse(raw, "m", documents.MANIFEST).created_at,
                            raw)


def _rebuild(model: Model) -> dict[str, bytes]:
    """The index files from the model alone: IDENTITY.json and the live manifests' bytes."""
    identity = documents.parse(model.files[layout.IDENTITY], layout.IDENTITY,
                               documents.REGISTRY_IDENTITY).body
    live = [(agent_id_of(profile(n)), a.raw, documents.parse(a.raw, "m", documents.MANIFEST)
             .body) for n, a in sorted(model.agents.items()) if not a.tombstoned]
    if model.fmt < 2:
        return {layout.INDEX: indexing.dumps(indexing.build(identity, live))}
    limits = indexing.thresholds(identity)
    head, built, _ = shards.build(identity, [(a, shards.entry(r, b, limits))
                                             for a, r, b in live])
    out = {layout.shard_path(ab): data for ab, (_, data) in built.items()}
    # the pins (SPEC §6.2), recomputed here from their definition
    ranked = {a: built[a[:2]][0]["agents"][a] for rows in head["rankings"].values()
              for a in rows}
    out[layout.RANKED] = _dumps({"schema_version": 2, "agents": ranked})
    head["ranked"] = {"agents": len(ranked), "sha256": _sha(out[layout.RANKED])}
    trust: dict[str, dict[str, str]] = {}
    for path, data in model.files.items():
        if path.startswith(("endorsements/", "identities/")):
            ab = _sha(path.split("/")[1].encode("ascii"))[:2]
            trust.setdefault(ab, {})[path] = _sha(data)
    head["trust"] = {}
    for ab, docs in trust.items():
        data = _dumps({"schema_version": 2, "shard": ab, "documents": docs})
        out[layout.trust_shard_path(ab)] = data
        head["trust"][ab] = {"documents": len(docs), "sha256": _sha(data)}
    head["identity"] = {"version": identity["version"],
                        "sha256": _sha(model.files[layout.IDENTITY])}
    return {layout.INDEX: indexing.dumps(head), **out}


def _dumps(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _stored(model: Model) -> dict[str, bytes]:
    return {p: d for p, d in model.files.items() if p == layout.INDEX or p.startswith("index/")}


def _check_index(model: Model, step: int) -> None:
    stored = _stored(model)
    scratch = {p: d for p, d in engine.full_index(MemoryState(model.files)).items()
               if d is not None}
    assert stored == scratch == _rebuild(model), step
    head = json.loads(stored[layout.INDEX])
    if model.fmt >= 2:
        assert {f"index/{ab}.json" for ab in head["shards"]} == {
            p for p in stored if layout.classify(p) is not None
            and layout.classify(p).kind == "shard"}  # type: ignore[union-attr]
        for ab, summary in head["shards"].items():
            data = stored[layout.shard_path(ab)]
            assert shards.digest(data) == summary["sha256"], step
            assert len(json.loads(data)["agents"]) == summary["agents"], step
        assert len(head["rankings"]) <= shards.MAX_TASK_TYPES + 1
        assert all(len(rows) <= shards.RANKINGS_LIMIT for rows in head["rankings"].values())


def _base(fmt: int) -> dict[str, bytes]:
    if fmt >= 2:
        return base_files()
    return with_index({layout.IDENTITY: documents.to_bytes(identity("server", fmt=1)),
                       ".gitattributes": b"*.json -text\nINDEX.json merge=elite-index\n"})


def run_sequence(sequence: list[tuple[str, str, int, int, Metrics]]) -> list[set[str]]:
    """Returns the rules each step was refused for (empty set: accepted or no change)."""
    fmt = 1 if any(kind == "migrate" for kind, *_ in sequence) else 2
    model = Model(_base(fmt), fmt=fmt)
    seen: list[set[str]] = []
    for step, (kind, owner, n, delta, m) in enumerate(sequence):
        model.clock += 10
        intended: set[str] = set()
        if kind == "manifest":
            files, intended = _manifest_step(model, owner, n, delta, m)
        elif kind == "tombstone":
            files, intended = _tombstone_step(model, owner, n, delta)
        elif kind == "endorse":
            files = _endorse_step(model, owner, n)
        else:
            files = _migrate_step(model)
        if all(model.files.get(p) == data for p, data in files.items()):
            intended = set()  # the very same bytes again: no change at all
        problems = _apply(model, files)
        assert {p.rule for p in problems} == intended, (step, kind, owner, n, problems)
        seen.append(intended)
        if not problems and files:
            _record(model, kind, owner, n, files)
        _check_index(model, step)
    return seen


@FAST
@given(steps)
def test_incremental_index_equals_rebuild(sequence: list[tuple[str, str, int, int, Metrics]]
                                          ) -> None:
    run_sequence(sequence)


@pytest.mark.slow
@HEAVY
@given(st.lists(steps.map(tuple), min_size=1, max_size=3).map(
    lambda parts: [s for part in parts for s in part]))
def test_incremental_index_equals_rebuild_heavy(
        sequence: list[tuple[str, str, int, int, Metrics]]) -> None:
    run_sequence(sequence)


def test_a_sequence_exercising_every_outcome() -> None:
    """A fixed sequence that hits every intended rule, so the property cannot pass vacuously."""
    m: Metrics = (0.9, 100, 20)
    seen = run_sequence([("manifest", "alice", 0, 0, m), ("manifest", "bob", 0, 5, m),
                  ("manifest", "alice", 0, 0, (0.8, 100, 20)), ("manifest", "alice", 0, 7, m),
                  ("tombstone", "bob", 0, 3, m), ("tombstone", "alice", 0, -1, m),
                  ("tombstone", "carol", 1, 3, m), ("tombstone", "alice", 0, 9, m),
                  ("manifest", "alice", 0, 20, m), ("tombstone", "alice", 0, 30, m),
                  ("manifest", "carol", 2, 0, (0.5, 0, 0))])
    assert seen == [set(), {"ownership"}, {"rollback"}, set(), {"ownership"}, {"rollback"},
                    {"deletion"}, set(), {"deletion"}, {"deletion"}, set()]
