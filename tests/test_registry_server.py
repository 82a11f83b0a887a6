"""The server hook refuses every attack of SPEC §7 through a real `git push`, and lets honest
pushes in. One bare server per test module; each test starts from its recorded tip."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from git_elite.core import documents, layout
from tests.conftest import git, run_cli
from tests.helpers_registry import (
    T0,
    agent_files,
    agent_id_of,
    commit_raw,
    endorsement,
    identity,
    isolated_module_env,
    key,
    make_server,
    manifest,
    nid,
    profile,
    push,
    rotation,
    tombstone,
)

Files = dict[str, bytes | None]


def aid(n: int) -> str:
    return agent_id_of(profile(n))


def mpath(n: int) -> str:
    return layout.agent_path(aid(n), "manifest.json")


def doc(body: dict[str, object]) -> bytes:
    return documents.to_bytes(body)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    tmp = tmp_path_factory.mktemp("server")
    with isolated_module_env(tmp):
        work, bare = make_server(tmp)
        change(work, {**agent_files("alice", 1), **agent_files("bob", 2)})
        assert push(work).returncode == 0
        tip = git("rev-parse", "HEAD", cwd=work).stdout.strip()
        yield work, bare, tip


@pytest.fixture
def work(server: tuple[Path, Path, str]) -> Path:
    """The shared clone, reset (with its server) to the module's starting tip."""
    work, bare, tip = server
    git("update-ref", "refs/heads/main", tip, cwd=bare)
    git("config", "--unset-all", "elite.allowOtherRefs", cwd=bare, check=False)
    for ref in git("for-each-ref", "--format=%(refname)", cwd=bare).stdout.split():
        if ref != "refs/heads/main":
            git("update-ref", "-d", ref, cwd=bare)
    git("fetch", "-q", "--prune", "origin", cwd=work)
    git("reset", "-q", "--hard", tip, cwd=work)
    git("clean", "-qfdx", cwd=work)
    return work


def rejects(result: object) -> list[str]:
    stderr = getattr(result, "stderr", "")
    return [line for line in stderr.splitlines() if "git-elite: REJECT" in line]


def change(work: Path, files: Files, *, index: bool = True) -> str:
    return commit_raw(work, files, index=index)


def accept(work: Path, files: Files) -> None:
    change(work, files)
    result = push(work)
    assert result.returncode == 0, result.stderr


# --- one bad commit each: the exact rule in the REJECT line ---------------------------------
def _new(owner: str, n: int, **kw: object) -> Files:
    return dict(agent_files(owner, n, **kw))


def forged() -> Files:
    body = manifest("alice", profile(3))
    body["metrics"]["success_rate"] = 0.99  # type: ignore[index]
    return {mpath(3): doc(body), layout.agent_path(aid(3), "profile.json"): doc(profile(3))}


def unsigned() -> Files:
    body = manifest("alice", profile(3))
    del body["signature_ed25519"]
    return {mpath(3): doc(body), layout.agent_path(aid(3), "profile.json"): doc(profile(3))}


def wrong_agent_id() -> Files:
    return {mpath(4): doc(manifest("alice", profile(3))),
            layout.agent_path(aid(4), "profile.json"): doc(profile(4))}


def profile_not_preimage() -> Files:
    return {mpath(3): doc(manifest("alice", profile(3))),
            layout.agent_path(aid(3), "profile.json"): doc(profile(3, module="Predict"))}


def prompt_mismatch() -> Files:
    return {layout.agent_path(aid(1), "prompt.md"): b"not the fingerprinted prompt\n"}


def hijack() -> Files:
    return {mpath(1): doc(manifest("mallory", profile(1), created_at=T0 + 10))}


def rollback() -> Files:
    return {mpath(1): doc(manifest("alice", profile(1), created_at=T0 - 10))}


def replay_same_time() -> Files:
    return {mpath(1): doc(manifest("alice", profile(1), rate=0.95))}


def window_rollback() -> Files:
    body = manifest("alice", profile(1), created_at=T0 + 10,
                    eval_window={"from_ts": T0 - 6000, "to_ts": T0 - 5000})
    return {mpath(1): doc(body)}


def delete_without_tombstone() -> Files:
    return {mpath(1): None}


def tombstone_by_other() -> Files:
    return {mpath(1): None,
            layout.agent_path(aid(1), "tombstone.json"): doc(tombstone("bob", aid(1)))}


def tombstone_older_than_manifest() -> Files:
    return {mpath(1): None,
            layout.agent_path(aid(1), "tombstone.json"): doc(tombstone("alice", aid(1), T0 - 1))}


def secret_pem() -> Files:
    return {"README.md": b"oops\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n"}


def secret_identity() -> Files:
    return {"LICENSE": json.dumps({"did": key("alice").did, "secretKeyBase58": "x"}).encode()}


def junk_path() -> Files:
    return {"notes.txt": b"hello\n"}


def junk_in_agent_dir() -> Files:
    return {layout.agent_path(aid(1), "extra.json"): b"{}\n"}


def duplicate_key() -> Files:
    raw = doc(manifest("alice", profile(1), created_at=T0 + 10))
    return {mpath(1): raw.replace(b'{\n', b'{\n  "created_at": 1,\n', 1)}


def oversize() -> Files:
    return {mpath(1): doc(manifest("alice", profile(1), created_at=T0 + 10,
                                   padding="x" * 70_000))}


def identity_wrong_signer() -> Files:
    return {layout.IDENTITY: doc(identity(version=2, signers=("eve",)))}


def identity_skipped_version() -> Files:
    return {layout.IDENTITY: doc(identity(version=3))}


def identity_deleted() -> Files:
    return {layout.IDENTITY: None}


def endorsement_path_mismatch() -> Files:
    return {layout.endorsement_path(nid("alice"), nid("carol")): doc(endorsement("alice", "bob"))}


def rotation_path_mismatch() -> Files:
    return {layout.rotation_path(nid("bob")): doc(rotation("alice", "rotated"))}


CASES: list[tuple[str, Callable[[], Files], str]] = [
    ("forged", forged, "signature"),
    ("unsigned", unsigned, "signature"),
    ("wrong-agent-id", wrong_agent_id, "binding"),
    ("profile-not-preimage", profile_not_preimage, "binding"),
    ("prompt-fingerprint", prompt_mismatch, "binding"),
    ("hijack", hijack, "ownership"),
    ("rollback", rollback, "rollback"),
    ("replay-same-created-at", replay_same_time, "rollback"),
    ("eval-window-rollback", window_rollback, "rollback"),
    ("delete-without-tombstone", delete_without_tombstone, "deletion"),
    ("tombstone-by-other-key", tombstone_by_other, "ownership"),
    ("tombstone-older-than-manifest", tombstone_older_than_manifest, "rollback"),
    ("secret-openssh", secret_pem, "secret"),
    ("secret-identity-json", secret_identity, "secret"),
    ("junk-path", junk_path, "layout"),
    ("junk-in-agent-dir", junk_in_agent_dir, "layout"),
    ("duplicate-key", duplicate_key, "json"),
    ("oversize", oversize, "json"),
    ("identity-wrong-signer", identity_wrong_signer, "identity"),
    ("identity-skipped-version", identity_skipped_version, "identity"),
    ("identity-deleted", identity_deleted, "identity"),
    ("endorsement-path-mismatch", endorsement_path_mismatch, "binding"),
    ("rotation-path-mismatch", rotation_path_mismatch, "binding"),
]


@pytest.mark.parametrize(("build", "rule"), [pytest.param(b, r, id=i) for i, b, r in CASES])
def test_push_refused(work: Path, build: Callable[[], Files], rule: str) -> None:
    sha = change(work, build())
    result = push(work)
    assert result.returncode != 0
    lines = rejects(result)
    assert any(f"REJECT {sha[:7]} " in line and f"[{rule}]" in line for line in lines), \
        result.stderr
    assert "push refused" in result.stderr


def test_stale_index(work: Path) -> None:
    sha = change(work, _new("carol", 3), index=False)
    lines = rejects(push(work))
    # the head, the shard the new agent belongs in, and ranked.json (it ranks the agent)
    assert len(lines) == 3, lines
    assert f"REJECT {sha[:7]} INDEX.json: [index]" in lines[0]
    assert "agent_count" in lines[0]
    assert f"REJECT {sha[:7]} index/" in lines[1] and "is missing" in lines[1]
    assert f"REJECT {sha[:7]} index/ranked.json: [index]" in lines[2]


def test_honest_push_accepted_and_verified(work: Path) -> None:
    accept(work, _new("carol", 3))
    accept(work, {mpath(1): doc(manifest("alice", profile(1), created_at=T0 + 5))})
    accept(work, {layout.endorsement_path(nid("alice"), nid("bob")): doc(endorsement("alice",
                                                                                    "bob"))})
    assert run_cli("verify", "--history", cwd=work).returncode == 0


def test_several_problems_listed(work: Path) -> None:
    files = {**hijack(), **junk_path(), **secret_pem()}
    change(work, files)
    lines = rejects(push(work))
    rules = {r for r in ("ownership", "layout", "secret") if any(f"[{r}]" in x for x in lines)}
    assert rules == {"ownership", "layout", "secret"}


def test_bad_commit_hidden_under_good(work: Path) -> None:
    bad = change(work, hijack())
    change(work, _new("carol", 3))
    result = push(work)
    lines = rejects(result)
    assert result.returncode != 0
    assert any(f"REJECT {bad[:7]} " in x and "[ownership]" in x for x in lines), result.stderr


def test_non_fast_forward(work: Path) -> None:
    accept(work, _new("carol", 3))
    git("reset", "-q", "--hard", "HEAD~1", cwd=work)
    change(work, _new("dave", 4))
    result = push(work, force=True)
    assert any("[non-fast-forward]" in x for x in rejects(result)), result.stderr


def test_branch_deletion(work: Path) -> None:
    result = push(work, ":main")
    assert any("refs/heads/main: [branch]" in x for x in rejects(result)), result.stderr


def test_other_refs(work: Path, server: tuple[Path, Path, str]) -> None:
    result = push(work, "HEAD:refs/heads/feature")
    assert any("refs/heads/feature: [branch]" in x for x in rejects(result)), result.stderr
    git("config", "elite.allowOtherRefs", "true", cwd=server[1])
    assert push(work, "HEAD:refs/heads/feature").returncode == 0


def test_tombstone_is_final(work: Path) -> None:
    stone = layout.agent_path(aid(1), "tombstone.json")
    accept(work, {mpath(1): None, stone: doc(tombstone("alice", aid(1)))})
    change(work, {mpath(1): doc(manifest("alice", profile(1), created_at=T0 + 500))})
    assert any("[deletion]" in x for x in rejects(push(work)))
    git("reset", "-q", "--hard", "origin/main", cwd=work)
    change(work, {stone: None})
    assert any("[deletion]" in x for x in rejects(push(work)))


def test_key_rotation(work: Path) -> None:
    accept(work, {layout.rotation_path(nid("alice")): doc(rotation("alice", "rotated"))})
    change(work, {mpath(1): doc(manifest("alice", profile(1), created_at=T0 + 10))})
    lines = rejects(push(work))
    assert any("[ownership]" in x and "rotated" in x for x in lines), lines
    git("reset", "-q", "--hard", "origin/main", cwd=work)
    body = manifest("alice", profile(1), created_at=T0 + 10, sign_as="rotated",
                    owner_did=key("rotated").did)
    body = documents.sign({k: v for k, v in body.items() if k != "signature_ed25519"},
                          key("rotated"))
    accept(work, {mpath(1): doc(body)})
    change(work, _new("alice", 5))
    assert any("[ownership]" in x for x in rejects(push(work)))


def test_identity_bump_to_allowlist(work: Path) -> None:
    bumped = identity(version=2, publish="allowlist", publishers=[key("alice").did],
                      min_total_tasks=10)
    accept(work, {layout.IDENTITY: doc(bumped)})
    change(work, _new("bob", 6))
    lines = rejects(push(work))
    assert any("[policy]" in x and "allowlist" in x for x in lines), lines
    git("reset", "-q", "--hard", "origin/main", cwd=work)
    change(work, _new("alice", 7, total=5, recent=1))
    assert any("[policy]" in x and "min_total_tasks" in x for x in rejects(push(work)))
    git("reset", "-q", "--hard", "origin/main", cwd=work)
    accept(work, _new("alice", 8))
