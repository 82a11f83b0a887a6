"""The `git-remote-rad` test double (tests/bin, not Radicle) with real `git push`/`clone`,
and the storage checks on what it wrote."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from git_elite.core import radicle
from git_elite.core.keys import Keypair, nid_from_did
from git_elite.edges import gitrad
from tests.conftest import SEEDS, git
from tests.radicle_fixtures import RadHome, RadRepo, read_private_key
from tests.test_radicle import ALICE, BOB, make_source, tip_of


@pytest.fixture()
def rad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[RadHome, RadRepo, Path]:
    home = RadHome(tmp_path / "rad")
    home.write_keys(bytes.fromhex(SEEDS["alice"]), passphrase="pw")
    for name, value in home.env("pw").items():
        monkeypatch.setenv(name, value)
    src = make_source(tmp_path)
    return home, home.init_repo(src, [ALICE, BOB]), src


def test_clone_push_and_check(rad: tuple[RadHome, RadRepo, Path], tmp_path: Path) -> None:
    _, repo, _ = rad
    url = f"rad://{repo.rid[len(radicle.RAD_PREFIX):]}"
    work = tmp_path / "work"
    git("clone", "-q", url, str(work))
    assert (work / "README.md").read_text() == "registry\n"
    git("config", "remote.origin.pushurl", f"{url}/{nid_from_did(ALICE.did)}", cwd=work)
    (work / "agents.txt").write_text("one\n")
    git("add", "agents.txt", cwd=work)
    git("commit", "-q", "-m", "add", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    new_tip = tip_of(work)
    assert gitrad.check_storage(repo.storage, repo.rid, ALICE.did, "main", new_tip).ok
    fresh = tmp_path / "fresh"
    git("clone", "-q", url, str(fresh))
    assert tip_of(fresh) == new_tip


def test_push_with_a_key_of_another_namespace_is_refused(
        rad: tuple[RadHome, RadRepo, Path], tmp_path: Path) -> None:
    _, repo, src = rad
    url = f"rad://{repo.rid[len(radicle.RAD_PREFIX):]}/{nid_from_did(BOB.did)}"
    proc = git("push", url, "main", cwd=src, check=False)
    assert proc.returncode != 0
    assert "cannot push to namespace" in proc.stderr


def test_helper_is_only_a_test_double(rad: tuple[RadHome, RadRepo, Path]) -> None:
    helper = Path(__file__).parent / "bin" / "git-remote-rad"
    assert os.access(helper, os.X_OK)
    assert "TEST DOUBLE" in helper.read_text()
    assert shutil.which("git-remote-rad") == str(helper)


@pytest.mark.rad
@pytest.mark.skipif(shutil.which("rad") is None, reason="needs the real Radicle CLI (rad)")
def test_real_rad_auth_key_is_readable(tmp_path: Path) -> None:
    """With real `rad`: `rad auth` (seed 32×0xff) writes a key that our reader takes, and
    the NID it prints is the did:key suffix (heartwood's rad-auth.md golden output)."""
    env = {**os.environ, "RAD_HOME": str(tmp_path / "rad"), "RAD_KEYGEN_SEED": "ff" * 32,
           "RAD_PASSPHRASE": ""}
    proc = subprocess.run(["rad", "auth", "--alias", "alice"], env=env, capture_output=True,
                          text=True, check=True)
    expected = Keypair.from_seed(b"\xff" * 32).did
    assert expected in proc.stdout
    assert read_private_key(tmp_path / "rad" / "keys" / "radicle").did == expected
