"""The index check of a commit without the parent's shard (SPEC §6, §12): the pushed shard
with the touched agents' parent entries put back must hash to the digest the parent's head
pins (indexcheck._reverted); then the parent's shard blob is never read. Anything else falls
back to reading it, with the same problems: random sequences (publish, update, tombstone,
endorse, attest) with hostile edits of the pushed shard give the same rule ids and messages
with and without the fast path, and a real git push's check reads no parent shard blob."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_elite.core import documents, engine, indexcheck, indexing, layout, shardsplice
from git_elite.core.state import Change, MemoryState, Overlay
from git_elite.edges import git, gitcheck, gittree
from tests.helpers_registry import (
    T0,
    agent_files,
    agent_id_of,
    attestation,
    base_files,
    endorsement,
    manifest,
    nid,
    profile,
    tombstone,
    with_index,
)

OWNERS = ("alice", "bob", "carol")


def _pair() -> tuple[int, int, int]:
    """Three agent numbers, the first two in the same shard, the third in another."""
    seen: dict[str, int] = {}
    for n in range(1000):
        ab = agent_id_of(profile(n))[:2]
        if ab in seen:
            other = next(m for m in range(1000) if agent_id_of(profile(m))[:2] != ab)
            return seen[ab], n, other
        seen[ab] = n
    raise AssertionError("no two agents share a shard")


A, B, C = _pair()
AB = agent_id_of(profile(A))[:2]
SHARD = layout.shard_path(AB)


@contextmanager
def counting() -> Iterator[list[bytes | None]]:
    """Records what each `_reverted` gave (None: the fast path did not apply)."""
    given_back: list[bytes | None] = []
    real = indexcheck._reverted

    def spy(*args: Any) -> bytes | None:
        given_back.append(real(*args))
        return given_back[-1]

    with mock.patch.object(indexcheck, "_reverted", spy):
        yield given_back


def _slow() -> Any:
    return mock.patch.object(indexcheck, "_reverted", lambda *args: None)


def _problems(parent: MemoryState, changes: list[Change]) -> list[tuple[str, str, str]]:
    problems = engine.check_change(parent, changes, Overlay(parent, changes))
    return [(p.rule, p.path, p.message) for p in problems]


def _both(parent: MemoryState, changes: list[Change]
          ) -> tuple[list[tuple[str, str, str]], list[bytes | None]]:
    """The problems with the fast path and without it (asserted equal), and what the fast
    path gave."""
    with counting() as given_back:
        fast = _problems(parent, changes)
    with _slow():
        slow = _problems(parent, changes)
    assert fast == slow
    return fast, given_back


def _commit(files: dict[str, bytes], edit: dict[str, bytes | None],
            hostile: Callable[[bytes], bytes | None] | None = None) -> list[Change]:
    """The changes of a commit making `edit` with its index rebuilt; `hostile` rewrites the
    bytes of the shard of agent A (None: delete it)."""
    parent = MemoryState(files)
    changes = [Change(p, files.get(p), d) for p, d in edit.items() if files.get(p) != d]
    written = engine.expected_files(parent, changes, Overlay(parent, changes))
    if hostile is not None:
        assert written.get(SHARD) is not None
        written[SHARD] = hostile(written[SHARD] or b"")
    return changes + [Change(p, files.get(p), d) for p, d in written.items()
                      if files.get(p) != d]


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    out = base_files()
    for n, owner in ((A, "alice"), (B, "bob"), (C, "carol")):
        out.update(agent_files(owner, n, total=60 + n % 50, recent=20))
    return with_index(out)


def _update(n: int, owner: str, total: int = 300) -> dict[str, bytes | None]:
    body = manifest(owner, profile(n), created_at=T0 + 10, total=total, recent=200)
    return {layout.agent_path(agent_id_of(profile(n)), "manifest.json"):
            documents.to_bytes(body)}


def test_a_one_agent_commit_is_checked_without_the_parents_shard(files: dict[str, bytes]
                                                                  ) -> None:
    changes = _commit(files, _update(A, "alice"))
    problems, given_back = _both(MemoryState(files), changes)
    assert problems == [] and given_back == [files[SHARD]]  # the parent's bytes, exactly


# hostile pushed shards: each refused for the rule it was refused for before -----------------
def _reorder(data: bytes) -> bytes:
    value = json.loads(data)
    value["agents"] = dict(reversed(list(value["agents"].items())))
    return (json.dumps({"shard": value["shard"], **value}, indent=2) + "\n").encode()


def _space(data: bytes) -> bytes:
    at = data.rindex(b'": ')
    return data[:at] + b'":  ' + data[at + 3:]


def _entry(agent: int, key: str) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        value = json.loads(data)
        held = value["agents"]
        wanted = agent_id_of(profile(agent))
        target = wanted if wanted in held else min(held)  # (held: never empty here)
        held[target][key] += 1
        return indexing.dumps(value)
    return change


def _duplicate(data: bytes) -> bytes:
    items = shardsplice.pieces(data.decode(), AB)
    assert items is not None
    ordered = [items[a] for a in sorted(items)]
    return (shardsplice.PREFIX + ",".join(ordered + ordered[:1])
            + shardsplice.suffix(AB)).encode()


HOSTILE: dict[str, Callable[[bytes], bytes | None]] = {
    "reordered keys": _reorder, "extra whitespace": _space,
    "an untouched entry changed": _entry(B, "attestations"),
    "the touched entry changed": _entry(A, "score_ppm"), "a duplicated key": _duplicate,
    "not UTF-8": lambda data: data.replace(b'"elite"', b'"\xff\xfe"', 1),
    "deleted": lambda data: None, "empty": lambda data: b"",
    "not JSON": lambda data: data[:-40] + b"\n}\n"}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_pushed_shard_is_refused_as_before(files: dict[str, bytes], case: str
                                                     ) -> None:
    changes = _commit(files, _update(A, "alice"), HOSTILE[case])
    problems, given_back = _both(MemoryState(files), changes)
    assert problems and {rule for rule, _, _ in problems} == {"index"}, problems
    assert any(path == SHARD for _, path, _ in problems)
    if case in ("a duplicated key", "an untouched entry changed", "deleted", "not UTF-8"):
        assert given_back == [None]  # the fast path could not vouch for these bytes


def test_a_parent_whose_shard_is_not_its_heads_gives_the_same_answer(
        files: dict[str, bytes]) -> None:
    """A parent holding a shard that is not the one its head pins: the pushed shard made
    back into the pinned bytes hashes to the pinned digest, but its blob id is not the
    parent's, so the check takes the path it took before (a rebuild from the manifests)."""
    bad = dict(files)
    bad[SHARD] = _entry(B, "attestations")(files[SHARD])
    for hostile in (None, _entry(B, "attestations")):
        changes = _commit(bad, _update(A, "alice"), hostile)
        _, given_back = _both(MemoryState(bad), changes)
        assert given_back == [None]


def test_a_parent_shard_its_head_does_not_pin_is_not_built_on(files: dict[str, bytes]
                                                              ) -> None:
    """The rebuild of a commit that does not carry the shard (pre-commit, `git elite
    index`): the parent's shard bytes are edited, but the result is used only when those
    bytes hash to the parent head's pin. A parent whose shard had an untouched entry
    changed under its head (still in the writer's shape) gets the shard rebuilt from the
    manifests: the changed entry is not carried over."""
    bad = dict(files)
    bad[SHARD] = _entry(B, "attestations")(files[SHARD])
    edit = _update(A, "alice")
    changes = [Change(p, bad.get(p), d) for p, d in edit.items()]
    parent = MemoryState(bad)
    written = engine.expected_files(parent, changes, Overlay(parent, changes))
    new = {**files, **{p: d for p, d in edit.items() if d is not None}}
    assert written[SHARD] == engine.full_index(MemoryState(new))[SHARD]


# the property: random sequences, with and without hostile shards -----------------------------
Step = tuple[str, str, int, int, str]
KINDS = ("publish", "tombstone", "endorse", "attest", "revoke")
MUTATIONS = ("none", "none", "none", *sorted(HOSTILE))
steps = st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(OWNERS),
                           st.sampled_from((A, B, C)), st.integers(1, 40),
                           st.sampled_from(MUTATIONS)), max_size=10)


def _step(files: dict[str, bytes], clock: int, step: Step) -> dict[str, bytes | None]:
    kind, owner, n, total, _ = step
    agent_id = agent_id_of(profile(n))
    if kind == "publish":
        body = manifest(owner, profile(n), created_at=clock, total=total * 10, recent=total)
        return {layout.agent_path(agent_id, "manifest.json"): documents.to_bytes(body),
                layout.agent_path(agent_id, "profile.json"): documents.to_bytes(profile(n))}
    if kind == "tombstone":
        return {layout.agent_path(agent_id, "manifest.json"): None,
                layout.agent_path(agent_id, "tombstone.json"):
                documents.to_bytes(tombstone(owner, agent_id, clock))}
    if kind == "endorse":
        other = OWNERS[(OWNERS.index(owner) + 1) % len(OWNERS)]
        return {layout.endorsement_path(nid(owner), nid(other)):
                documents.to_bytes(endorsement(owner, other, created_at=clock))}
    body = attestation(owner, agent_id, created_at=clock, revoked=kind == "revoke")
    return {layout.attestation_path(agent_id, nid(owner)): documents.to_bytes(body)}


def run_sequence(sequence: list[Step]) -> tuple[int, int]:
    """(steps accepted, steps the fast path vouched for a parent's shard in)."""
    files, clock, accepted, fast = dict(FILES), T0 + 100, 0, 0
    for step in sequence:
        clock += 10
        edit = _step(files, clock, step)
        mutation = HOSTILE.get(step[4])
        parent = MemoryState(files)
        changes = [Change(p, files.get(p), d) for p, d in edit.items() if files.get(p) != d]
        written = engine.expected_files(parent, changes, Overlay(parent, changes))
        if mutation is not None and written.get(SHARD) is not None:
            written[SHARD] = mutation(written[SHARD] or b"")
        changes += [Change(p, files.get(p), d) for p, d in written.items()
                    if files.get(p) != d]
        problems, given_back = _both(parent, changes)
        fast += sum(b is not None for b in given_back)
        if not problems and changes:
            accepted += 1
            new = Overlay(parent, changes)
            files = {p: d for p in set(files) | set(new.changed)
                     if (d := new.read(p)) is not None}
    return accepted, fast


FILES = base_files()
for _n, _owner in ((A, "alice"), (B, "bob")):
    FILES.update(agent_files(_owner, _n, total=60, recent=20))
FILES = with_index(FILES)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_the_fast_path_accepts_and_refuses_as_the_slow_one(sequence: list[Step]) -> None:
    run_sequence(sequence)


def test_a_sequence_where_the_fast_path_vouches() -> None:
    """So the property cannot pass vacuously: valid steps are accepted through the fast
    path, hostile ones refused."""
    accepted, fast = run_sequence([
        ("publish", "alice", A, 20, "none"), ("attest", "bob", A, 1, "none"),
        ("attest", "carol", B, 1, "an untouched entry changed"),
        ("revoke", "bob", A, 1, "none"), ("endorse", "carol", C, 1, "none"),
        ("publish", "carol", C, 5, "none"), ("tombstone", "bob", B, 1, "none"),
        ("publish", "alice", A, 30, "a duplicated key")])
    assert accepted == 6 and fast >= 4


# real git: the hook's check reads no blob of the parent's shard -----------------------------
def test_a_push_is_checked_without_reading_the_parents_shard_blob(
        files: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "server.git"
    repo = pygit2.init_repository(str(path), bare=True, initial_head="main")
    old = git.build_commit(repo, None, files, "base")
    repo.references.create("refs/heads/main", old)
    edit = _update(A, "alice")
    new = git.build_commit(repo, old, {p: c.new for c in _commit(files, edit)
                                       for p in [c.path]}, "update one agent")
    update = gitcheck.RefUpdate(old, new, "refs/heads/main")
    assert gitcheck.check_push(repo, path, [update], now=T0 + 50)[0] == []  # warms the cache
    reads: list[str] = []
    real = gittree.Blobs.read

    def read(self: Any, blob_path: str, oid: Any, mode: int) -> Any:
        reads.append(str(oid))
        return real(self, blob_path, oid, mode)

    monkeypatch.setattr(gittree.Blobs, "read", read)
    assert gitcheck.check_push(repo, path, [update], now=T0 + 50)[0] == []
    parent_shard = str(repo.revparse_single(old).peel(pygit2.Commit).tree[SHARD].id)
    pushed_shard = str(repo.revparse_single(new).peel(pygit2.Commit).tree[SHARD].id)
    assert parent_shard != pushed_shard and pushed_shard in reads
    assert parent_shard not in reads
