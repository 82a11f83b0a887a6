"""The attack catalogue of docs/threat-model.md, one test per row, through real `git push`es
into a bare server with `git elite hooks install --server`, real `git elite verify` runs on
mirrors and real `git elite trust explain`. Each refused attack asserts the exact rule id in
the `git-elite: REJECT <commit> <path>: [<rule>] …` line and that the server's branch did not
move. Tests named `*_not_defended` show a documented gap: they pass while the gap exists.
Rows 5 and 7 (freeze, withholding) are detected for registries that declare a timestamp role
(tests/test_freshness.py has the rest: rollback, planted and refused timestamps)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from git_elite.core import canonical, documents, keys, layout
from tests.conftest import ROOT, git, run_cli
from tests.helpers_attacks import (
    Server,
    accepted,
    aid,
    commit,
    doc,
    head,
    mirror_of,
    mpath,
    ppath,
    refused,
    rejects,
    reset,
)
from tests.helpers_freshness import honest_push, stamped_server
from tests.helpers_freshness import mirror as stamped_mirror
from tests.helpers_registry import (
    T0,
    agent_files,
    endorsement,
    identity,
    key,
    manifest,
    nid,
    profile,
    push,
    rotation,
    tombstone,
)

ATTACKS = ROOT / "fixtures" / "attacks"
CASES: dict[str, dict[str, str]] = json.loads((ATTACKS / "cases.json").read_text())
# The registry engine reports a document without its signature field as [signature] (the
# standalone `documents.check` of tests/test_properties_core.py says [schema]).
PUSH_RULE = {"unsigned": "signature"}


def stone(n: int, owner: str = "alice", created_at: int = T0 + 100) -> dict[str, bytes | None]:
    return {mpath(n): None,
            layout.agent_path(aid(n), "tombstone.json"): doc(tombstone(owner, aid(n),
                                                                       created_at))}


# 1 arbitrary software ------------------------------------------------------------------------
def _forged_metrics() -> dict[str, bytes | None]:
    body = manifest("alice", profile(1), created_at=T0 + 10)
    body["metrics"]["success_rate"] = 0.99
    return {mpath(1): doc(body)}


def _owner_swapped() -> dict[str, bytes | None]:
    body = manifest("mallory", profile(3))
    return {mpath(3): doc({**body, "owner_did": key("alice").did}), ppath(3): doc(profile(3))}


def _other_prompt() -> dict[str, bytes | None]:
    body = manifest("alice", profile(3), system_prompt_fingerprint="sha256:" + "0" * 64)
    return {mpath(3): doc(body), ppath(3): doc(profile(3))}


@pytest.mark.parametrize(("build", "rule", "n"), [
    pytest.param(_forged_metrics, "signature", 1, id="metrics-altered-after-signing"),
    pytest.param(_owner_swapped, "signature", 3, id="signed-by-mallory-claims-alice"),
    pytest.param(_other_prompt, "binding", 3, id="prompt-fingerprint-not-the-profile's"),
])
def test_arbitrary_software(srv: Server, build: object, rule: str, n: int) -> None:
    assert callable(build)
    sha = commit(srv.work, build())
    refused(srv, sha, rule, mpath(n))


# 2 rollback, non-fast-forward, branch deletion, history replaced by a merge ----------------
def test_rollback(srv: Server) -> None:
    sha = commit(srv.work, {mpath(1): doc(manifest("alice", profile(1), created_at=T0 - 10))})
    lines = refused(srv, sha, "rollback", mpath(1))
    assert "not later than the previous version's" in lines[0]
    reset(srv)
    window = {"from_ts": T0 - 9000, "to_ts": T0 - 5000}
    sha = commit(srv.work, {mpath(1): doc(manifest("alice", profile(1), created_at=T0 + 10,
                                                   eval_window=window))})
    refused(srv, sha, "rollback", mpath(1))


def test_non_fast_forward(srv: Server) -> None:
    accepted(srv, agent_files("carol", 3))
    git("reset", "-q", "--hard", "HEAD~1", cwd=srv.work)
    sha = commit(srv.work, agent_files("dave", 4))
    refused(srv, sha, "non-fast-forward", "refs/heads/main", force=True)


def test_branch_deletion(srv: Server) -> None:
    result = push(srv.work, ":main")
    refused(srv, srv.tip, "branch", "refs/heads/main", result=result)


def _unrelated_history(srv: Server, tmp: Path) -> str:
    """mallory's own registry, whose IDENTITY.json names mallory and whose agent 1 (alice's
    agent_id on the server) is owned by mallory; fetched into the work tree."""
    fake = tmp / "fake"
    git("init", "-q", str(fake))
    files = {layout.IDENTITY: doc(identity("mallory")),
             ".gitattributes": layout.GITATTRIBUTES.encode(),
             **agent_files("mallory", 1, created_at=T0 + 5)}
    sha = commit(fake, files)
    git("fetch", "-q", str(fake), "main", cwd=srv.work)
    return sha


def test_history_replaced_by_fast_forward_merge(srv: Server, tmp_path: Path) -> None:
    """A merge whose first parent is another history and whose second parent is the tip is a
    fast-forward for git, but takes the registry over (found and fixed by this work: merges
    are now checked against every parent)."""
    fake = _unrelated_history(srv, tmp_path)
    git("reset", "-q", "--hard", fake, cwd=srv.work)
    git("-c", "core.hooksPath=/dev/null", "merge", "-q", "-s", "ours",
        "--allow-unrelated-histories", "-m", "merge", srv.tip, cwd=srv.work)
    merge = head(srv.work)
    lines = refused(srv, merge, "identity", layout.IDENTITY)
    assert any(f"{mpath(1)}: [ownership]" in x and "hijack" in x for x in lines), lines
    mirror, _ = mirror_of(srv, tmp_path)
    git("push", "-q", str(mirror), "HEAD:main", cwd=srv.work)
    audit = run_cli("verify", "--history", str(mirror), check=1)
    assert f"{merge[:7]} IDENTITY.json: [identity]" in audit.stdout


def test_honest_merge_of_a_concurrent_push_accepted(srv: Server, tmp_path: Path) -> None:
    other = tmp_path / "other"
    git("clone", "-q", str(srv.bare), str(other))
    commit(other, agent_files("carol", 3))
    assert push(other).returncode == 0
    commit(srv.work, agent_files("dave", 4))
    git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main", cwd=srv.work,
        env={"GIT_CONFIG_PARAMETERS": "'core.hooksPath'='/dev/null'"})
    (srv.work / layout.INDEX).write_bytes(git("show", "HEAD:INDEX.json", cwd=srv.work)
                                          .stdout.encode())
    run_cli("index", cwd=srv.work)
    git("commit", "-q", "--amend", "-a", "--no-edit", "--no-verify", cwd=srv.work)
    result = push(srv.work)
    assert result.returncode == 0, result.stderr
    run_cli("verify", "--history", cwd=srv.bare)


# 3 replay --------------------------------------------------------------------------------------
def test_replay_old_manifest(srv: Server) -> None:
    old = (srv.work / mpath(1)).read_bytes()
    accepted(srv, {mpath(1): doc(manifest("alice", profile(1), created_at=T0 + 10))})
    sha = commit(srv.work, {mpath(1): old})
    refused(srv, sha, "rollback", mpath(1))
    reset(srv)
    sha = commit(srv.work, {mpath(3): old, ppath(3): doc(profile(3))})
    refused(srv, sha, "binding", mpath(3))


def test_replay_after_tombstone(srv: Server) -> None:
    newer = doc(manifest("alice", profile(1), created_at=T0 + 500))
    accepted(srv, stone(1))
    run_cli("verify", str(srv.bare))  # a withdrawn agent is a valid tree (no false alarm)
    sha = commit(srv.work, {mpath(1): newer})
    refused(srv, sha, "deletion", mpath(1))


def test_respelled_manifest(srv: Server) -> None:
    """The same signed value in other bytes (compact JSON) is a new file version without a
    newer created_at: refused as a replay, so manifest_sha256 cannot be flipped at will."""
    body = json.loads((srv.work / mpath(1)).read_bytes())
    compact = json.dumps(body, separators=(",", ":")).encode()
    assert documents.check(compact, mpath(1), documents.MANIFEST)[1] == []
    sha = commit(srv.work, {mpath(1): compact})
    refused(srv, sha, "rollback", mpath(1))


# 4 fast-forward attack: NOT DEFENDED ----------------------------------------------------------
def test_fast_forward_created_at(srv: Server) -> None:
    """A (stolen) owner key signs created_at = 2^53-1, or a day and an hour ahead of the
    server's clock, to block every later honest update: refused as `[rollback]` by the
    server's clock (elite.maxClockSkew, default 1 day). Within the skew it is accepted, and
    the next honest update still goes in."""
    now = int(time.time())
    for far in (2**53 - 1, now + 86400 + 3600):
        sha = commit(srv.work, {mpath(1): doc(manifest("alice", profile(1), created_at=far))})
        lines = refused(srv, sha, "rollback", mpath(1))
        assert any("clock skew" in line for line in lines), lines
        reset(srv)
    accepted(srv, {mpath(1): doc(manifest("alice", profile(1), created_at=now + 3600))})
    accepted(srv, {mpath(1): doc(manifest("alice", profile(1), created_at=now + 3601))})


def test_fast_forward_bound_is_configurable(srv: Server) -> None:
    sha = commit(srv.work, {mpath(1): doc(manifest("alice", profile(1),
                                                   created_at=int(time.time()) + 3600))})
    git("config", "elite.maxClockSkew", "60", cwd=srv.bare)
    try:
        refused(srv, sha, "rollback", mpath(1))
    finally:
        git("config", "--unset", "elite.maxClockSkew", cwd=srv.bare)


# 5 indefinite freeze (defended for registries that declare a timestamp role) ------------------
def test_indefinite_freeze(tmp_path: Path) -> None:
    """A mirror (a second bare repository its operator controls) copied everything, branch
    and refs/elite/timestamp, and stopped. Alice withdraws agent 1 on the server, which
    re-signs. Once the mirror's copy of the timestamp expires, every reader refuses the
    mirror (`[timestamp] freeze`, with the dates), or warns with --allow-stale."""
    srv = stamped_server(tmp_path, expires=3)
    frozen = stamped_mirror(srv, tmp_path)
    honest_push(srv, stone(1))
    run_cli("timestamp", "--expires", "3600", cwd=srv.bare)  # the operator's cron
    assert git("ls-tree", "main", mpath(1), cwd=frozen).stdout, "the mirror still has it"
    time.sleep(max(0.0, _expires_at(frozen) - time.time()) + 1.1)
    found = run_cli("verify", "--history", f"file://{frozen}", check=1)
    assert "[timestamp] freeze: the timestamp expired" in found.stdout, found.stdout
    assert " signed " in found.stdout and "; now " in found.stdout
    listed = run_cli("discover", "--registry", f"file://{frozen}", check=1)
    assert "[timestamp] freeze" in listed.stderr and not listed.stdout
    stale = run_cli("discover", "--registry", f"file://{frozen}", "--allow-stale")
    assert "warning:" in stale.stderr and "freeze" in stale.stderr
    assert aid(1)[:12] in stale.stdout  # shown anyway, as asked
    assert "signed fresh until" in run_cli("verify", f"file://{srv.bare}").stderr


def test_indefinite_freeze_without_timestamp_role_not_defended(srv: Server,
                                                               tmp_path: Path) -> None:
    """Gap left on purpose: a registry that declares no timestamp role (this one) gets no
    freshness. A mirror frozen before alice withdrew agent 1 keeps serving it, and
    `git elite verify` finds nothing wrong with the frozen copy."""
    mirror, _ = mirror_of(srv, tmp_path)
    accepted(srv, stone(1))
    assert git("ls-tree", "main", mpath(1), cwd=mirror).stdout, "the mirror still has it"
    assert not git("ls-tree", "main", mpath(1), cwd=srv.bare).stdout
    fresh = run_cli("verify", "--history", f"file://{mirror}", check=0)
    assert "OK" in fresh.stderr


def _expires_at(repo: Path) -> int:
    raw = git("cat-file", "blob", "refs/elite/timestamp:timestamp.json", cwd=repo).stdout
    return int(json.loads(raw)["expires_at"])


# 6 endless data / 19 DoS -----------------------------------------------------------------------
def _hostile(name: str) -> bytes:
    return (ATTACKS / CASES[name]["file"]).read_bytes()


def test_endless_data(srv: Server) -> None:
    big = doc(manifest("alice", profile(1), created_at=T0 + 10, padding="x" * 70_000))
    sha = commit(srv.work, {mpath(1): big, "agents/junk.bin": b"\0" * 200_000})
    lines = refused(srv, sha, "json", mpath(1))
    assert any("agents/junk.bin: [layout]" in x for x in lines), lines


def test_huge_document(srv: Server) -> None:
    sha = commit(srv.work, {CASES["huge-65537-bytes"]["path"]: _hostile("huge-65537-bytes")})
    refused(srv, sha, "json", CASES["huge-65537-bytes"]["path"])


def test_deep_document(srv: Server) -> None:
    sha = commit(srv.work, {CASES["deep-5000"]["path"]: _hostile("deep-5000")})
    lines = refused(srv, sha, "json", CASES["deep-5000"]["path"])
    assert not any("Traceback" in x for x in lines)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_fixture_pushed(srv: Server, name: str) -> None:
    """Every document of fixtures/attacks/ through a real push, refused for its rule. There is
    no profile.json whose hash is the fixtures' agent_id, so every push also fails for that
    ([binding] on profile.json); the rules reported for manifest.json itself are exactly the
    expected one, and none for the controls ("ok")."""
    case = CASES[name]
    sha = commit(srv.work, {case["path"]: _hostile(name)})
    result = push(srv.work)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    rules = {line.split("[", 1)[1].split("]", 1)[0] for line in rejects(result)
             if f"REJECT {sha[:7]} {case['path']}: " in line}
    assert rules == (set() if case["expect"] == "ok"
                     else {PUSH_RULE.get(name, case["expect"])}), result.stderr
    assert head(srv.bare, "main") == srv.tip


# 7 malicious mirrors ---------------------------------------------------------------------------
def _mirror_commit(mirror: Path, clone: Path, files: dict[str, bytes | None],
                   index: bool = True) -> str:
    sha = commit(clone, files) if index else _raw(clone, files)
    git("push", "-q", "origin", "HEAD:main", cwd=clone)
    assert head(mirror, "main") == sha
    return sha


def _raw(clone: Path, files: dict[str, bytes | None]) -> str:
    from tests.helpers_registry import commit_raw

    return commit_raw(clone, files, "mirror edit")


def test_withholding(tmp_path: Path) -> None:
    """A mirror serves the current timestamp with a branch that lacks the newest commit (the
    tombstone of agent 1): the signed tip is not in what it serves. verify, discover and
    import all refuse it (`[timestamp] withholding`)."""
    srv = stamped_server(tmp_path)
    honest_push(srv, stone(1))
    shady = stamped_mirror(srv, tmp_path)
    git("update-ref", "refs/heads/main", head(shady, "main~1"), cwd=shady)
    assert git("ls-tree", "main", mpath(1), cwd=shady).stdout, "the withdrawn agent is back"
    found = run_cli("verify", f"file://{shady}", check=1)
    assert "[timestamp] withholding: the branch tip" in found.stdout, found.stdout
    listed = run_cli("discover", "--registry", f"file://{shady}", check=1)
    assert "withholding" in listed.stderr and not listed.stdout
    imported = run_cli("import", aid(1), "--registry", f"file://{shady}", "--allow-untrusted",
                       check=1)
    assert "withholding" in imported.stderr


def test_malicious_mirror_altered_manifest(srv: Server, tmp_path: Path) -> None:
    mirror, clone = mirror_of(srv, tmp_path)
    body = json.loads((clone / mpath(1)).read_bytes())
    body["metrics"]["success_rate"] = 0.999
    sha = _mirror_commit(mirror, clone, {mpath(1): doc(body)})
    for args in ((f"file://{mirror}",), ("--history", str(mirror))):
        audit = run_cli("verify", "--json", *args, check=1)
        problems = json.loads(audit.stdout)["problems"]
        assert {"rule": "signature", "path": mpath(1), "commit": sha} in [
            {k: p[k] for k in ("rule", "path", "commit")} for p in problems], problems


def test_malicious_mirror_altered_index(srv: Server, tmp_path: Path) -> None:
    mirror, clone = mirror_of(srv, tmp_path)
    import hashlib

    from git_elite.core import indexing

    head = json.loads((clone / layout.INDEX).read_bytes())
    shard_path = layout.shard_path(aid(2)[:2])
    shard = json.loads((clone / shard_path).read_bytes())
    shard["agents"][aid(2)]["score_ppm"] = 999_999
    shard_raw = indexing.dumps(shard)
    head["shards"][aid(2)[:2]]["sha256"] = hashlib.sha256(shard_raw).hexdigest()
    head["rankings"]["general"] = [aid(2), aid(1)]
    sha = _mirror_commit(mirror, clone, {layout.INDEX: indexing.dumps(head),
                                         shard_path: shard_raw}, index=False)
    audit = run_cli("verify", "--json", str(mirror), check=1)
    problems = json.loads(audit.stdout)["problems"]
    assert sorted((p["rule"], p["path"], p["commit"]) for p in problems) == [
        ("index", layout.INDEX, sha), ("index", shard_path, sha)]
    assert "1 stale" in next(p["message"] for p in problems if p["path"] == shard_path)


# 8 mix-and-match -------------------------------------------------------------------------------
def test_mix_and_match_profile(srv: Server) -> None:
    alice1 = (srv.work / mpath(1)).read_bytes()
    sha = commit(srv.work, {mpath(3): alice1, ppath(3): doc(profile(3))})
    lines = refused(srv, sha, "binding", mpath(3))
    assert any("is not the directory's" in x for x in lines), lines
    reset(srv)
    sha = commit(srv.work, {ppath(1): (srv.work / ppath(2)).read_bytes()})
    refused(srv, sha, "binding", ppath(1))


def test_mix_and_match_endorsement_path(srv: Server) -> None:
    path = layout.endorsement_path(nid("alice"), nid("carol"))
    sha = commit(srv.work, {path: doc(endorsement("alice", "bob"))})
    refused(srv, sha, "binding", path)
    reset(srv)
    path = layout.rotation_path(nid("bob"))
    sha = commit(srv.work, {path: doc(rotation("alice", "rotated"))})
    refused(srv, sha, "binding", path)


# 9 key compromise of one publisher -------------------------------------------------------------
def test_compromised_key_after_rotation(srv: Server) -> None:
    accepted(srv, {layout.rotation_path(nid("alice")): doc(rotation("alice", "rotated"))})
    theft = {mpath(1): doc(manifest("alice", profile(1), created_at=T0 + 60)),
             **agent_files("alice", 5),
             layout.endorsement_path(nid("alice"), nid("mallory")):
                 doc(endorsement("alice", "mallory")),
             layout.rotation_path(nid("alice")): doc(rotation("alice", "mallory", T0 + 70))}
    sha = commit(srv.work, theft)
    lines = refused(srv, sha, "ownership", mpath(1))
    for path in (mpath(5), layout.endorsement_path(nid("alice"), nid("mallory")),
                 layout.rotation_path(nid("alice"))):
        assert any(f"{path}: [ownership]" in x for x in lines), (path, lines)
    reset(srv)
    body = manifest("rotated", profile(1), created_at=T0 + 60)
    accepted(srv, {layout.rotation_path(nid("alice")): doc(rotation("alice", "rotated")),
                   mpath(1): doc(body)})


def test_rotation_needs_both_keys(srv: Server) -> None:
    path = layout.rotation_path(nid("alice"))
    body: dict[str, object] = {"type": "key-rotation", "schema_version": 1,
                               "from": key("alice").did, "to": key("mallory").did,
                               "created_at": T0 + 50}
    message = documents.signing_input(documents.KEY_ROTATION, body)
    sig = {k: keys.encode_signature(key(k).sign(message)) for k in ("alice", "mallory")}
    for old, new in (("mallory", "mallory"), ("alice", "alice")):
        reset(srv)
        forged = {**body, "signature_ed25519": sig[old], "to_signature": sig[new]}
        sha = commit(srv.work, {path: doc(forged)})
        refused(srv, sha, "signature", path)


# 10 delegates' keys (threshold) ----------------------------------------------------------------
def _threshold_two(srv: Server) -> None:
    accepted(srv, {layout.IDENTITY: doc(identity(version=2, delegates=("server", "alice"),
                                                 threshold=2, signers=("server", "alice")))})


def test_identity_change_below_threshold(srv: Server) -> None:
    _threshold_two(srv)
    takeover = identity(version=3, delegates=("server", "alice"), threshold=2,
                        signers=("alice",), publish="allowlist",
                        publishers=[key("mallory").did])
    sha = commit(srv.work, {layout.IDENTITY: doc(takeover)})
    refused(srv, sha, "identity", layout.IDENTITY)
    reset(srv)
    _threshold_two(srv)
    doubled = {**takeover, "signatures": takeover["signatures"] * 2}
    sha = commit(srv.work, {layout.IDENTITY: doc(doubled)})
    lines = refused(srv, sha, "identity", layout.IDENTITY)
    assert any("1 valid signature(s)" in x for x in lines), lines


def test_identity_version_skip(srv: Server) -> None:
    _threshold_two(srv)
    skipped = identity(version=4, delegates=("server", "alice"), threshold=2,
                       signers=("server", "alice"))
    sha = commit(srv.work, {layout.IDENTITY: doc(skipped)})
    lines = refused(srv, sha, "identity", layout.IDENTITY)
    assert any("version 4 must be the previous version 2 + 1" in x for x in lines), lines


# 11 wrong role key -----------------------------------------------------------------------------
def test_wrong_role_key(srv: Server) -> None:
    """The registry's owner and sole delegate ("server") has no power over alice's agent."""
    sha = commit(srv.work, {mpath(1): doc(manifest("server", profile(1), created_at=T0 + 10))})
    refused(srv, sha, "ownership", mpath(1))
    reset(srv)
    sha = commit(srv.work, stone(1, owner="server"))
    refused(srv, sha, "ownership", layout.agent_path(aid(1), "tombstone.json"))
    reset(srv)
    sha = commit(srv.work, {mpath(1): doc(endorsement("alice", "bob", T0 + 10))})
    refused(srv, sha, "schema", mpath(1))


# 12 hijack -------------------------------------------------------------------------------------
def test_hijack_agent_id(srv: Server) -> None:
    sha = commit(srv.work, {mpath(1): doc(manifest("mallory", profile(1), created_at=T0 + 10))})
    lines = refused(srv, sha, "ownership", mpath(1))
    assert any("hijack" in x for x in lines)
    reset(srv)
    sha = commit(srv.work, stone(1, owner="mallory"))
    refused(srv, sha, "ownership", layout.agent_path(aid(1), "tombstone.json"))
    reset(srv)
    squat = layout.agent_path(aid(3), "tombstone.json")
    sha = commit(srv.work, {squat: doc(tombstone("mallory", aid(3)))})
    refused(srv, sha, "deletion", squat)
    reset(srv)
    upper = f"agents/{aid(1).upper()}/manifest.json"
    sha = commit(srv.work, {upper: doc(manifest("mallory", profile(1), created_at=T0 + 10))})
    refused(srv, sha, "layout", upper)


def test_delete_without_tombstone(srv: Server) -> None:
    sha = commit(srv.work, {mpath(1): None})
    refused(srv, sha, "deletion", mpath(1))
    reset(srv)
    sha = commit(srv.work, {ppath(2): None})
    refused(srv, sha, "deletion", ppath(2))


# 13 trust-graph Sybils -------------------------------------------------------------------------
def test_trust_sybil_ring(srv: Server) -> None:
    ring = [("mallory", "eve"), ("eve", "dave"), ("dave", "mallory"), ("mallory", "carol")]
    files: dict[str, bytes | None] = {
        layout.endorsement_path(nid(a), nid(b)): doc(endorsement(a, b)) for a, b in ring}
    files[layout.endorsement_path(nid("alice"), nid("bob"))] = doc(endorsement("alice", "bob"))
    accepted(srv, files)
    from git_elite.edges import cache
    from git_elite.edges.known_registries import Registry

    cache.sync(Registry("origin", str(srv.bare)))
    run_cli("trust", "add", key("alice").did, "--alias", "alice")
    for name in ("mallory", "eve", "dave", "carol"):
        verdict = run_cli("trust", "explain", "--json", key(name).did, check=1)
        assert json.loads(verdict.stdout)["trusted"] is False, name
    chain = json.loads(run_cli("trust", "explain", "--json", key("bob").did).stdout)
    assert chain["path"] == [key("alice").did, key("bob").did]


# 14 secrets ------------------------------------------------------------------------------------
SECRETS: dict[str, dict[str, bytes | None]] = {
    "openssh-block-in-readme": {"README.md": b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n"},
    "pem-block-in-license": {"LICENSE": b"-----BEGIN EC PRIVATE KEY-----\nMHcC\n"},
    "identity-json-as-license": {"LICENSE": json.dumps({"secretKeyBase58": "x"}).encode()},
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_secret_pushed(srv: Server, name: str) -> None:
    files = SECRETS[name]
    sha = commit(srv.work, files)
    refused(srv, sha, "secret", next(iter(files)))


def test_secret_pushed_in_an_earlier_commit_then_removed(srv: Server) -> None:
    leak = commit(srv.work, SECRETS["identity-json-as-license"])
    commit(srv.work, {"LICENSE": b"MIT\n"})
    refused(srv, leak, "secret", "LICENSE")


def test_secret_in_manifest_field_and_client_commit(srv: Server) -> None:
    body = manifest("alice", profile(3), secretKeyBase58="not really")
    files = {mpath(3): doc(body), ppath(3): doc(profile(3))}
    sha = commit(srv.work, files)
    refused(srv, sha, "secret", mpath(3))
    reset(srv)
    run_cli("hooks", "install", cwd=srv.work)
    try:
        (srv.work / "README.md").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
        git("add", "README.md", cwd=srv.work)
        result = git("commit", "-qm", "leak", cwd=srv.work, check=False)
        assert result.returncode != 0
        assert "README.md: [secret]" in result.stderr, result.stderr
        assert head(srv.work) == srv.tip
    finally:
        run_cli("hooks", "uninstall", cwd=srv.work)


def test_index_value_not_bytes_matter() -> None:
    """Sanity for the respelled-manifest row: the compact spelling is the same JCS value."""
    body = manifest("alice", profile(1))
    compact = json.dumps(body, separators=(",", ":")).encode()
    assert canonical.canonicalize(json.loads(compact)) == canonical.canonicalize(body)
    assert compact != doc(body)


# free files (SPEC §4): .gitignore and .pre-commit-config.yaml allowed, 1 MiB cap ---------------
def test_pre_commit_config_and_gitignore_accepted(srv: Server) -> None:
    config = (b"repos:\n  - repo: local\n    hooks:\n      - id: git-elite-registry\n"
              b"        name: git elite\n        entry: git-elite hook pre-commit\n"
              b"        language: system\n        pass_filenames: false\n")
    accepted(srv, {".pre-commit-config.yaml": config, ".gitignore": b"*.tmp\n"})


def test_free_file_over_one_mib_refused(srv: Server) -> None:
    sha = commit(srv.work, {"README.md": b"x" * (layout.FREE_LIMIT + 1)})
    lines = refused(srv, sha, "json", "README.md")
    assert any("exceeds the limit" in line for line in lines), lines


def test_other_top_level_paths_still_refused(srv: Server) -> None:
    sha = commit(srv.work, {".github/workflows/ci.yml": b"on: push\n"})
    refused(srv, sha, "layout", ".github/workflows/ci.yml")
