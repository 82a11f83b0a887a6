"""`git elite check [BASE..]HEAD [--format text|json|github]` (SPEC §16) in a real registry
clone, and the GitHub Action's run step (`action/check.sh`) executed as GitHub runs it, with
the environment variables GitHub sets and a pull_request event payload. That check and the
pre-receive hook agree on every attack is tests/test_check_agreement.py."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from git_elite.cli.commands.check import annotation, gh_data, gh_property, markdown
from git_elite.core.errors import Problem
from tests.conftest import ROOT, git, run_cli
from tests.helpers_attacks import Server, commit, doc, head, mpath, reset
from tests.helpers_registry import T0, agent_files, manifest, profile


@pytest.fixture
def srv(shared: Server) -> Server:
    """The module's hooked server and work tree at the start tip, on main, no other branch."""
    git("checkout", "-q", "-f", "main", cwd=shared.work)
    reset(shared)
    git("branch", "-q", "-D", "feature", cwd=shared.work, check=False)
    git("config", "--unset", "elite.branch", cwd=shared.work, check=False)
    return shared


def forged(srv: Server) -> str:
    """A commit whose manifest was altered after signing (no client hooks: an attacker's)."""
    body = manifest("alice", profile(1), created_at=T0 + 10)
    body["metrics"]["success_rate"] = 0.99
    return commit(srv.work, {mpath(1): doc(body)})


def test_default_range_is_what_a_push_would_send(srv: Server) -> None:
    sha = commit(srv.work, agent_files("carol", 3))
    ok = run_cli("check", cwd=srv.work)
    assert f"git-elite: 1 commit(s) verified ({srv.tip[:12]}..{sha[:12]})" in ok.stderr
    bad = forged(srv)
    result = run_cli("check", cwd=srv.work, check=1)
    assert f"git-elite: REJECT {bad[:7]} {mpath(1)}: [signature]" in result.stderr
    assert "2 commit(s) checked" in result.stderr and result.stdout == ""


def test_explicit_range_and_root(srv: Server, tmp_path: Path) -> None:
    first = commit(srv.work, agent_files("carol", 3))
    bad = forged(srv)
    only_first = run_cli("check", f"{srv.tip}..{first}", cwd=srv.work)
    assert "1 commit(s) verified" in only_first.stderr
    run_cli("check", f"{first}..HEAD", cwd=srv.work, check=1)
    alone = tmp_path / "alone"
    git("clone", "-q", str(srv.work), str(alone))
    git("branch", "--unset-upstream", cwd=alone)
    every = run_cli("check", cwd=alone, check=1)
    total = git("rev-list", "--count", "HEAD", cwd=alone).stdout.strip()
    assert f"{total} commit(s) checked" in every.stderr and "(from the root)" in every.stderr
    assert f"REJECT {bad[:7]} {mpath(1)}: [signature]" in every.stderr


def test_base_not_an_ancestor_is_non_fast_forward(srv: Server) -> None:
    other = commit(srv.work, agent_files("carol", 3))
    git("reset", "-q", "--hard", srv.tip, cwd=srv.work)
    mine = commit(srv.work, agent_files("dave", 4))
    result = run_cli("check", f"{other}..{mine}", cwd=srv.work, check=1)
    assert f"REJECT {mine[:7]} refs/heads/main: [non-fast-forward]" in result.stderr


@pytest.mark.parametrize("revs", ["nosuchrev..HEAD", "HEAD...HEAD~1", "--help..HEAD"])
def test_bad_range_is_usage(srv: Server, revs: str) -> None:
    result = run_cli("check", revs, cwd=srv.work, check=2)
    assert result.stderr.count("git-elite: error:") == 1 and "Traceback" not in result.stderr


def test_json_is_the_verify_shape(srv: Server) -> None:
    bad = forged(srv)
    result = run_cli("check", "--format", "json", cwd=srv.work, check=1)
    out = json.loads(result.stdout)
    assert out["ok"] is False and out["range"] == {"base": srv.tip, "head": bad, "commits": 1}
    assert out["problems"] == [{"rule": "signature", "path": mpath(1), "commit": bad,
                                "message": out["problems"][0]["message"]}]
    assert "REJECT" not in result.stderr
    git("reset", "-q", "--hard", srv.tip, cwd=srv.work)
    fine = json.loads(run_cli("check", "--format", "json", cwd=srv.work).stdout)
    assert fine == {"ok": True, "problems": [], "range": {"base": srv.tip, "head": srv.tip,
                                                          "commits": 0}}


def test_github_escaping() -> None:
    assert gh_data("50%\r\nnext") == "50%25\\r\\nnext"  # safetext first: one visible line
    assert gh_property("a,b:c%") == "a%2Cb%3Ac%25"
    p = Problem("layout", "agents/ab/x,y:z\x1b[31m.json", "bad::path 100%", "c0ffee" * 6)
    assert annotation(p) == ("::error file=agents/ab/x%2Cy%3Az\\e[31m.json,title=[layout] "
                             "c0ffeec::bad::path 100%25")
    table = markdown([Problem("schema", "a|b", "<img src=x> `x` [y](z)", "ab" * 20)], 3, "r")
    assert "a\\|b" in table and "&lt;img src=x&gt; \\`x\\` \\[y\\](z)" in table
    assert "<img" not in table


def run_action(srv: Server, tmp_path: Path, event: dict[str, object], name: str,
               extra: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str],
                                                          str]:
    """action/check.sh with what GitHub sets for a workflow step."""
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event))
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step's summary\n")
    env = {**os.environ, "GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_EVENT_NAME": name,
           "GITHUB_EVENT_PATH": str(event_path), "GITHUB_WORKSPACE": str(srv.work),
           "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(tmp_path),
           "GITHUB_SHA": head(srv.work), "GITHUB_REF": "refs/pull/7/merge",
           "GITHUB_BASE_REF": "main", "GITHUB_HEAD_REF": "feature",
           "GITHUB_ACTION_PATH": str(ROOT), **(extra or {})}
    proc = subprocess.run([str(ROOT / "action" / "check.sh")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    return proc, summary.read_text()


def pull_request(base: str, head_sha: str) -> dict[str, object]:
    return {"action": "synchronize", "number": 7,
            "pull_request": {"base": {"sha": base, "ref": "main"},
                             "head": {"sha": head_sha, "ref": "feature"}}}


def test_action_on_a_pull_request(srv: Server, tmp_path: Path) -> None:
    """The merge commit GitHub checks out (refs/pull/N/merge: first parent the base, second
    the pull request's head) with an attack in the pull request: annotations at the file,
    the REJECT lines, a summary table appended to the step summary, exit 1."""
    git("checkout", "-q", "-b", "feature", cwd=srv.work)
    ok = commit(srv.work, agent_files("carol", 3))
    bad = forged(srv)
    git("checkout", "-q", "main", cwd=srv.work)
    git("-c", "core.hooksPath=/dev/null", "merge", "-q", "--no-ff", "-m", "Merge pull request",
        "feature", cwd=srv.work)
    proc, summary = run_action(srv, tmp_path, pull_request(srv.tip, bad), "pull_request")
    assert proc.returncode == 1, proc.stderr
    assert f"::error file={mpath(1)},title=[signature] {bad[:7]}::" in proc.stdout
    assert f"git-elite: REJECT {bad[:7]} {mpath(1)}: [signature]" in proc.stderr
    assert summary.startswith("earlier step's summary\n### git elite check: ")
    assert f"| `{bad[:7]}` | {mpath(1)} | signature |" in summary
    assert "3 commit(s) checked" in summary  # ok, bad and the merge commit
    git("reset", "-q", "--hard", srv.tip, cwd=srv.work)
    git("-c", "core.hooksPath=/dev/null", "merge", "-q", "--no-ff", "-m", "Merge", ok,
        cwd=srv.work)
    proc, summary = run_action(srv, tmp_path, pull_request(srv.tip, ok), "pull_request")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "::error" not in proc.stdout
    assert "### git elite check: passed\n\n2 commit(s) verified" in summary


def test_action_pull_request_behind_its_base(srv: Server, tmp_path: Path) -> None:
    """The pull request's own head (not a merge) that does not contain the base's new tip:
    checked from where it left the base, not refused as a rewrite."""
    git("checkout", "-q", "-b", "feature", cwd=srv.work)
    pr_head = commit(srv.work, agent_files("carol", 3))
    git("checkout", "-q", "main", cwd=srv.work)
    moved = commit(srv.work, agent_files("dave", 4))
    git("checkout", "-q", "feature", cwd=srv.work)
    proc, summary = run_action(srv, tmp_path, pull_request(moved, pr_head), "pull_request",
                               {"ELITE_HEAD": pr_head})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert f"1 commit(s) verified ({srv.tip[:12]}..{pr_head[:12]})" in summary


def test_action_push_event_force_push_refused(srv: Server, tmp_path: Path) -> None:
    """A push event whose `before` the new tip does not contain: the non-fast-forward rule."""
    before = commit(srv.work, agent_files("carol", 3))
    git("reset", "-q", "--hard", srv.tip, cwd=srv.work)
    after = commit(srv.work, agent_files("dave", 4))
    proc, _ = run_action(srv, tmp_path, {"before": before, "after": after}, "push",
                         {"GITHUB_SHA": after, "GITHUB_BASE_REF": ""})
    assert proc.returncode == 1
    assert f"::error title=[non-fast-forward] {after[:7]}::history of the registry branch" \
        in proc.stdout


def test_action_other_target_branch_skipped(srv: Server, tmp_path: Path) -> None:
    forged(srv)
    proc, _ = run_action(srv, tmp_path, pull_request(srv.tip, head(srv.work)), "pull_request",
                         {"ELITE_BRANCH": "main", "GITHUB_BASE_REF": "docs"})
    assert proc.returncode == 0 and "docs is not the registry branch" in proc.stderr


def test_action_yml_runs_this_script() -> None:
    text = (ROOT / "action.yml").read_text()
    assert "using: composite" in text and "actions/setup-python@" in text
    assert '"${{ github.action_path }}/action/check.sh"' in text
    assert "github.event.pull_request.base.sha" in text
    assert os.access(ROOT / "action" / "check.sh", os.X_OK)


def test_check_is_listed() -> None:
    help_text = run_cli("check", "-h").stdout
    assert "Examples:" in help_text and "--format" in help_text


def test_zero_base_is_the_root_and_a_bad_bound_is_refused(srv: Server) -> None:
    """A new branch's push (old = 0{40}, as action/check.sh may pass it) checks from the
    root, bound or not; a bad elite.maxCommitsPerPush is the hook's own error, not a pass."""
    bad = forged(srv)
    zero = run_cli("check", f"{'0' * 40}..{bad}", cwd=srv.work, check=1)
    total = git("rev-list", "--count", bad, cwd=srv.work).stdout.strip()
    assert f"{total} commit(s) checked" in zero.stderr and "(from the root)" in zero.stderr
    assert f"REJECT {bad[:7]} {mpath(1)}: [signature]" in zero.stderr
    git("config", "elite.maxCommitsPerPush", "many", cwd=srv.work)
    try:
        refused = run_cli("check", f"{srv.tip}..{bad}", cwd=srv.work, check=1)
    finally:
        git("config", "--unset", "elite.maxCommitsPerPush", cwd=srv.work)
    assert "elite.maxCommitsPerPush: 'many' is not a number" in refused.stderr
    assert "verified" not in refused.stderr and "Traceback" not in refused.stderr
