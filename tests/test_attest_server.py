"""Attestations enforced by the server (SPEC §5.8, §7): real `git push`es into a bare
registry with `git elite hooks install --server`. Valid ones are accepted and counted in the
index shard; forged, self-attestation, wrong path, replay onto another agent, rollback,
deletion, missing or withdrawn agent and policy are refused with their exact rule id."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from git_elite.core import documents, layout
from tests.conftest import git
from tests.helpers_attacks import (
    Server,
    accepted,
    aid,
    commit,
    doc,
    mpath,
    refused,
    reset,
)
from tests.helpers_registry import (
    T0,
    attestation,
    commit_raw,
    identity,
    key,
    nid,
    rotation,
    tombstone,
)


def apath(agent: str, by: str) -> str:
    return layout.attestation_path(agent, nid(by))


def shard_count(srv: Server, agent: str) -> int:
    raw = git("show", f"main:{layout.shard_path(agent[:2])}", cwd=srv.bare).stdout
    return int(json.loads(raw)["agents"][agent]["attestations"])


def test_valid_attestations_accepted_counted_replaced_and_revoked(srv: Server) -> None:
    assert shard_count(srv, aid(1)) == 0
    accepted(srv, {apath(aid(1), "carol"): doc(attestation("carol", aid(1)))})
    assert shard_count(srv, aid(1)) == 1
    accepted(srv, {apath(aid(1), "dave"): doc(attestation("dave", aid(1), rate=0.95))})
    assert shard_count(srv, aid(1)) == 2
    accepted(srv, {apath(aid(1), "carol"): doc(attestation("carol", aid(1), created_at=T0 + 20,
                                                           rate=0.7))})
    assert shard_count(srv, aid(1)) == 2
    accepted(srv, {apath(aid(1), "carol"): doc(attestation("carol", aid(1), created_at=T0 + 30,
                                                           revoked=True))})
    assert shard_count(srv, aid(1)) == 1
    accepted(srv, {apath(aid(1), "carol"): doc(attestation("carol", aid(1), created_at=T0 + 40))})
    assert shard_count(srv, aid(1)) == 2 and shard_count(srv, aid(2)) == 0


def _forged() -> dict[str, bytes | None]:
    body = attestation("carol", aid(1))
    body["metrics"] = {**body["metrics"], "success_rate": 0.99}
    return {apath(aid(1), "carol"): doc(body)}


def _replayed() -> dict[str, bytes | None]:
    """carol's valid attestation of alice's agent 1, copied onto bob's agent 2."""
    return {apath(aid(2), "carol"): doc(attestation("carol", aid(1)))}


def _unmeasured() -> dict[str, bytes | None]:
    """Signed and live ("revoked": false) but without metrics, method and eval_window."""
    body = {k: v for k, v in attestation("carol", aid(1)).items()
            if k not in ("metrics", "method", "eval_window", "signature_ed25519")}
    return {apath(aid(1), "carol"): doc(documents.sign(body, key("carol")))}


BAD: dict[str, tuple[Any, str, Any]] = {
    "forged-metrics": (_forged, "signature", lambda: apath(aid(1), "carol")),
    "signed-by-another-key": (lambda: {apath(aid(1), "carol"): doc(attestation(
        "carol", aid(1), sign_as="mallory"))}, "signature", lambda: apath(aid(1), "carol")),
    "self-attestation": (lambda: {apath(aid(1), "alice"): doc(attestation("alice", aid(1)))},
                         "ownership", lambda: apath(aid(1), "alice")),
    "self-by-rotated-key": (lambda: {
        layout.rotation_path(nid("alice")): doc(rotation("alice", "rotated")),
        apath(aid(1), "rotated"): doc(attestation("rotated", aid(1)))},
        "ownership", lambda: apath(aid(1), "rotated")),
    "wrong-path-other-nid": (lambda: {apath(aid(1), "dave"): doc(attestation("carol", aid(1)))},
                             "binding", lambda: apath(aid(1), "dave")),
    "replay-onto-another-agent": (_replayed, "binding", lambda: apath(aid(2), "carol")),
    "agent-does-not-exist": (lambda: {apath(aid(7), "carol"): doc(attestation("carol", aid(7)))},
                             "binding", lambda: apath(aid(7), "carol")),
    "not-a-nid-file-name": (lambda: {f"{layout.agent_dir(aid(1))}/attestations/carol.json":
                                     doc(attestation("carol", aid(1)))},
                            "layout", lambda: f"{layout.agent_dir(aid(1))}/attestations/"),
    "unsigned": (lambda: {apath(aid(1), "carol"): doc({
        k: v for k, v in attestation("carol", aid(1)).items() if k != "signature_ed25519"})},
        "signature", lambda: apath(aid(1), "carol")),
    "no-measurement-not-revoked": (_unmeasured, "schema", lambda: apath(aid(1), "carol")),
    "far-future": (lambda: {apath(aid(1), "carol"): doc(attestation(
        "carol", aid(1), created_at=int(time.time()) + 3 * 86400))},
        "rollback", lambda: apath(aid(1), "carol")),
}


@pytest.mark.parametrize("make,rule,path", list(BAD.values()), ids=list(BAD))
def test_bad_attestation_refused(srv: Server, make: Any, rule: str, path: Any) -> None:
    sha = commit(srv.work, make())
    refused(srv, sha, rule, path())


def test_rollback_and_replay_of_the_same_version(srv: Server) -> None:
    older = doc(attestation("carol", aid(1)))
    accepted(srv, {apath(aid(1), "carol"): doc(attestation("carol", aid(1), created_at=T0 + 50))})
    sha = commit(srv.work, {apath(aid(1), "carol"): older})
    lines = refused(srv, sha, "rollback", apath(aid(1), "carol"))
    assert "not later than the previous version's" in lines[0]
    reset(srv)
    accepted(srv, {apath(aid(1), "carol"): doc(attestation("carol", aid(1), revoked=True,
                                                           created_at=T0 + 60))})
    sha = commit(srv.work, {apath(aid(1), "carol"): older})  # un-revoke by replay
    refused(srv, sha, "rollback", apath(aid(1), "carol"))


def test_deletion_refused_and_tombstoned_agent_takes_none(srv: Server) -> None:
    accepted(srv, {apath(aid(1), "carol"): doc(attestation("carol", aid(1)))})
    sha = commit(srv.work, {apath(aid(1), "carol"): None})
    refused(srv, sha, "deletion", apath(aid(1), "carol"))
    reset(srv)
    accepted(srv, {mpath(1): None, layout.agent_path(aid(1), "tombstone.json"):
                   doc(tombstone("alice", aid(1)))})
    sha = commit(srv.work, {apath(aid(1), "carol"): doc(attestation("carol", aid(1)))})
    refused(srv, sha, "deletion", apath(aid(1), "carol"))


def test_stale_count_in_shard_refused(srv: Server) -> None:
    """The shard entry's count is part of the index the server rebuilds."""
    sha = commit_raw(srv.work, {apath(aid(1), "carol"): doc(attestation("carol", aid(1)))},
                     "count not updated")
    refused(srv, sha, "index")


def test_policy_allowlist_and_size(srv: Server) -> None:
    policy = identity("server", version=2, publish="allowlist",
                      publishers=[key("alice").did, key("bob").did, key("dave").did],
                      max_manifest_bytes=1200)
    accepted(srv, {layout.IDENTITY: doc(policy)})
    sha = commit(srv.work, {apath(aid(1), "carol"): doc(attestation("carol", aid(1)))})
    lines = refused(srv, sha, "policy", apath(aid(1), "carol"))
    assert any("allowlist" in line for line in lines)
    reset(srv)
    accepted(srv, {layout.IDENTITY: doc(policy)})
    big = attestation("dave", aid(1), method={"suite": "s" * 900, "evals_sha256": "1" * 64})
    sha = commit(srv.work, {apath(aid(1), "dave"): doc(big)})
    lines = refused(srv, sha, "policy", apath(aid(1), "dave"))
    assert any("max_manifest_bytes 1200" in line for line in lines)


def test_readers_audit_finds_what_a_hookless_mirror_let_in(srv: Server, tmp_path: Any) -> None:
    """A mirror without the hook takes alice's self-attestation and a copy of carol's onto
    bob's agent; `git elite verify` (the streaming audit) and `--history` name both."""
    from tests.conftest import run_cli
    from tests.helpers_attacks import mirror_of

    accepted(srv, {apath(aid(1), "carol"): doc(attestation("carol", aid(1)))})
    mirror, clone = mirror_of(srv, tmp_path)
    commit(clone, {apath(aid(1), "alice"): doc(attestation("alice", aid(1))),
                   apath(aid(2), "carol"): doc(attestation("carol", aid(1)))})
    git("push", "-q", "origin", "HEAD:main", cwd=clone)
    for extra in ((), ("--history",)):
        proc = run_cli("verify", "--json", f"file://{mirror}", *extra, check=1)
        found = {(p["rule"], p["path"]) for p in json.loads(proc.stdout)["problems"]}
        assert ("ownership", apath(aid(1), "alice")) in found, found
        assert ("binding", apath(aid(2), "carol")) in found, found
    run_cli("verify", str(srv.bare))


def test_client_pre_commit_counts_the_attestation(srv: Server) -> None:
    """An attestation committed with the client hooks (installed by `init`): pre-commit
    rebuilds the shard with the new count, and the server accepts the push as it is."""
    from tests.helpers_registry import push, write_files

    write_files(srv.work, {apath(aid(1), "carol"): doc(attestation("carol", aid(1)))})
    git("add", "-A", ".", cwd=srv.work)
    git("commit", "-q", "-m", "carol attests agent 1", cwd=srv.work)
    shard = json.loads((srv.work / layout.shard_path(aid(1)[:2])).read_bytes())
    assert shard["agents"][aid(1)]["attestations"] == 1
    assert push(srv.work).returncode == 0
    assert shard_count(srv, aid(1)) == 1
