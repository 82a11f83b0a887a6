"""Radicle formats (git_elite.core.radicle) and the storage checks of SPEC §11.

Storage is built by the test double in tests/radicle_fixtures.py (not Radicle)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from git_elite.core import radicle
from git_elite.core.errors import IdentityError
from git_elite.core.keys import Keypair, nid_from_did
from git_elite.edges import gitrad
from tests.conftest import SEEDS, git
from tests.radicle_fixtures import (
    FF_SEED,
    RadHome,
    RadRepo,
    identity_document,
    read_private_key,
    sign_namespace,
    write_object,
    write_tree,
)

HEARTWOOD_RID = "rad:z42hL2jL4XNk6K8oHQaSWfMgCL7ji"
# heartwood's `rad init --name heartwood --description "Radicle Heartwood Protocol & Stack"`
# with its test key (seed 32×0xff); `rad inspect --history` shows blob d96f4254….
HEARTWOOD_DOC = (
    b'{"delegates":["did:key:z6MknSLrJoTcukLrE435hVNQT4JUhbvWLX4kUzqkEStBU8Vi"],'
    b'"payload":{"xyz.radicle.project":{"defaultBranch":"master",'
    b'"description":"Radicle Heartwood Protocol & Stack","name":"heartwood"}},"threshold":1}')
ALICE, BOB, MALLORY = (Keypair.from_seed(bytes.fromhex(SEEDS[n])) for n in
                       ("alice", "bob", "mallory"))


def test_seed_ff_is_radicles_test_did() -> None:
    key = Keypair.from_seed(FF_SEED)
    assert key.did == "did:key:z6MknSLrJoTcukLrE435hVNQT4JUhbvWLX4kUzqkEStBU8Vi"


def test_heartwood_identity_document_hashes_to_its_rid() -> None:
    proc = subprocess.run(["git", "hash-object", "--stdin"], input=HEARTWOOD_DOC,
                          capture_output=True, check=True)
    assert proc.stdout.decode().strip() == "d96f425412c9f8ad5d9a9a05c9831d0728e2338d"
    assert radicle.blob_oid(HEARTWOOD_DOC) == "d96f425412c9f8ad5d9a9a05c9831d0728e2338d"
    assert radicle.rid_of_document(HEARTWOOD_DOC) == HEARTWOOD_RID
    doc = radicle.IdentityDoc.from_bytes(HEARTWOOD_DOC)
    assert (doc.name, doc.default_branch, doc.threshold) == ("heartwood", "master", 1)


def test_fixture_document_is_the_heartwood_bytes() -> None:
    built = identity_document([Keypair.from_seed(FF_SEED).did], "heartwood", "master",
                              "Radicle Heartwood Protocol & Stack")
    assert built == HEARTWOOD_DOC


def test_rid_round_trip_and_urls() -> None:
    raw = radicle.rid_bytes(HEARTWOOD_RID)
    assert raw.hex() == "d96f425412c9f8ad5d9a9a05c9831d0728e2338d"
    assert radicle.rid_from_bytes(raw) == HEARTWOOD_RID
    assert radicle.canonical_rid("z42hL2jL4XNk6K8oHQaSWfMgCL7ji") == HEARTWOOD_RID
    url = radicle.parse_url(f"rad://z42hL2jL4XNk6K8oHQaSWfMgCL7ji/{nid_from_did(ALICE.did)}")
    assert (url.rid, url.nid) == (HEARTWOOD_RID, nid_from_did(ALICE.did))
    assert str(url).startswith("rad://z42hL2jL4XNk6K8oHQaSWfMgCL7ji/z6Mk")
    assert radicle.parse_url("rad://z42hL2jL4XNk6K8oHQaSWfMgCL7ji").nid is None
    assert radicle.is_rad_url("rad://z42hL2jL4XNk6K8oHQaSWfMgCL7ji")
    assert not radicle.is_rad_url("https://example.invalid/r.git")


@pytest.mark.parametrize("url", [
    pytest.param("https://x/y", id="not-rad"),
    pytest.param("rad://42hL2jL4XNk6K8oHQaSWfMgCL7ji", id="no-multibase-z"),
    pytest.param("rad://z42hL2jL4XNk6K8oHQaSWfMgCL7", id="short-rid"),
    pytest.param("rad://z42hL2jL4XNk6K8oHQaSWfMgCL7j0", id="non-base58"),
    pytest.param("rad://z42hL2jL4XNk6K8oHQaSWfMgCL7ji/z6Mkbad", id="bad-nid"),
    pytest.param("rad://z42hL2jL4XNk6K8oHQaSWfMgCL7ji/a/b", id="extra-path"),
])
def test_bad_rad_urls(url: str) -> None:
    with pytest.raises(IdentityError):
        radicle.parse_url(url)


@pytest.mark.parametrize("raw,needle", [
    pytest.param(b'{"delegates":[],"threshold":1,"payload":{}}', "delegates", id="no-delegates"),
    pytest.param(b'{"delegates":["did:key:z6Mkx"],"threshold":1,"payload":{}}', "did:key",
                 id="bad-did"),
    pytest.param(HEARTWOOD_DOC.replace(b'"threshold":1', b'"threshold":2'), "threshold",
                 id="threshold-too-high"),
    pytest.param(HEARTWOOD_DOC.replace(b"xyz.radicle.project", b"xyz.other"), "payload",
                 id="no-project"),
])
def test_bad_identity_documents(raw: bytes, needle: str) -> None:
    with pytest.raises(IdentityError, match=needle):
        radicle.IdentityDoc.from_bytes(raw)


def test_refs_blob_parsing() -> None:
    refs = {"refs/heads/main": "a" * 40, "refs/rad/id": "b" * 40}
    blob = radicle.canonical_refs(refs)
    assert blob == f"{'a' * 40} refs/heads/main\n{'b' * 40} refs/rad/id\n".encode()
    assert radicle.parse_refs(blob + b"0" * 40 + b" refs/heads/gone\n") == refs
    with pytest.raises(IdentityError, match="line 1"):
        radicle.parse_refs(b"nonsense\n")


# --- storage ---------------------------------------------------------------------------

def make_source(tmp_path: Path, name: str = "src") -> Path:
    src = tmp_path / name
    git("init", "-q", "-b", "main", str(src))
    (src / "README.md").write_text("registry\n")
    git("add", "README.md", cwd=src)
    git("commit", "-q", "-m", "first", cwd=src)
    return src


@pytest.fixture()
def rad(tmp_path: Path) -> tuple[RadHome, RadRepo, Path]:
    home = RadHome(tmp_path / "rad")
    home.write_keys(bytes.fromhex(SEEDS["alice"]))
    src = make_source(tmp_path)
    return home, home.init_repo(src, [ALICE, BOB]), src


def tip_of(src: Path) -> str:
    return git("rev-parse", "main", cwd=src).stdout.strip()


def test_keys_written_like_rad_auth(rad: tuple[RadHome, RadRepo, Path], tmp_path: Path) -> None:
    home, _, _ = rad
    key_file = home.path / "keys" / "radicle"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert read_private_key(key_file).did == ALICE.did
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(key_file)], capture_output=True,
                             text=True, check=True).stdout.split()[:2]
    assert derived == (home.path / "keys" / "radicle.pub").read_text().split()[:2]
    locked = RadHome(tmp_path / "locked")
    locked.write_keys(FF_SEED, passphrase="secret")
    assert read_private_key(locked.path / "keys" / "radicle", "secret").did == \
        Keypair.from_seed(FF_SEED).did


def test_signed_tip_passes(rad: tuple[RadHome, RadRepo, Path]) -> None:
    _, repo, src = rad
    result = gitrad.check_storage(repo.storage, repo.rid, ALICE.did, None, tip_of(src))
    assert result.ok, result.messages
    assert result.checked and result.signed_tip == tip_of(src)
    assert result.signed_by == (ALICE.did,)
    assert result.delegates == (ALICE.did, BOB.did)
    assert any("has no signed refs" in note for note in result.notes)


def test_second_sigrefs_with_parent_line(rad: tuple[RadHome, RadRepo, Path]) -> None:
    _, repo, src = rad
    (src / "x").write_text("x\n")
    git("add", "x", cwd=src)
    git("commit", "-q", "-m", "second", cwd=src)
    repo.push(ALICE, src)
    assert b"refs/rad/sigrefs-parent" in git(
        "cat-file", "-p", f"refs/namespaces/{nid_from_did(ALICE.did)}/refs/rad/sigrefs:refs",
        cwd=repo.storage).stdout.encode()
    assert gitrad.check_storage(repo.storage, repo.rid, ALICE.did, "main", tip_of(src)).ok


def test_identity_update_keeps_root_binding(rad: tuple[RadHome, RadRepo, Path]) -> None:
    _, repo, src = rad
    doc = identity_document([ALICE.did, BOB.did, MALLORY.did], "chrysalis-elites", "main")
    repo.update_identity(ALICE, doc)
    result = gitrad.check_storage(repo.storage, repo.rid, MALLORY.did, None, tip_of(src))
    assert result.ok, result.messages
    assert MALLORY.did in result.delegates


def _forged(repo: RadRepo, src: Path) -> str:
    other = git("commit-tree", "-m", "forged", f"{tip_of(src)}^{{tree}}", "-p", tip_of(src),
                cwd=src).stdout.strip()
    git("push", "-q", str(repo.storage), f"{other}:refs/heads/forged", cwd=src)
    repo.forge_tip(nid_from_did(ALICE.did), other)
    return other


def _owner_not_delegate(repo: RadRepo, src: Path) -> tuple[str, str]:
    return MALLORY.did, tip_of(src)


def _wrong_rid(repo: RadRepo, src: Path) -> tuple[str, str]:
    tree = write_tree(repo.storage, {radicle.DOC_PATH: write_object(repo.storage, b"{}")})
    git("update-ref", "refs/rad/id", git("commit-tree", "-m", "x", tree,
                                         cwd=repo.storage).stdout.strip(), cwd=repo.storage)
    return ALICE.did, tip_of(src)


def _bad_signature(repo: RadRepo, src: Path) -> tuple[str, str]:
    nid = nid_from_did(ALICE.did)
    refs = git("cat-file", "-p", f"refs/namespaces/{nid}/refs/rad/sigrefs:refs",
               cwd=repo.storage).stdout.encode()
    blob = write_object(repo.storage, refs)
    tree = write_tree(repo.storage, {"refs": blob,
                                     "signature": write_object(repo.storage, MALLORY.sign(refs))})
    commit = git("commit-tree", "-m", "x", tree, cwd=repo.storage).stdout.strip()
    git("update-ref", f"refs/namespaces/{nid}/refs/rad/sigrefs", commit, cwd=repo.storage)
    return ALICE.did, tip_of(src)


def _wrong_root(repo: RadRepo, src: Path) -> tuple[str, str]:
    nid = nid_from_did(ALICE.did)
    git("update-ref", f"refs/namespaces/{nid}/refs/rad/root", tip_of(src), cwd=repo.storage)
    sign_namespace(repo.storage, ALICE)
    return ALICE.did, tip_of(src)


def _wrong_parent_line(repo: RadRepo, src: Path) -> tuple[str, str]:
    nid = nid_from_did(ALICE.did)
    git("update-ref", f"refs/namespaces/{nid}/refs/rad/sigrefs-parent", tip_of(src),
        cwd=repo.storage)
    sign_namespace(repo.storage, ALICE, parent_line=False)
    return ALICE.did, tip_of(src)


@pytest.mark.parametrize("damage,rule,needle", [
    pytest.param(lambda r, s: (ALICE.did, _forged(r, s)), "signature",
                 "not signed by any delegate", id="tip-no-delegate-signed"),
    pytest.param(_owner_not_delegate, "identity", "is not a delegate", id="owner-not-delegate"),
    pytest.param(_wrong_rid, "identity", "does not hash to", id="root-doc-not-rid"),
    pytest.param(_bad_signature, "signature", "does not verify", id="sigrefs-bad-signature"),
    pytest.param(_wrong_root, "identity", "is not the identity root", id="rad-root-mismatch"),
    pytest.param(_wrong_parent_line, "signature", "is not the parent",
                 id="sigrefs-parent-mismatch"),
])
def test_storage_problems(rad: tuple[RadHome, RadRepo, Path], damage: object, rule: str,
                          needle: str) -> None:
    _, repo, src = rad
    owner, tip = damage(repo, src)  # type: ignore[operator]
    result = gitrad.check_storage(repo.storage, repo.rid, owner, None, tip)
    assert result.checked and not result.ok
    assert any(p.rule == rule and needle in p.message for p in result.problems), result.messages


def test_extra_unsigned_refs_are_not_an_error(rad: tuple[RadHome, RadRepo, Path]) -> None:
    _, repo, src = rad
    git("update-ref", f"refs/namespaces/{nid_from_did(ALICE.did)}/refs/heads/extra",
        tip_of(src), cwd=repo.storage)
    assert gitrad.check_storage(repo.storage, repo.rid, ALICE.did, None, tip_of(src)).ok


def test_unreachable_storage_is_said_plainly(tmp_path: Path) -> None:
    result = gitrad.check_storage(tmp_path / "nope", HEARTWOOD_RID, ALICE.did, None, "a" * 40)
    assert not result.checked and not result.ok
    assert "not made" in result.messages[0]


def test_storage_for_worktree(rad: tuple[RadHome, RadRepo, Path], tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    home, repo, _ = rad
    work = repo.clone(tmp_path / "work", BOB, nid_from_did(ALICE.did))
    assert git("for-each-ref", "refs/rad", cwd=work).stdout == ""
    monkeypatch.setenv("RAD_HOME", str(home.path))
    assert gitrad.storage_for_worktree(work) == (repo.rid, repo.storage)
    monkeypatch.setenv("RAD_HOME", str(tmp_path / "elsewhere"))
    assert gitrad.storage_for_worktree(work) == (repo.rid, None)
    assert gitrad.storage_for_worktree(make_source(tmp_path, "plain")) is None
