"""The witnessed log of a Radicle registry (SPEC §15, §11), through the Radicle storage
fixtures: a delegate runs the log in a bare copy it controls (`log sign --append` with its
log key), a real witness cosigns, the delegate pushes refs/elite/log into its own namespace
where its signed refs cover it, and readers of the rad:// registry check it from there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from git_elite.core import logrole, radicle
from git_elite.core.keys import nid_from_did
from tests.conftest import SEEDS, git, run_cli
from tests.helpers_freshness import key_file
from tests.helpers_log import LOG_KEY, ORIGIN, Witness, log_vkey, make_witness
from tests.helpers_registry import agent_files, commit_raw, key, make_identity
from tests.radicle_fixtures import RadHome, RadRepo, sign_namespace


@pytest.fixture()
def witness(tmp_path: Path) -> Iterator[Witness]:
    w = make_witness(tmp_path, "w1.example", "carol", log_vkey())
    w.start()
    yield w
    w.stop()


def test_a_delegate_runs_the_log_and_readers_check_it_from_its_namespace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, witness: Witness) -> None:
    make_identity("server")
    work = tmp_path / "work"
    run_cli("init", str(work), "--name", "chrysalis-elites", "--log-key", key(LOG_KEY).did,
            "--log-origin", ORIGIN, "--witness",
            f"{witness.name}={key(witness.seed).did}@{witness.url}", "--quorum", "1")
    commit_raw(work, agent_files("alice", 1), index=True)
    home = RadHome(tmp_path / "rad")
    home.write_keys(bytes.fromhex(SEEDS["server"]))
    repo: RadRepo = home.init_repo(work, [key("server")])
    for name, value in home.env().items():
        monkeypatch.setenv(name, value)
    url = f"rad://{repo.rid[len(radicle.RAD_PREFIX):]}"
    refused = run_cli("verify", url, check=1)
    assert f"[log] the registry declares a witnessed log ({ORIGIN})" in refused.stdout

    runs_log = tmp_path / "delegate-log.git"  # the delegate's own bare copy, with the log key
    git("clone", "-q", "--bare", str(work), str(runs_log))
    git("config", "elite.logKey", str(key_file(tmp_path, LOG_KEY)), cwd=runs_log)
    signed = run_cli("log", "sign", "--append", cwd=runs_log)
    assert "cosigned by 1 witness(es) (w1.example), quorum met" in signed.stderr
    nid = nid_from_did(key("server").did)
    git("push", "-q", str(repo.storage),
        f"{logrole.REF}:refs/namespaces/{nid}/{logrole.REF}", cwd=runs_log)
    sign_namespace(repo.storage, key("server"))
    covered = git("cat-file", "blob", f"refs/namespaces/{nid}/refs/rad/sigrefs:refs",
                  cwd=repo.storage).stdout
    assert logrole.REF in covered, "the delegate's signed refs cover its log"

    checked = run_cli("verify", url)
    assert f"log checkpoint 1 of {ORIGIN}, cosigned by w1.example" in checked.stderr
    found = run_cli("discover", "--registry", url)
    assert f"log checkpoint 1 of {ORIGIN}" in found.stderr
