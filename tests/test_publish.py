"""`git elite publish` against a real bare registry with the server hook (real pushes)."""

from __future__ import annotations

import json
from pathlib import Path

from git_elite.core import documents
from tests.conftest import git, run_cli
from tests.helpers_publish import (
    agent_project,
    elite_root,
    index,
    local_manifest,
    show,
    tip,
    write_agent,
)
from tests.helpers_registry import key, make_identity, make_server


def test_publish_from_project_records_repo_ref_and_resigns(tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    make_identity("alice")
    agent = write_agent("alice", 1)
    before = local_manifest(agent)
    project = agent_project(tmp_path)
    head = git("rev-parse", "HEAD", cwd=project).stdout.strip()
    proc = run_cli("publish", "--registry", str(server), cwd=project / "agents" / "editor")
    assert f"published  {agent}" in proc.stdout
    saved = local_manifest(agent)
    assert saved["repo_ref"] == {"type": "git", "url": "https://example.invalid/my-agents.git",
                                 "commit": head, "path": "agents/editor"}
    assert saved["created_at"] > before["created_at"]
    assert saved["signature_ed25519"] != before["signature_ed25519"]
    pushed = show(server, f"agents/{agent[:2]}/{agent}/manifest.json")
    assert pushed == documents.to_bytes(saved)
    assert agent in index(server)["agents"]
    run_cli("verify", "--history", cwd=server)


def _setup(tmp_path: Path) -> Path:
    _, server = make_server(tmp_path)
    make_identity("alice")
    return server


def test_default_dirs_refuse_others_by_name_and_publish_the_rest(tmp_path: Path) -> None:
    server = _setup(tmp_path)
    mine = [write_agent("alice", n) for n in (1, 2)]
    theirs = write_agent("bob", 3)
    proc = run_cli("publish", "--registry", str(server), check=1)
    assert f"git-elite: refused: {theirs}: owned by {key('bob').did}, not this node's " \
           f"{key('alice').did}" in proc.stderr and theirs not in proc.stdout
    assert all(f"published  {a}" in proc.stdout for a in mine)
    agents = index(server)["agents"]
    assert set(agents) == set(mine)
    assert "2 published, 1 refused" in proc.stderr


def test_second_publish_is_up_to_date_and_pushes_nothing(tmp_path: Path) -> None:
    server = _setup(tmp_path)
    agent = write_agent("alice", 1)
    run_cli("publish", "--registry", str(server))
    before = tip(server)
    proc = run_cli("publish", "--registry", str(server))
    assert f"up to date {agent}" in proc.stdout
    assert tip(server) == before


def test_no_push_builds_and_verifies_but_leaves_the_server_alone(tmp_path: Path) -> None:
    server = _setup(tmp_path)
    agent = write_agent("alice", 1)
    before = tip(server)
    proc = run_cli("publish", "--registry", str(server), "--no-push", "--json")
    rows = json.loads(proc.stdout)
    assert [(r["agent_id"], r["status"]) for r in rows] == [(agent, "built")]
    assert tip(server) == before
    cache = Path(rows[0]["message"].split(" in ", 1)[1])
    built = git("rev-parse", "refs/elite/unpushed/main", cwd=cache).stdout.strip()
    assert built == rows[0]["commit"]
    assert git("cat-file", "-e", f"{built}:agents/{agent[:2]}/{agent}/manifest.json", cwd=cache)


def test_json_lists_every_agent_with_registry_and_commit(tmp_path: Path) -> None:
    server = _setup(tmp_path)
    agents = sorted(write_agent("alice", n) for n in (1, 2))
    rows = json.loads(run_cli("publish", "--registry", str(server), "--json").stdout)
    assert sorted(r["agent_id"] for r in rows) == agents
    assert {r["status"] for r in rows} == {"published"}
    assert {r["commit"] for r in rows} == {tip(server)}
    assert {r["registry"] for r in rows} == {"server"}
    assert set(rows[0]) == {"agent_id", "status", "registry", "commit", "message"}


def test_hijack_is_refused_locally_with_reject_lines(tmp_path: Path) -> None:
    server = _setup(tmp_path)
    agent = write_agent("alice", 1)
    run_cli("publish", "--registry", str(server))
    before = tip(server)
    home = tmp_path / "mallory-home"
    make_identity_at(home, "mallory")
    write_agent("mallory", 1, home=home, created_at=1_767_100_000)  # later, not far ahead
    proc = run_cli("publish", "--registry", str(server), env={"AGENTD_HOME": str(home)},
                   check=1)
    path = f"agents/{agent[:2]}/{agent}/manifest.json"
    assert f"git-elite: refused: {agent}: {path}: [ownership]" in proc.stderr
    # issue 27 item 4: not "hijack … rotate" advice but the owner and the attestation way
    assert f"already published by its owner {key('alice').did}" in proc.stderr
    assert "--as-attestation" in proc.stderr and "rotate" not in proc.stderr
    assert "REJECT" not in proc.stderr  # never pushed: said once
    assert tip(server) == before


def test_server_refusal_is_shown_and_not_retried(tmp_path: Path) -> None:
    server = _setup(tmp_path)
    git("branch", "other", "main", cwd=server)
    write_agent("alice", 1)
    run_cli("registry", "add", "reg", str(server), "--branch", "other")
    proc = run_cli("publish", "--registry", "reg", check=1)
    assert "git-elite: REJECT" in proc.stderr and "[branch]" in proc.stderr
    assert "git-elite: refused:" in proc.stderr and "retr" not in proc.stderr
    assert tip(server, "other") == tip(server)


def test_unreachable_registry_fails_clearly_and_keeps_the_signed_manifest(
        tmp_path: Path) -> None:
    make_identity("alice")
    project = agent_project(tmp_path)
    agent = write_agent("alice", 1)
    gone = tmp_path / "gone" / "registry.git"
    proc = run_cli("publish", "--registry", str(gone), cwd=project, check=1)
    assert f"git-elite: not pushed: {agent}: registry registry: {gone} does not exist" \
        in proc.stderr  # a missing path is not retried (an unreachable URL is: test_faults)
    assert "attempts" not in proc.stderr and f"kept in {elite_root()}" in proc.stderr
    saved = local_manifest(agent)
    assert saved["repo_ref"]["url"] == "https://example.invalid/my-agents.git"
    _, problems = documents.check(documents.to_bytes(saved), "manifest.json",
                                  documents.MANIFEST)
    assert problems == []


def make_identity_at(home: Path, name: str) -> None:
    import os

    old = os.environ["AGENTD_HOME"]
    os.environ["AGENTD_HOME"] = str(home)
    try:
        make_identity(name)
    finally:
        os.environ["AGENTD_HOME"] = old
