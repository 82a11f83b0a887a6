"""Issue 16 items 3, 9, 10 (and 10.9) through the installed command line: tables fitted to
an 80-column pseudo-terminal, one voice (streams, exit codes, `git-elite:`, --json errors),
completion, `help`, identity permissions, full command lists."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git, run_cli
from tests.helpers_pipeline import FIXTURES, NOW
from tests.helpers_publish import write_agent
from tests.helpers_registry import key, make_identity, make_server

EVALS = ["--evals", str(FIXTURES / "racket" / "evals.jsonl"), "--evals", str(FIXTURES / "ts"),
         "--agents", str(FIXTURES / "agents.yaml")]
LONG = "chrysalis-forge-team-elites-registry-mirror"


def on_tty(*args: str, cwd: Path, columns: int = 80) -> tuple[int, str, str]:
    """`git elite ARGS` with stdout on a pseudo-terminal `columns` wide (winsize and
    COLUMNS), stderr on a pipe; (exit code, stdout, stderr)."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns)}
    proc = subprocess.Popen(["git", "elite", *args], cwd=cwd, stdout=slave,
                            stderr=subprocess.PIPE, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    err = proc.stderr.read() if proc.stderr else b""
    code = proc.wait()
    os.close(master)
    return code, b"".join(chunks).decode().replace("\r\n", "\n"), err.decode()


# 3 + 10.9: tables that fit ---------------------------------------------------------------
def test_discover_fits_80_columns_keeping_what_matters(tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    make_identity("alice")
    agents = [write_agent("alice", n) for n in (1, 2, 3)]
    run_cli("registry", "add", LONG, str(server))
    run_cli("publish", "--registry", LONG)
    code, out, _ = on_tty("discover", "--registry", LONG, cwd=tmp_path)
    lines = out.splitlines()
    assert code == 0 and all(len(line) <= 80 for line in lines), out
    assert lines[0].split()[:6] == ["rank", "agent", "owner", "trusted", "success", "tasks"]
    assert "score" in lines[0].split() and "…" not in out
    assert {line.split()[1] for line in lines[1:]} == {a[:12] for a in agents}
    assert all(re.search(r" you +✓ +0\.90 .* 0\.\d{3}\b", line) for line in lines[1:]), out
    assert LONG not in out  # the least important column went first
    piped = run_cli("discover", "--registry", LONG).stdout
    assert LONG in piped and max(len(line) for line in piped.splitlines()) > 80
    rows = json.loads(run_cli("discover", "--registry", LONG, "--json").stdout)
    assert all(isinstance(r["score_ppm"], int) and f"{r['score_ppm'] / 1e6:.3f}" in out
               for r in rows)


def test_generate_reasons_are_never_cut_on_80_columns(tmp_path: Path) -> None:
    make_identity("alice")
    code, out, _ = on_tty("generate", *EVALS, "--now", str(NOW + 8 * 86400), "--all",
                          cwd=tmp_path)
    assert code == 0 and all(len(line) <= 80 for line in out.splitlines()), out
    rows = json.loads(run_cli("generate", *EVALS, "--now", str(NOW + 8 * 86400), "--json",
                              cwd=tmp_path).stdout)
    words = set(out.split())
    for row in rows:
        assert row["agent_id"][:12] in words
        reasons = "; ".join(row["reasons"])
        assert all(word in words for word in reasons.split()), (reasons, out)
    header = out.splitlines()[1].split()
    assert {"agent_id", "success", "qualified", "reasons"} <= set(header)


# 9: one voice ----------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "code", "says"), [
    (["trust", "add", "did:key:zNotAKey"], 2, ""),
    (["trust", "explain", "did:web:example.org"], 2, ""),
    (["import", "not-hex"], 2, "is not an agent id"),
    (["import", "deadbeef", "--registry", "nosuchname"], 1, "unknown registry 'nosuchname'"),
    (["publish"], 1, "no manifests in "),
    (["frobnicate"], 2, "'frobnicate' is not a git elite command"),
    (["publsh"], 2, "did you mean publish"),
    (["verify", "/nonexistent"], 1, "/nonexistent: does not exist"),
], ids=["bad-did", "other-did-method", "bad-agent-id", "unknown-registry", "no-manifests",
        "unknown-command", "typo", "verify-missing-path"])
def test_exit_codes_follow_gits_rule(tmp_path: Path, args: list[str], code: int,
                                     says: str) -> None:
    make_identity("alice")
    proc = run_cli(*args, cwd=tmp_path, check=code)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("git-elite: ")]
    assert errors and says in errors[-1] and "$AGENTD_HOME" not in proc.stderr


@pytest.mark.parametrize("args", [["index"], ["hooks", "install"], ["index", "--check"]],
                         ids=["index", "hooks-install", "index-check"])
def test_outside_a_repository_says_not_a_git_repository(tmp_path: Path,
                                                         args: list[str]) -> None:
    proc = run_cli(*args, cwd=tmp_path, check=1, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert proc.stderr == f"git-elite: error: {tmp_path}: not a git repository\n"


def test_every_message_starts_with_git_elite_and_results_go_to_stdout(
        tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    make_identity("alice")
    mine = write_agent("alice", 1)
    theirs = write_agent("bob", 2)
    proc = run_cli("publish", "--registry", str(server), check=1)
    assert proc.stdout == f"published  {mine}\n"
    assert all(line.startswith("git-elite: ") for line in proc.stderr.splitlines()), proc.stderr
    assert f"git-elite: refused: {theirs}: owned by {key('bob').did}" in proc.stderr
    imported = run_cli("import", mine, "--registry", str(server))
    assert imported.stdout.strip().endswith(f"imported/{mine}")
    assert all(line.startswith("git-elite: ") for line in imported.stderr.splitlines())


def test_json_errors_are_also_json_on_stdout(tmp_path: Path) -> None:
    make_identity("alice")
    proc = run_cli("discover", "--registry", "nosuchname", "--json", cwd=tmp_path, check=1)
    error = json.loads(proc.stdout)["error"]
    assert error["exit_code"] == 1 and "unknown registry 'nosuchname'" in error["message"]
    usage = run_cli("discover", "--top", "x", "--json", cwd=tmp_path, check=2)
    assert json.loads(usage.stdout)["error"]["exit_code"] == 2
    assert run_cli("discover", "--registry", "nosuchname", cwd=tmp_path, check=1).stdout == ""


def test_verify_of_a_working_copy_mentions_uncommitted_changes(tmp_path: Path) -> None:
    work, _ = make_server(tmp_path)
    assert "uncommitted" not in run_cli("verify", cwd=work).stderr
    (work / "notes.txt").write_text("draft\n")
    proc = run_cli("verify", cwd=work)
    assert "1 uncommitted change(s)" in proc.stderr and "not them" in proc.stderr


# 10: what tools like gh and git-lfs have -------------------------------------------------
@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_completes_git_elite_and_git_dash_elite(tmp_path: Path) -> None:
    script = run_cli("completion", "bash").stdout
    (tmp_path / "c.sh").write_text(script)
    probe = (f'source {tmp_path / "c.sh"}\n'
             'COMP_WORDS=(git-elite pub); COMP_CWORD=1; COMPREPLY=(); '
             '_git_elite_completion git-elite; echo "A:${COMPREPLY[*]}"\n'
             'COMP_WORDS=(git elite trust en); COMP_CWORD=3; COMPREPLY=(); _git_elite; '
             'echo "B:${COMPREPLY[*]}"\n')
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True,
                         cwd=tmp_path).stdout
    assert "A:publish" in out and "B:endorse" in out


@pytest.mark.parametrize(("shell", "marker"), [("zsh", "#compdef git-elite"),
                                                ("fish", "complete --no-files --command "
                                                         "git-elite")], ids=["zsh", "fish"])
def test_zsh_and_fish_scripts(shell: str, marker: str) -> None:
    assert marker in run_cli("completion", shell).stdout


def test_help_command_and_full_command_list() -> None:
    assert run_cli("help", "trust", "endorse").stdout.startswith(
        "Usage: git elite trust endorse [OPTIONS] DID")
    assert "did you mean" not in run_cli("help").stdout
    run_cli("help", "nosuch", check=2)
    top = run_cli("-h").stdout
    from git_elite.cli.main import COMMANDS, HIDDEN

    listed = re.findall(r"^  ([a-z-]+)  ", top.split("\nCommands:\n", 1)[1], re.MULTILINE)
    assert set(listed) == set(COMMANDS) - HIDDEN
    assert "…" not in top and "..." not in top.split("\nCommands:\n", 1)[1]
    assert "…" not in run_cli("sign", "-h").stdout
    for sub in ("id", "trust", "registry", "hooks"):
        commands = run_cli(sub, "-h").stdout.split("\nCommands:\n", 1)[1]
        assert "..." not in commands and "…" not in commands, commands


def test_identity_readable_by_others_is_warned_about_once() -> None:
    make_identity("alice")
    ident = Path(os.environ["AGENTD_HOME"]) / "identity.json"
    assert "readable by others" not in run_cli("id", "show").stderr
    ident.chmod(0o644)
    proc = run_cli("trust", "explain", key("alice").did)
    assert proc.stderr.count("readable by others (mode 0644)") == 1
    assert f"chmod 600 {ident}" in proc.stderr


def test_help_and_completion_need_no_repository(tmp_path: Path) -> None:
    git("--version")
    run_cli("help", "publish", cwd=tmp_path)
