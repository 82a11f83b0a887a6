"""The head's pins (SPEC §6.2), writer side: the exact bytes of index/ranked.json and
index/trust/<ab>.json, the head's identity/ranked/trust members, attestation_sha256, where a
trust document's digest lives, the reader helpers of core/pins, and O(changed) for the new
files. Every expectation is recomputed here from the documents, independently of the code."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest

from git_elite.core import documents, engine, layout, pins
from git_elite.core.errors import RegistryError
from git_elite.core.state import EMPTY, Change, MemoryState, Overlay, additions
from tests.helpers_registry import (
    T0,
    agent_files,
    agent_id_of,
    attestation,
    base_files,
    endorsement,
    nid,
    profile,
    rotation,
    with_index,
)


def dumps(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


A1, A2, A3 = (agent_id_of(profile(n)) for n in (1, 2, 3))
ATT = layout.attestation_path(A1, nid("carol"))
END = layout.endorsement_path(nid("alice"), nid("bob"))
ROT = layout.rotation_path(nid("dave"))


def small() -> dict[str, bytes]:
    """Three agents (1 and 2 ranked, 3 not elite), carol's attestation of agent 1, an
    endorsement alice -> bob and a rotation dave -> rotated."""
    files = base_files()
    files.update(agent_files("alice", 1, total=120, recent=30))
    files.update(agent_files("bob", 2, total=90, recent=20))
    files.update(agent_files("bob", 3, total=5, recent=1))
    files[ATT] = documents.to_bytes(attestation("carol", A1))
    files[END] = documents.to_bytes(endorsement("alice", "bob"))
    files[ROT] = documents.to_bytes(rotation("dave", "rotated"))
    return with_index(files)


@pytest.fixture(scope="module")
def reg() -> dict[str, bytes]:
    return small()


def test_the_head_pins_identity_ranked_and_trust(reg: dict[str, bytes]) -> None:
    head = json.loads(reg[layout.INDEX])
    assert head["identity"] == {"version": 1, "sha256": sha(reg[layout.IDENTITY])}
    assert head["ranked"] == {"agents": 2, "sha256": sha(reg[layout.RANKED])}
    trust = {}
    for path in (END, ROT):
        ab = sha(path.split("/")[1].encode("ascii"))[:2]
        trust.setdefault(ab, {})[path] = sha(reg[path])
    assert head["trust"] == {ab: {"documents": len(docs),
                                  "sha256": sha(reg[layout.trust_shard_path(ab)])}
                             for ab, docs in trust.items()}
    for ab, docs in trust.items():  # the exact bytes, recomputed
        assert reg[layout.trust_shard_path(ab)] == dumps(
            {"schema_version": 2, "shard": ab, "documents": docs})
    assert reg[layout.INDEX] == dumps(head)


def test_ranked_json_is_the_shard_entries_of_the_ranked_agents(reg: dict[str, bytes]) -> None:
    head = json.loads(reg[layout.INDEX])
    ranked = {a for rows in head["rankings"].values() for a in rows}
    assert ranked == {A1, A2}
    entries = {a: json.loads(reg[layout.shard_path(a[:2])])["agents"][a] for a in ranked}
    assert reg[layout.RANKED] == dumps({"schema_version": 2, "agents": entries})


def test_golden_digests(reg: dict[str, bytes]) -> None:
    """The bytes are fixed by the seeds: a change in how any of them is written shows here
    (other clients must produce the same bytes; SPEC §6.2)."""
    head = json.loads(reg[layout.INDEX])
    assert head["ranked"]["sha256"] == GOLDEN["ranked"]
    assert {ab: t["sha256"] for ab, t in head["trust"].items()} == GOLDEN["trust"]
    assert sha(reg[layout.INDEX]) == GOLDEN["head"]


GOLDEN: dict[str, Any] = {
    "ranked": "a6300151d8a6611fa22c54facca237161e148847c17a3778b2e136dbae5b1a1e",
    "trust": {"50": "9d554f0c30e7e8b50a8ebfb2b6c13af915701aaf4cc54d33c972276bdc395907",
              "95": "0e4cd51121f43d1f1d595891db43b7641fa123e0f1046717c2ab62b82735254f"},
    "head": "43fee015e5e250deedf47d6b8a1ee4cccb2068c4d9464189921437df6f983ca3"}


def test_an_empty_registry_has_an_empty_ranked_json() -> None:
    files = base_files()
    assert files[layout.RANKED] == b'{\n  "agents": {},\n  "schema_version": 2\n}\n'
    head = json.loads(files[layout.INDEX])
    assert head["ranked"] == {"agents": 0, "sha256": sha(files[layout.RANKED])}
    assert head["trust"] == {}
    assert not any(p.startswith(layout.TRUST_DIR) for p in files)


def test_trust_shard_placement_is_by_the_from_nid() -> None:
    """`<ab>` = the first two hex digits of sha256(nid as ASCII) of the endorsement's
    `<from>` (not `<to>`) and the rotation's `<old>`."""
    for name in ("alice", "bob", "dave"):
        assert pins.trust_shard_of(nid(name)) == sha(nid(name).encode("ascii"))[:2]
    assert pins.trust_shard_of_path(END) == pins.trust_shard_of(nid("alice"))
    assert pins.trust_shard_of_path(ROT) == pins.trust_shard_of(nid("dave"))
    assert pins.trust_shard_of_path(layout.agent_path(A1, "manifest.json")) is None


@pytest.mark.parametrize("path,kind", [
    ("index/ranked.json", "ranked"), ("index/trust/0a.json", "trust"),
    ("index/trust/0A.json", None), ("index/trust/abc.json", None), ("index/trust/ab/c.json", None),
    ("index/other.json", None), ("index/trust.json", None), ("index/ranked", None),
])
def test_layout_of_the_new_index_files(path: str, kind: str | None) -> None:
    slot = layout.classify(path)
    assert (slot.kind if slot else None) == kind
    assert layout.is_derived(path) is (kind is not None)


def test_attestation_sha256_appears_and_disappears(reg: dict[str, bytes]) -> None:
    entry = json.loads(reg[layout.shard_path(A1[:2])])["agents"][A1]
    assert entry["attestations"] == 1
    assert entry["attestation_sha256"] == {nid("carol"): sha(reg[ATT])}
    assert "attestation_sha256" not in json.loads(reg[layout.shard_path(A2[:2])])["agents"][A2]
    revoked = documents.to_bytes(attestation("carol", A1, created_at=T0 + 20, revoked=True))
    changes = [Change(ATT, reg[ATT], revoked)]
    parent = MemoryState(reg)
    written = engine.expected_files(parent, changes, Overlay(parent, changes))
    entry = json.loads(written[layout.shard_path(A1[:2])] or b"")["agents"][A1]
    assert entry["attestations"] == 0 and "attestation_sha256" not in entry
    # agent 1 is ranked: ranked.json carries the same entry
    assert json.loads(written[layout.RANKED] or b"")["agents"][A1] == entry
    new = {**reg, ATT: revoked, **{p: d for p, d in written.items() if d is not None}}
    assert written == {p: d for p, d in engine.full_index(MemoryState(new)).items()
                       if p in written}


class Counting(MemoryState):
    """Records the paths read; its rankings data is cached (as a git state's is)."""

    def __init__(self, files: dict[str, bytes]):
        super().__init__(files)
        self.reads: list[str] = []
        self.ranks = engine.rebuild(EMPTY, additions(files), MemoryState(files)).ranks.dump()

    def derived_load(self) -> Any:
        return self.ranks

    def read(self, path: str) -> bytes | None:
        self.reads.append(path)
        return super().read(path)

    def index_reads(self) -> set[str]:
        return {p for p in self.reads if layout.is_derived(p)}


def test_a_new_endorsement_touches_its_trust_shard_and_the_head(reg: dict[str, bytes]) -> None:
    """O(changed): one trust document in, one trust shard and the head out; nothing else of
    the index is read or written, and the bytes are a full rebuild's."""
    path = layout.endorsement_path(nid("eve"), nid("alice"))
    data = documents.to_bytes(endorsement("eve", "alice"))
    changes = [Change(path, None, data)]
    parent = Counting(reg)
    written = engine.expected_files(parent, changes, Overlay(parent, changes))
    ab = pins.trust_shard_of(nid("eve"))
    assert set(written) == {layout.INDEX, layout.trust_shard_path(ab)}
    assert parent.index_reads() <= {layout.INDEX, layout.trust_shard_path(ab)}
    full = engine.full_index(MemoryState({**reg, path: data}))
    assert all(full[p] == d for p, d in written.items())
    new = MemoryState({**reg, path: data, **{p: d for p, d in written.items() if d}})
    assert engine.check_change(MemoryState(reg), changes + [
        Change(p, reg.get(p), d) for p, d in written.items()], new) == []


def test_every_writer_output_checks(reg: dict[str, bytes]) -> None:
    """The rebuild of a whole registry is what the index rule accepts; a tampered ranked.json
    or trust shard is refused (`index`) even with a head that pins its bytes."""
    head = json.loads(reg[layout.INDEX])
    for path in (layout.RANKED, layout.trust_shard_path(sorted(head["trust"])[0])):
        value = json.loads(reg[path])
        if path == layout.RANKED:
            value["agents"][A1]["score_ppm"] += 1
        else:
            first = sorted(value["documents"])[0]
            value["documents"][first] = "0" * 64
        forged = dumps(value)
        lying = copy.deepcopy(head)
        pin = lying["ranked"] if path == layout.RANKED else lying["trust"][value["shard"]]
        pin["sha256"] = sha(forged)
        changes = [Change(path, reg[path], forged),
                   Change(layout.INDEX, reg[layout.INDEX], dumps(lying))]
        new = MemoryState({**reg, path: forged, layout.INDEX: dumps(lying)})
        problems = engine.check_change(MemoryState(reg), changes, new)
        assert {p.rule for p in problems} == {"index"}
        assert path in {p.path for p in problems}


def test_reader_helpers(reg: dict[str, bytes]) -> None:
    head = json.loads(reg[layout.INDEX])
    assert pins.checked_identity(head, reg[layout.IDENTITY]) == 1
    assert set(pins.checked_ranked(head, reg[layout.RANKED])) == {A1, A2}
    ab = pins.trust_shard_of(nid("alice"))
    docs = pins.checked_trust(head, ab, reg[layout.trust_shard_path(ab)])
    pins.checked_document(docs, END, reg[END], END)
    entry = json.loads(reg[layout.shard_path(A1[:2])])["agents"][A1]
    pins.checked_document(entry["attestation_sha256"], nid("carol"), reg[ATT], ATT)
    with pytest.raises(RegistryError, match="do not hash") as err:
        pins.checked_ranked(head, reg[layout.RANKED] + b" ")
    assert err.value.rule == "index"
    with pytest.raises(RegistryError, match="do not hash"):
        pins.checked_identity(head, reg[layout.IDENTITY].replace(b"1", b"2", 1))
    with pytest.raises(RegistryError, match="pins no"):
        pins.checked_trust(head, "zz", b"{}")
    with pytest.raises(RegistryError, match="not pinned"):
        pins.checked_document(docs, ROT, reg[ROT], ROT)
    with pytest.raises(RegistryError, match="do not hash"):
        pins.checked_document(docs, END, reg[END] + b"\n", END)
    assert pins.is_pinned(head) and not pins.is_pinned(
        {k: v for k, v in head.items() if k != "trust"})


@pytest.mark.parametrize("case", ["not json", "duplicate key", "ranks another set",
                                  "another shard", "no pin"])
def test_reader_helpers_refuse_pinned_bytes_that_are_wrong(reg: dict[str, bytes],
                                                           case: str) -> None:
    """Bytes that do hash to the head's pin but are not what a pinned file may be (a head
    signed over a broken file): refused with `index`, never taken."""
    head = json.loads(reg[layout.INDEX])
    ab = pins.trust_shard_of(nid("alice"))
    ranked = json.loads(reg[layout.RANKED])
    trust = json.loads(reg[layout.trust_shard_path(ab)])
    data, check, why = {
        "not json": (b"{\"agents\": ", lambda h, d: pins.checked_ranked(h, d), "not JSON"),
        "duplicate key": (reg[layout.RANKED].replace(b"{", b'{"agents": {}, ', 1),
                          lambda h, d: pins.checked_ranked(h, d), "duplicate key"),
        "ranks another set": (dumps({**ranked, "agents": {A1: ranked["agents"][A1]}}),
                              lambda h, d: pins.checked_ranked(h, d), "exactly the agents"),
        "another shard": (dumps({**trust, "shard": "zz"}),
                          lambda h, d: pins.checked_trust(h, ab, d), "not the trust shard"),
        "no pin": (reg[layout.IDENTITY], lambda h, d: pins.checked_identity(
            {k: v for k, v in h.items() if k != "identity"}, d), "pins no"),
    }[case]
    head = copy.deepcopy(head)
    head["ranked"]["sha256"] = sha(data)
    head["trust"][ab]["sha256"] = sha(data)
    with pytest.raises(RegistryError, match=why) as err:
        check(head, data)
    assert err.value.rule == "index"


def test_ranked_json_is_edited_not_parsed(reg: dict[str, bytes],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A ranked agent updated, one entering the rankings, one leaving: index/ranked.json's
    new bytes are the parent's edited where those agents are (never parsed or encoded
    whole), equal to a full rebuild's."""
    from tests.helpers_registry import manifest

    real = json.loads
    parsed: list[Any] = []

    def spy(raw: Any, *args: Any, **kwargs: Any) -> Any:
        parsed.append(raw)
        return real(raw, *args, **kwargs)

    better = manifest("bob", profile(3), created_at=T0 + 10, total=200, recent=50)
    tomb = layout.agent_path(A2, "tombstone.json")
    from tests.helpers_registry import tombstone

    for changes in (
            [Change(layout.agent_path(A1, "manifest.json"),
                    reg[layout.agent_path(A1, "manifest.json")],
                    documents.to_bytes(manifest("alice", profile(1), created_at=T0 + 10,
                                                total=150, recent=40)))],
            [Change(layout.agent_path(A3, "manifest.json"),
                    reg[layout.agent_path(A3, "manifest.json")], documents.to_bytes(better))],
            [Change(tomb, None, documents.to_bytes(tombstone("bob", A2))),
             Change(layout.agent_path(A2, "manifest.json"),
                    reg[layout.agent_path(A2, "manifest.json")], None)]):
        parent = Counting(reg)
        monkeypatch.setattr(json, "loads", spy)
        written = engine.expected_files(parent, changes, Overlay(parent, changes))
        monkeypatch.setattr(json, "loads", real)
        assert layout.RANKED in written
        assert not [raw for raw in parsed if raw == reg[layout.RANKED]]
        new = {**reg, **{c.path: c.new for c in changes if c.new is not None}}
        for c in changes:
            if c.new is None:
                new.pop(c.path)
        assert written[layout.RANKED] == engine.full_index(MemoryState(new))[layout.RANKED]
        parsed.clear()


def test_a_parent_ranked_json_its_head_does_not_pin_is_not_built_on(reg: dict[str, bytes]
                                                                    ) -> None:
    """index/ranked.json is edited (and hashed with its new bytes) only when the parent's
    bytes hash to the parent head's pin: a parent whose ranked.json was changed under its
    head (a ranked agent's item edited, still in the writer's shape) gets the index rebuilt
    from the manifests, not the changed entry carried over."""
    from tests.helpers_registry import manifest

    ranked = json.loads(reg[layout.RANKED])
    ranked["agents"][A2]["score_ppm"] += 1
    bad = {**reg, layout.RANKED: dumps(ranked)}
    change = Change(layout.agent_path(A1, "manifest.json"),
                    reg[layout.agent_path(A1, "manifest.json")],
                    documents.to_bytes(manifest("alice", profile(1), created_at=T0 + 10,
                                                total=150, recent=40)))
    parent = MemoryState(bad)
    written = engine.expected_files(parent, [change], Overlay(parent, [change]))
    new = {**reg, change.path: change.new or b""}
    assert written[layout.RANKED] == engine.full_index(MemoryState(new))[layout.RANKED]
    assert json.loads(written[layout.RANKED] or b"")["agents"][A2] == \
        json.loads(reg[layout.RANKED])["agents"][A2]


@pytest.mark.parametrize("case", ["pinned", "other bytes", "other version", "unpinned head"])
def test_a_reader_holds_identity_json_to_the_heads_pin(reg: dict[str, bytes], case: str
                                                        ) -> None:
    """pinned_read.check_identity (every transport, through discover's `fresh`): the served
    IDENTITY.json must be the bytes and the version the head pins; a head without pins
    asks nothing."""
    from types import SimpleNamespace

    from git_elite.edges import pinned_read

    head = copy.deepcopy(json.loads(reg[layout.INDEX]))
    raw = reg[layout.IDENTITY]
    if case == "other bytes":
        raw = raw.replace(b"\n", b"\n ", 1)
    if case == "other version":
        head["identity"]["version"] += 1
    index = SimpleNamespace(pinned=case != "unpinned head", head=head)
    source = SimpleNamespace(index=lambda: index, identity_raw=raw)
    if case in ("pinned", "unpinned head"):
        pinned_read.check_identity(source)
        return
    why = "do not hash" if case == "other bytes" else "pins IDENTITY.json version"
    with pytest.raises(RegistryError, match=why) as err:
        pinned_read.check_identity(source)
    assert err.value.rule == "index"
