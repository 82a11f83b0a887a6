"""`git elite publish` against a real bare registry with the server hook (real pushes)."""

from __future__ import annotations

import json
from pathlib import Path

from git_elite import documents
from tests.conftest import git, run_cli
from tests.helpers_publish import agent_project, index, local_manifest, show, tip, write_agent
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
    pushed = show(server, f"agents/{agent}/manifest.json")
    assert pushed == documents.to_bytes(saved)
    assert agent in index(server)["agents"]
    run_cli("verify", "--history", cwd=server)
