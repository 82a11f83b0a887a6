"""`git elite publish --from-evals`: generate (same options, same core) then publish exactly what
it wrote, in one command — real eval fixtures, a real bare registry with the server hook."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from git_elite.core import documents
from tests.conftest import git, run_cli
from tests.helpers_pipeline import fixture_args
from tests.helpers_publish import agent_project, index, local_manifest, show, tip, write_agent
from tests.helpers_registry import make_identity, make_server


def _server(tmp_path: Path) -> Path:
    _, server = make_server(tmp_path)
    make_identity("alice")
    return server


def _written() -> set[str]:
    elite = Path(os.environ["AGENTD_HOME"]) / "elite"
    return {p.parent.name for p in [*elite.glob("*/manifest.json"),
                                    *elite.glob("projects/*/*/manifest.json")]}


def test_generates_then_publishes_what_qualified_from_the_project(tmp_path: Path) -> None:
    server = _server(tmp_path)
    project = agent_project(tmp_path)
    proc = run_cli("publish", "--from-evals", *fixture_args(), "--registry", str(server),
                   cwd=project)
    agents = _written()
    assert len(agents) == 2  # editor/cand-a and coder/gen-3 qualify in the fixtures
    assert proc.stdout.splitlines() == [f"published  {a}" for a in sorted(agents)]
    assert "qualified  reasons" in proc.stderr and "total_tasks 40 < 50" in proc.stderr
    assert "wrote 2 of 6 agent(s) as signed manifests" in proc.stderr
    assert set(index(server)["agents"]) == agents
    head = git("rev-parse", "HEAD", cwd=project).stdout.strip()
    for agent in agents:
        saved = local_manifest(agent)
        assert saved["repo_ref"]["commit"] == head
        path = f"agents/{agent[:2]}/{agent}/manifest.json"
        assert show(server, path) == documents.to_bytes(saved)
    run_cli("verify", "--history", str(server))


def test_json_stdout_is_only_publish_json(tmp_path: Path) -> None:
    server = _server(tmp_path)
    proc = run_cli("publish", "--from-evals", *fixture_args(), "--registry", str(server),
                   "--json", cwd=tmp_path)
    rows = json.loads(proc.stdout)
    assert {r["agent_id"] for r in rows} == _written()
    assert {r["status"] for r in rows} == {"published"}
    assert "elite candidates" in proc.stderr


def test_publishes_only_what_this_run_wrote(tmp_path: Path) -> None:
    server = _server(tmp_path)
    older = write_agent("alice", 1)
    proc = run_cli("publish", "--from-evals", *fixture_args(), "--registry", str(server),
                   cwd=tmp_path)
    assert older not in proc.stdout
    assert set(index(server)["agents"]) == _written() - {older}


def test_generate_options_apply(tmp_path: Path) -> None:
    server = _server(tmp_path)
    proc = run_cli("publish", "--from-evals", *fixture_args(), "--all", "--min-tasks", "10",
                   "--registry", str(server), "--no-push", cwd=tmp_path)
    assert len(_written()) == 6
    assert proc.stdout.count("built ") == 6
    assert len(index(server)["agents"]) == 0  # --no-push: the server did not move


def test_nothing_qualified_publishes_nothing(tmp_path: Path) -> None:
    server = _server(tmp_path)
    before = tip(server)
    proc = run_cli("publish", "--from-evals", *fixture_args(), "--min-tasks", "1000",
                   "--registry", str(server), cwd=tmp_path, check=1)
    assert proc.stdout == ""
    assert "git-elite: error: no agent qualified, nothing to publish" in proc.stderr
    assert "total_tasks 150 < 1000" in proc.stderr
    assert tip(server) == before


@pytest.mark.parametrize("args, message", [
    (["--evals", "x.jsonl"], "--evals can only be used with --from-evals"),
    (["--now", "1767225600", "--all"], "--now, --all can only be used with --from-evals"),
    (["--from-evals", "."], "--from-evals publishes what generate writes; give no directories"),
], ids=["evals-without-from-evals", "now-all-without-from-evals", "dirs-with-from-evals"])
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    make_identity("alice")
    proc = run_cli("publish", *args, "--registry", str(tmp_path), cwd=tmp_path, check=2)
    assert f"git-elite: error: {message}" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
