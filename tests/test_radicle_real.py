"""With the REAL Radicle CLI (`rad`), not the test doubles: skipped when `rad` is not on PATH.

Everything runs in tmp: `RAD_HOME` is a fresh directory, `RAD_KEYGEN_SEED` makes `rad auth`
deterministic (heartwood's `profile::env::seed`: 64 hex chars → the 32-byte Ed25519 secret
seed) and `RAD_PASSPHRASE=''` leaves the key unencrypted (heartwood treats an empty passphrase
as none). No node is started: `rad init` then records the seeding policy locally and says the
repository will be announced when the node starts.

Flags used, as heartwood's radicle-cli parses them (crates/radicle-cli/src/commands/):
`rad auth --alias A` (auth.rs), `rad self --nid` (self.rs), and what `git elite init --rad`
runs: `rad init --name N --description D --public --no-confirm` (init.rs: without
`--default-branch` and with `--no-confirm`, the default branch is the checked-out branch).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from git_elite.core import radicle
from git_elite.core.keys import nid_from_did
from git_elite.edges import gitrad
from tests.conftest import git, run_cli
from tests.radicle_fixtures import identity_document

pytestmark = [pytest.mark.rad,
              pytest.mark.skipif(shutil.which("rad") is None,
                                 reason="needs the real Radicle CLI (rad) on PATH")]

FF_SEED_HEX = "ff" * 32
FF_DID = "did:key:z6MknSLrJoTcukLrE435hVNQT4JUhbvWLX4kUzqkEStBU8Vi"  # SPEC §11 vector


@pytest.fixture()
def rad_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh RAD_HOME with the key of seed 32×0xff made by the real `rad auth`."""
    home = tmp_path / "radicle"
    for name, value in {"RAD_HOME": str(home), "RAD_KEYGEN_SEED": FF_SEED_HEX,
                        "RAD_PASSPHRASE": ""}.items():
        monkeypatch.setenv(name, value)
    proc = subprocess.run(["rad", "auth", "--alias", "alice"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return home


def test_rad_auth_key_becomes_the_git_elite_identity(rad_env: Path) -> None:
    imported = run_cli("id", "import-radicle")
    assert imported.stdout.strip().splitlines()[-1] == FF_DID
    shown = json.loads(run_cli("id", "show", "--json").stdout)
    assert shown["did"] == FF_DID
    nid = subprocess.run(["rad", "self", "--nid"], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert shown["nid"] == nid == nid_from_did(FF_DID)
    public = (rad_env / "keys" / "radicle.pub").read_text().split()
    assert shown["ssh_public_key"].split()[:2] == public[:2]


def test_init_rad_runs_rad_init_and_the_checks_pass(rad_env: Path, tmp_path: Path) -> None:
    run_cli("id", "import-radicle")
    work = tmp_path / "chrysalis-elites"
    run_cli("init", str(work), "--name", "chrysalis-elites", "--rad")
    url = git("config", "remote.rad.url", cwd=work).stdout.strip()
    push_url = git("config", "remote.rad.pushurl", cwd=work).stdout.strip()
    rid = radicle.parse_url(url).rid
    assert push_url == f"{url}/{nid_from_did(FF_DID)}"
    branch = git("symbolic-ref", "--short", "HEAD", cwd=work).stdout.strip()
    # the test double's identity document is the one real `rad init` hashed into the RID
    assert rid == radicle.rid_of_document(identity_document(
        [FF_DID], "chrysalis-elites", branch, "git elite registry"))
    storage = gitrad.storage_path(rid, rad_env)
    tip = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    check = gitrad.check_storage(storage, rid, FF_DID, branch, tip)
    assert check.ok and check.signed_by == (FF_DID,), check.messages
    verify = json.loads(run_cli("verify", "--json", cwd=work).stdout)
    assert verify["ok"] is True and verify["radicle"]["checked"] is True
    assert verify["radicle"]["signed_by"] == [FF_DID]
    discover = run_cli("discover", cwd=work)
    assert f"Radicle: owner is a delegate, tip {tip[:12]} signed by 1 delegate(s)" in \
        discover.stderr
