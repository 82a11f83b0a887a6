"""`git elite generate` end to end: real subprocess runs of the installed command."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import rfc8785
import yaml

from git_elite.core import documents
from tests.conftest import git, run_cli
from tests.helpers_pipeline import FIXTURES, NOW, fixture_args, write_identity

QUALIFIED = {("coder", "gen-3"), ("editor", "cand-a")}
ROW_KEYS = {"agent_id", "profile", "candidate_id", "model", "qualified", "reasons", "metrics",
            "path"}


def generate(*extra: str, cwd: Path | None = None, check: int = 0) -> list[dict[str, object]]:
    proc = run_cli("generate", *fixture_args(), "--json", *extra, cwd=cwd, check=check)
    rows: list[dict[str, object]] = json.loads(proc.stdout)
    return rows


def elite_dir() -> Path:
    return Path(os.environ["AGENTD_HOME"]) / "elite"


def test_both_formats_qualify_and_write_signed_manifests(tmp_path: Path) -> None:
    key = write_identity("alice")
    rows = generate(cwd=tmp_path)
    assert all(set(r) == ROW_KEYS for r in rows)
    assert {(r["profile"], r["candidate_id"]) for r in rows if r["qualified"]} == QUALIFIED
    reasons = {str(r["candidate_id"]): r["reasons"] for r in rows}
    assert reasons["cand-b"] == ["total_tasks 40 < 50"]
    assert reasons["cand-r1"] == ["critical_failures_24h 1 > 0"]
    assert reasons["gen-4"] == ["success_rate 0.733333 < 0.8"]
    assert reasons["None"] == ["recent_tasks_7d 0 < 10"]
    written = sorted(p.name for p in elite_dir().iterdir())
    assert written == sorted(str(r["agent_id"]) for r in rows if r["qualified"])
    for row in rows:
        if not row["qualified"]:
            assert row["path"] is None
            continue
        folder = Path(str(row["path"]))
        raw = (folder / "manifest.json").read_bytes()
        doc, problems = documents.check(raw, "manifest.json", documents.MANIFEST)
        assert problems == [] and doc is not None
        assert doc.body["owner_did"] == key.did and doc.body["created_at"] == NOW
        assert doc.body["repo_ref"] == {"type": "none"}
        assert doc.body["metrics"] == row["metrics"]
        profile = json.loads((folder / "profile.json").read_bytes())
        assert hashlib.sha256(rfc8785.dumps(profile)).hexdigest() == row["agent_id"]
        assert doc.body["system_prompt_fingerprint"] == profile["system_prompt_hash"]


def test_agent_id_uses_local_hashes_of_prompt_and_demos() -> None:
    write_identity("alice")
    rows = generate()
    coder = next(r for r in rows if r["candidate_id"] == "gen-3")
    profile = json.loads((Path(str(coder["path"])) / "profile.json").read_bytes())
    prompt = hashlib.sha256((FIXTURES / "prompts" / "coder.md").read_bytes()).hexdigest()
    demos = hashlib.sha256((FIXTURES / "demos" / "coder.json").read_bytes()).hexdigest()
    assert profile == {
        "signature": "ImplementChange", "module": "ChainOfThought", "profile": "coder",
        "signature_schema": {"inputs": ["issue", "repo_map"], "outputs": ["diff", "rationale"]},
        "system_prompt_hash": f"sha256:{prompt}", "demos_hash": f"sha256:{demos}",
        "tools_enabled": ["read_file", "write_file", "shell", "run_tests"],
        "model": "gpt-4.1", "candidate_id": "gen-3"}


def test_all_writes_every_agent_and_thresholds_are_options() -> None:
    write_identity("alice")
    rows = generate("--all")
    assert len(rows) == 6 and all(r["path"] for r in rows)
    assert len([p for p in Path(rows[0]["path"]).parent.iterdir() if p.is_dir()]) == 6
    loose = generate("--min-tasks", "40", "--min-success", "0.7")
    assert {(r["profile"], r["candidate_id"]) for r in loose if r["qualified"]} == \
        QUALIFIED | {("editor", "cand-b"), ("coder", "gen-4")}


def test_json_agents_file_gives_the_same_agents_as_yaml(tmp_path: Path) -> None:
    write_identity("alice")
    folder = tmp_path / "cfg"
    shutil.copytree(FIXTURES, folder, ignore=shutil.ignore_patterns("*.jsonl", "racket", "ts"))
    body = yaml.safe_load((folder / "agents.yaml").read_text())
    (folder / "agents.json").write_text(json.dumps(body))
    from_yaml = generate()
    from_json = generate("--agents", str(folder / "agents.json"))
    assert [r["agent_id"] for r in from_yaml] == [r["agent_id"] for r in from_json]


def test_table_warnings_and_malformed_lines_on_stderr() -> None:
    write_identity("alice")
    proc = run_cli("generate", *fixture_args())
    assert proc.stdout.splitlines()[1].split() == ["agent_id", "profile", "candidate", "model",
                                                   "tasks", "success", "recent", "qualified",
                                                   "reasons"]
    assert "total_tasks 40 < 50" in proc.stdout
    for where in ["racket/evals.jsonl:18: invalid JSON", "racket/evals.jsonl:43: success",
                  "state/evals.jsonl:61: profile", "evolution/evals.jsonl:8: ts"]:
        assert where in proc.stderr
    assert "4 malformed line(s)" in proc.stderr
    assert "inferred from the eval records for profile(s) planner" in proc.stderr


def test_strict_refuses_malformed_lines() -> None:
    write_identity("alice")
    proc = run_cli("generate", *fixture_args(), "--strict", check=1)
    assert "4 malformed eval line(s), first" in proc.stderr
    assert "racket/evals.jsonl:18" in proc.stderr
    assert not elite_dir().exists()


def test_inferred_config_without_agents_file_is_deterministic() -> None:
    write_identity("alice")
    args = ["generate", "--evals", str(FIXTURES / "ts"), "--now", str(NOW), "--json"]
    first = run_cli(*args)
    assert "no --agents file given" in first.stderr
    rows = json.loads(first.stdout)
    profile = json.loads((Path(rows[0]["path"]) / "profile.json").read_bytes())
    empty = "sha256:" + hashlib.sha256(b"").hexdigest()
    assert profile["tools_enabled"] == [] and profile["system_prompt_hash"] == empty
    assert profile["signature"] == "unknown" and profile["demos_hash"] == empty
    assert [r["agent_id"] for r in json.loads(run_cli(*args).stdout)] == \
        [r["agent_id"] for r in rows]


def test_default_locations_and_repo_ref(tmp_path: Path) -> None:
    write_identity("bob")
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "ts", project / "sub")
    shutil.copy(FIXTURES / "racket" / "evals.jsonl", Path(os.environ["AGENTD_HOME"]))
    git("init", "-q", cwd=project)
    git("remote", "add", "origin", "https://example.invalid/agents.git", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-qm", "init", cwd=project)
    head = git("rev-parse", "HEAD", cwd=project).stdout.strip()
    proc = run_cli("generate", "--now", str(NOW), "--json", cwd=project / "sub")
    rows = json.loads(proc.stdout)
    assert len(rows) == 6
    manifest = json.loads((Path(next(r["path"] for r in rows if r["path"])) /
                           "manifest.json").read_bytes())
    assert manifest["repo_ref"] == {"type": "git", "url": "https://example.invalid/agents.git",
                                    "commit": head, "path": "sub"}


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--evals", "missing.jsonl"], 1, "no such eval log"),  # state, not usage: exit 1
    ([], 1, "no eval logs found"),
    (["--evals", str(FIXTURES / "ts"), "--agents", "nope.yaml"], 1, "no such file"),
], ids=["missing-log", "no-logs", "missing-agents-file"])
def test_usage_errors(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    proc = run_cli("generate", *args, cwd=tmp_path, check=code)
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_without_identity_it_says_what_to_do(tmp_path: Path) -> None:
    proc = run_cli("generate", *fixture_args(), cwd=tmp_path, check=1)
    assert "git elite id init" in proc.stderr


@pytest.mark.parametrize(("text", "message"), [
    ("profiles: {editor: {signature: X, colour: red}}", "unknown field(s) colour"),
    ("agents: []", "top-level mapping `profiles:`"),
    ("profiles: {editor: [1]}", "profiles.editor is not a mapping"),
    ("profiles: {editor: {system_prompt: absent.md}}", "no such file"),
], ids=["unknown-field", "wrong-top", "not-mapping", "missing-prompt"])
def test_bad_agents_files(tmp_path: Path, text: str, message: str) -> None:
    write_identity("alice")
    (tmp_path / "agents.yaml").write_text(text)
    proc = run_cli("generate", "--evals", str(FIXTURES / "racket" / "evals.jsonl"),
                   "--agents", str(tmp_path / "agents.yaml"), check=None)
    assert proc.returncode in (1, 2) and message in proc.stderr


def _private_strings() -> tuple[set[str], set[str]]:
    """Task ids and feedback texts, and every observed tool name, from the fixtures."""
    texts: set[str] = set()
    tools: set[str] = set()
    for path in FIXTURES.rglob("*.jsonl"):
        for raw in path.read_bytes().splitlines():
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            texts |= {str(rec.get(k)) for k in ("task_id", "taskId", "feedback") if rec.get(k)}
            tools |= set(rec.get("tools_used") or rec.get("toolsUsed") or [])
    return texts, tools


def test_privacy_feedback_task_ids_and_tool_lists_never_leave() -> None:
    write_identity("alice")
    texts, tools = _private_strings()
    assert len(texts) > 500 and len(tools) == 6
    outputs = []
    for extra in ([], ["--json"]):
        proc = run_cli("generate", *fixture_args(), "--all", *extra)
        outputs += [proc.stdout, proc.stderr]
    files = [p.read_text() for p in elite_dir().rglob("*") if p.is_file()]
    for blob in outputs + files:
        assert not [t for t in texts if t in blob]
    # without an agents file no tool name appears anywhere (with one, only declared tools)
    shutil.rmtree(elite_dir())
    proc = run_cli("generate", "--evals", str(FIXTURES / "racket" / "evals.jsonl"),
                   "--evals", str(FIXTURES / "ts"), "--now", str(NOW), "--all", "--json")
    files = [p.read_text() for p in elite_dir().rglob("*")
             if p.is_file() and p.name != "project.json"]
    assert len(files) == 12
    for blob in [proc.stdout, proc.stderr, *files]:
        assert not [t for t in texts | tools if t in blob]
