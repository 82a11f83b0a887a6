"""`publish` to a rad:// remote through the git-remote-rad TEST DOUBLE (tests/bin)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from git_elite.core import radicle
from git_elite.core.keys import nid_from_did
from tests.conftest import SEEDS, git, run_cli
from tests.helpers_publish import write_agent
from tests.helpers_registry import key, make_identity, make_registry
from tests.radicle_fixtures import RadHome, RadRepo


@pytest.fixture()
def rad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[RadRepo, str]:
    work = make_registry(tmp_path / "work")
    home = RadHome(tmp_path / "rad")
    home.write_keys(bytes.fromhex(SEEDS["alice"]))
    repo = home.init_repo(work, [key("server")])
    for name, value in home.env().items():
        monkeypatch.setenv(name, value)
    make_identity("alice")
    return repo, f"rad://{repo.rid[len(radicle.RAD_PREFIX):]}"


def test_publish_verifies_locally_and_pushes_to_own_namespace(
        rad: tuple[RadRepo, str], tmp_path: Path) -> None:
    repo, url = rad
    agent = write_agent("alice", 1)
    before = git("rev-parse", "refs/heads/main", cwd=repo.storage).stdout.strip()
    proc = run_cli("publish", "--registry", url)
    assert git("rev-parse", "refs/heads/main", cwd=repo.storage).stdout.strip() == before
    assert f"published  {agent}" in proc.stdout
    if shutil.which("rad") is None:
        assert f"`rad` is not on PATH: run `rad sync {repo.rid} --announce`" in proc.stderr
    mine = f"refs/namespaces/{nid_from_did(key('alice').did)}/refs/heads/main"
    pushed = git("rev-parse", mine, cwd=repo.storage).stdout.strip()
    assert git("cat-file", "-e", f"{pushed}:agents/{agent[:2]}/{agent}/manifest.json",
               cwd=repo.storage).returncode == 0
    theirs = f"refs/namespaces/{nid_from_did(key('server').did)}/refs/heads/main"
    assert git("rev-parse", theirs, cwd=repo.storage).stdout.strip() == before
    assert git("rev-parse", pushed + "^", cwd=repo.storage).stdout.strip() == before


def test_publish_announces_with_rad_when_present(rad: tuple[RadRepo, str],
                                                 tmp_path: Path) -> None:
    repo, url = rad
    bindir = tmp_path / "fake-rad-bin"
    bindir.mkdir()
    log = tmp_path / "rad.log"
    (bindir / "rad").write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n")
    (bindir / "rad").chmod(0o755)
    write_agent("alice", 1)
    proc = run_cli("publish", "--registry", url,
                   env={"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"})
    assert f"announced {repo.rid}" in proc.stderr
    assert log.read_text() == f"sync {repo.rid} --announce\n"


def test_without_git_remote_rad_stops_with_a_clear_message(tmp_path: Path) -> None:
    if shutil.which("git-remote-rad"):
        pytest.skip("a git-remote-rad is installed on this machine")
    make_identity("alice")
    agent = write_agent("alice", 1)
    proc = run_cli("publish", "--registry", "rad://z42hL2jL4XNk6K8oHQaSWfMgCL7ji", check=1)
    assert f"git-elite: not pushed: {agent}" in proc.stderr
    assert "git-remote-rad is not on PATH: install Radicle (https://radicle.xyz) or publish " \
           "to a plain git URL" in proc.stderr and proc.stdout == ""
