"""pre-receive's faster index check (branch prerecv, SPEC §6, §12): the pushed shard's
sha256 is computed once and remembered by value (shards.digest), the parent's shard is
vouched for with the pushed one's common start hashed once, and objects are read once per
process (catfile). The verdicts stay: through a real `git push` to a bare server with the
installed hook, a shard forged inside the item of the agent the commit touches (the
spliced region) or inside another agent's item (outside it) is refused with `[index]`,
whether the head's pin is made to match the forged bytes or left as it was; the honest
twin of each push is accepted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from git_elite.core import indexing, layout, shards
from tests.conftest import git
from tests.helpers_attacks import Server, aid, head, refused
from tests.helpers_registry import T0, agent_files, push, reindex, write_files

TOUCHED = 1  # alice's agent, updated by the pushed commit
AB = aid(TOUCHED)[:2]
SHARD = layout.shard_path(AB)
NEIGHBOUR = next(n for n in range(3, 5000) if aid(n)[:2] == AB)  # same shard, untouched


# shards.digest: a memo by value, never by identity -------------------------------------------
def test_the_digest_is_sha256_of_the_value_whatever_object_holds_it() -> None:
    data = b'{"schema_version": 2}\n' * 5000
    twin = bytes(bytearray(data))  # equal, another object
    edited = data[:-2] + b"}\n"
    assert twin is not data
    shards.remember_digest(data, hashlib.sha256(data).hexdigest())
    for value in (data, twin, edited, data, edited):
        assert shards.digest(value) == hashlib.sha256(value).hexdigest()
    assert shards.digest(bytearray(edited)) == hashlib.sha256(edited).hexdigest()


def test_the_memo_keeps_only_the_last_few() -> None:
    values = [b"%d" % i * 1000 for i in range(3 * shards.MEMO_SIZE)]
    for value in values:
        shards.remember_digest(value, hashlib.sha256(value).hexdigest())
    assert len(shards._DIGESTS) <= shards.MEMO_SIZE
    assert set(shards._DIGESTS) == set(values[-shards.MEMO_SIZE:])
    for value in values:
        assert shards.digest(value) == hashlib.sha256(value).hexdigest()


# real pushes: forged shards refused, honest twins accepted ---------------------------------
def _bump(raw: bytes, agent: str, field: str = "total_tasks") -> bytes:
    """`raw` with `field` of `agent`'s item one more than it was (formatting kept)."""
    start = raw.index(f'"{agent}": {{'.encode())
    at = raw.index(f'"{field}": '.encode(), start) + len(field) + 4
    end = at
    while raw[end:end + 1].isdigit():
        end += 1
    return raw[:at] + str(int(raw[at:end]) + 1).encode() + raw[end:]


def _repin(work: Any, shard: bytes) -> None:
    """INDEX.json's sha256 for the shard made to match its (forged) bytes."""
    index = json.loads((work / layout.INDEX).read_bytes())
    index["shards"][AB]["sha256"] = hashlib.sha256(shard).hexdigest()
    (work / layout.INDEX).write_bytes(indexing.dumps(index))


def _update_commit(srv: Server, forge: Callable[[Any], None] | None) -> str:
    """alice's agent updated, the index rebuilt, then `forge` run on the work tree; no
    client hook (an attacker skips them)."""
    write_files(srv.work, agent_files("alice", TOUCHED, created_at=T0 + 10, total=300,
                                      recent=200))
    reindex(srv.work)
    if forge is not None:
        forge(srv.work)
    git("add", "-A", ".", cwd=srv.work)
    git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "update", cwd=srv.work)
    return head(srv.work)


@pytest.fixture
def neighbour(srv: Server) -> Server:
    """The server with a third agent in alice's agent's shard (an honest push)."""
    write_files(srv.work, agent_files("carol", NEIGHBOUR))
    reindex(srv.work)
    git("add", "-A", ".", cwd=srv.work)
    git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "carol", cwd=srv.work)
    result = push(srv.work)
    assert result.returncode == 0, result.stderr
    assert AB in json.loads((srv.work / layout.INDEX).read_bytes())["shards"]
    assert aid(NEIGHBOUR).encode() in (srv.work / SHARD).read_bytes()
    return srv


@pytest.mark.parametrize("victim", ["touched", "neighbour"])
@pytest.mark.parametrize("repin", [True, False], ids=["pin-forged", "pin-kept"])
def test_a_forged_shard_item_is_refused(neighbour: Server, victim: str, repin: bool) -> None:
    agent = aid(TOUCHED if victim == "touched" else NEIGHBOUR)

    def forge(work: Any) -> None:
        shard = _bump((work / SHARD).read_bytes(), agent)
        (work / SHARD).write_bytes(shard)
        if repin:
            _repin(work, shard)

    sha = _update_commit(neighbour, forge)
    refused(neighbour, sha, "index", SHARD if repin else "")


def test_the_honest_update_is_accepted(neighbour: Server) -> None:
    sha = _update_commit(neighbour, None)
    result = push(neighbour.work)
    assert result.returncode == 0, result.stderr
    assert head(neighbour.bare, "main") == sha
