"""`git elite unpublish` and `trust endorse/revoke --registry` through real pushes."""

from __future__ import annotations

import json
from pathlib import Path

from git_elite.core import keys
from tests.conftest import run_cli
from tests.helpers_publish import elite_root, index, show, tip, write_agent
from tests.helpers_registry import key, make_identity, make_server


def _published(tmp_path: Path) -> tuple[Path, str]:
    _, server = make_server(tmp_path)
    make_identity("alice")
    agent = write_agent("alice", 1)
    run_cli("publish", "--registry", str(server))
    return server, agent


def test_unpublish_withdraws_for_good(tmp_path: Path) -> None:
    server, agent = _published(tmp_path)
    proc = run_cli("unpublish", agent, "--reason", "superseded", "--registry", str(server))
    assert f"withdrawn  {agent}" in proc.stdout and "1 withdrawn" in proc.stderr
    assert agent not in index(server)["agents"]
    assert show(server, f"agents/{agent[:2]}/{agent}/manifest.json") is None
    tomb = json.loads(show(server, f"agents/{agent[:2]}/{agent}/tombstone.json") or b"")
    assert (tomb["owner_did"], tomb["reason"]) == (key("alice").did, "superseded")
    assert (elite_root() / agent / "tombstone.json").is_file()
    run_cli("verify", "--history", cwd=server)
    before = tip(server)
    again = run_cli("publish", str(elite_root() / agent), "--registry", str(server), check=1)
    assert f"git-elite: refused: {agent}" in again.stderr and "[deletion]" in again.stderr
    assert "tombstones are final" in again.stderr
    skipped = run_cli("publish", "--registry", str(server))
    assert f"skipping {agent[:12]}: withdrawn in {server.name.removesuffix('.git')}" \
        in skipped.stderr
    twice = run_cli("unpublish", agent, "--registry", str(server), check=1)
    assert "already withdrawn" in twice.stderr
    assert tip(server) == before


def test_unpublish_of_someone_elses_agent_is_refused(tmp_path: Path) -> None:
    server, agent = _published(tmp_path)
    make_identity("bob")
    proc = run_cli("unpublish", agent, "--registry", str(server), check=1)
    assert f"[ownership] agent {agent[:12]} belongs to {key('alice').did}" in proc.stderr
    assert agent in index(server)["agents"]


def test_unpublish_unknown_agent(tmp_path: Path) -> None:
    server, _ = _published(tmp_path)
    proc = run_cli("unpublish", "f" * 64, "--registry", str(server), check=1)
    assert "is not in registry" in proc.stderr
    assert run_cli("unpublish", "nope", "--registry", str(server), check=2).returncode == 2


def test_endorse_and_revoke_land_in_the_registry(tmp_path: Path) -> None:
    server, _ = _published(tmp_path)
    bob = key("bob").did
    path = f"endorsements/{keys.nid_from_did(key('alice').did)}/{keys.nid_from_did(bob)}.json"
    run_cli("trust", "endorse", bob, "--task-type", "file-edit", "--registry", str(server))
    body = json.loads(show(server, path) or b"")
    assert (body["to"], body["task_types"], body["revoked"]) == (bob, ["file-edit"], False)
    run_cli("trust", "revoke", bob, "--registry", str(server))
    assert json.loads(show(server, path) or b"")["revoked"] is True
    run_cli("verify", "--history", cwd=server)
