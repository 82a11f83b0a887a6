"""Progress on long work (issue 10.7, SPEC §10): on stderr when it is a terminal (rich), and
nothing at all when it is not. The terminal case runs the real command on a pseudo-terminal;
ELITE_PROGRESS_DELAY=0 makes even this small work count as long."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import git, run_cli
from tests.helpers_publish import write_agent
from tests.helpers_registry import make_identity, make_server


def on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """`git elite ARGS` with stdin/stdout/stderr on a pseudo-terminal: (status, transcript)."""
    full = {**os.environ, "TERM": "xterm", "COLUMNS": "100", **env}
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execvpe("git", ["git", "elite", *args], full)
    transcript, deadline = b"", time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            transcript += chunk
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), transcript.decode(errors="replace")


@pytest.fixture()
def registry(tmp_path: Path) -> Path:
    """A bare registry with a few commits of agents (the client work tree is its sibling)."""
    _, server = make_server(tmp_path)
    make_identity("alice")
    for n in range(1, 4):
        write_agent("alice", n)
        run_cli("publish", "--registry", str(server))
    return server


def test_verify_on_a_terminal_shows_progress(registry: Path) -> None:
    status, transcript = on_a_terminal(["verify", "--history"], registry,
                                       {"ELITE_PROGRESS_DELAY": "0"})
    assert status == 0, transcript
    assert "git-elite: verify: commits up to HEAD" in transcript
    assert "commit(s) OK" in transcript
    status, transcript = on_a_terminal(["verify"], registry, {"ELITE_PROGRESS_DELAY": "0"})
    assert status == 0 and "git-elite: verify: files of the tree at HEAD" in transcript


def test_quick_work_on_a_terminal_shows_nothing(registry: Path) -> None:
    status, transcript = on_a_terminal(["verify"], registry, {"ELITE_PROGRESS_DELAY": "60"})
    assert status == 0
    assert "files of the tree" not in transcript and "tree at HEAD OK" in transcript


def test_not_a_terminal_prints_no_progress(registry: Path) -> None:
    proc = run_cli("verify", "--history", str(registry), env={"ELITE_PROGRESS_DELAY": "0"})
    assert proc.stderr == "git-elite: verify: 4 commit(s) OK\n"
    proc = run_cli("verify", str(registry), env={"ELITE_PROGRESS_DELAY": "0"})
    assert proc.stderr == "git-elite: verify: tree at HEAD OK\n"


def test_first_fetch_on_a_terminal_shows_progress(registry: Path, tmp_path: Path) -> None:
    import shutil

    shutil.rmtree(Path(os.environ["AGENTD_HOME"]) / "cache")  # a first fetch
    status, transcript = on_a_terminal(
        ["discover", "--registry", str(registry)], tmp_path, {"ELITE_PROGRESS_DELAY": "0"})
    assert status == 0, transcript
    assert "git-elite: cloning server from" in transcript
    shutil.rmtree(Path(os.environ["AGENTD_HOME"]) / "cache")
    piped = run_cli("discover", "--registry", str(registry), cwd=tmp_path)
    assert "cloning" not in piped.stderr and piped.stderr == ""


def test_commit_check_on_a_terminal_shows_progress(tmp_path: Path) -> None:
    work, _ = make_server(tmp_path)
    run_cli("hooks", "install", cwd=work)
    for n in range(40):
        (work / "notes").mkdir(exist_ok=True)
        (work / "notes" / f"{n}.txt").write_text("x\n")
    git("add", "-A", cwd=work)
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(work)
        os.execvpe("git", ["git", "commit", "-q", "-m", "big"],
                   {**os.environ, "TERM": "xterm", "ELITE_PROGRESS_DELAY": "0"})
    transcript = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        transcript += chunk
    os.waitpid(pid, 0)
    text = transcript.decode(errors="replace")
    assert "pre-commit: checking" in text  # (the commit is refused: notes/ is no registry path)
    assert "REJECT" in text


def test_hook_path_imports_no_rich_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    work, _ = make_server(tmp_path)
    (work / "notes.txt").write_text("x\n")
    git("add", "notes.txt", cwd=work)
    code = ("import sys; sys.argv = ['git-elite', 'hook', 'pre-commit']\n"
            "from git_elite import launcher\n"
            "status = launcher.main()\n"
            "print(sorted(m for m in ('rich', 'click', 'yaml', 'jsonschema') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True,
                          text=True, check=False, env={**os.environ, "ELITE_PROGRESS_DELAY": "0"})
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr
    assert "REJECT" in proc.stderr
