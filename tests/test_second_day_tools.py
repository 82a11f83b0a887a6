"""Issue 27 items 5–8 through the installed command line: timestamps without hand-editing
(6), the site (5), silence (7) and the small things a user meets (8)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, git, run_cli
from tests.helpers_freshness import key_file
from tests.helpers_pipeline import FIXTURES, NOW, fixture_args, write_identity
from tests.helpers_registry import key, make_identity, make_server


# 6. timestamps without hand-editing -------------------------------------------------------
def test_init_with_own_timestamp_key_signs_the_first_timestamp(tmp_path: Path) -> None:
    make_identity("alice")
    registry = tmp_path / "reg"
    made = run_cli("init", str(registry), "--timestamp-key", key("alice").did)
    assert "timestamp v1 signed for" in made.stderr
    run_cli("verify", str(registry))  # not "freeze: no timestamp"
    other = run_cli("init", str(tmp_path / "other"), "--timestamp-key", key("dave").did)
    assert "readers refuse other as frozen until its holder signs" in other.stderr
    frozen = run_cli("verify", str(tmp_path / "other"), check=1)
    assert "freeze" in frozen.stdout
    # item 8: the summary names where the problem is, not "in tree at HEAD"
    assert "1 problem(s): 1 in refs/elite/timestamp (freshness); tree at HEAD OK" \
        in frozen.stderr


def test_server_hooks_warn_when_nothing_will_sign(tmp_path: Path) -> None:
    make_identity("alice")
    registry = tmp_path / "reg"
    run_cli("init", str(registry), "--timestamp-key", key("dave").did)
    bare = tmp_path / "server.git"
    git("clone", "-q", "--bare", str(registry), str(bare))
    proc = run_cli("hooks", "install", "--server", cwd=bare)
    assert "declares a timestamp role, but nothing on this server will sign" in proc.stderr
    signed = run_cli("hooks", "install", "--server", "--force", "--timestamp-key",
                     str(key_file(tmp_path, "dave")), cwd=bare)
    assert "nothing on this server will sign" not in signed.stderr
    assert "the post-receive hook signs one after the next accepted push" in signed.stderr
    plain = tmp_path / "plain"
    run_cli("init", str(plain))
    quiet = run_cli("hooks", "install", "--server", cwd=plain / ".git")
    assert "timestamp" not in quiet.stderr


# 5. the site -----------------------------------------------------------------------------
def test_site_refuses_a_git_repository_that_is_not_a_registry(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("an agent project\n")
    git("init", "-q", str(project))
    git("add", "-A", cwd=project)
    git("commit", "-qm", "init", cwd=project)
    proc = run_cli("site", "-o", str(tmp_path / "out"), cwd=project, check=1)
    assert "no IDENTITY.json at HEAD" in proc.stderr and "not a git elite registry" in proc.stderr
    assert not (tmp_path / "out").exists()  # nothing written, no empty leaderboard


# 7. silence -------------------------------------------------------------------------------
@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A loopback server that accepts and never answers (never anything off this machine)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])  # accepted, never answered
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_discover_url_says_what_it_waits_for_and_how_long(tmp_path: Path) -> None:
    git("config", "--global", "elite.urlTimeout", "2")
    with silent_server() as url:
        proc = run_cli("discover", "--url", url, check=1)
    # 3 tries of 2 s and pauses of 0.25 + 0.5 s: 6.75 s, said as 7 s
    assert f"waiting for {url}IDENTITY.json: no answer after 3 s; waiting up to 7 s in all " \
           "(3 tries of up to 2 s" in proc.stderr
    assert "no complete answer within 2 s (after 3 tries)" in proc.stderr


def _as_from_a_terminal() -> None:
    """SIGINT as a shell gives it to a command: default and unblocked. A disposition of
    "ignored" or a blocked SIGINT is inherited through exec (Python then installs no
    KeyboardInterrupt handler), and a test worker's may have been changed by an earlier test."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_json_interrupted_still_prints_the_json_error(tmp_path: Path) -> None:
    with silent_server() as url:
        proc = subprocess.Popen(["git-elite", "discover", "--url", url, "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, preexec_fn=_as_from_a_terminal)
        assert proc.stderr is not None
        line = proc.stderr.readline()  # the "waiting for" line: the read is under way
        assert "waiting for" in line
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err, (proc.returncode, err, out)
    assert json.loads(out) == {"error": {"message": "interrupted", "exit_code": 130}}


# 8. small things -------------------------------------------------------------------------
def test_a_site_without_identity_names_the_url_not_an_empty_slot(tmp_path: Path) -> None:
    from tests.helpers_site import serve

    (tmp_path / "www").mkdir()
    with serve(tmp_path / "www") as url:
        proc = run_cli("discover", "--url", url, check=1)
    assert "no IDENTITY.json (not a git elite registry)" in proc.stderr
    assert "at  (" not in proc.stderr and "at (" not in proc.stderr


def test_malformed_eval_line_warning_is_a_whole_sentence(tmp_path: Path) -> None:
    make_identity("alice")
    proc = run_cli("generate", "--evals", str(FIXTURES / "racket" / "evals.jsonl"),
                   "--now", str(NOW), cwd=tmp_path)
    line = next(x for x in proc.stderr.splitlines() if "evals.jsonl:18:" in x)
    assert line.endswith("invalid JSON: Unterminated string starting at column 134 (the line "
                         "is cut short)")


def test_trust_list_shows_a_date_and_json_keeps_the_epoch(tmp_path: Path) -> None:
    make_identity("alice")
    run_cli("trust", "add", key("bob").did, "--alias", "bob")
    table = run_cli("trust", "list").stdout
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z", table), table
    entry = next(e for e in json.loads(run_cli("trust", "list", "--json").stdout)["trusted"]
                 if e["did"] == key("bob").did)
    assert type(entry["added_at"]) is int


def test_id_backup_without_a_passphrase_is_exit_1_with_the_way_out(tmp_path: Path) -> None:
    make_identity("alice")
    proc = run_cli("id", "backup", "-o", str(tmp_path / "k"), env={"ELITE_PASSPHRASE": ""},
                   input="", check=1)
    assert "set ELITE_PASSPHRASE" in proc.stderr and not (tmp_path / "k").exists()


def test_unknown_task_type_lists_the_known_ones(tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    write_identity("alice")
    run_cli("publish", "--from-evals", *fixture_args(), "--registry", str(server),
            cwd=tmp_path)
    proc = run_cli("discover", "--registry", str(server), "--task-type", "nosuch",
                   cwd=tmp_path)
    assert "no registry ranks task type 'nosuch'; the task types ranked here: " in proc.stderr
    assert "file-edit" in proc.stderr.split("ranked here: ", 1)[1]
    history = json.loads(run_cli("verify", "--history", "--json", str(server)).stdout)
    assert history["ok"] and history["commits_checked"] == 2  # init + the publish


def test_help_fits_80_columns(monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    """`git elite help CMD` of every command, in process (the same text), at COLUMNS=80."""
    import click

    from git_elite.cli.main import COMMANDS, HIDDEN, group, main

    monkeypatch.setenv("COLUMNS", "80")
    wide = []
    for name in [n for n in COMMANDS if n not in HIDDEN]:
        command = group.get_command(click.Context(group), name)
        subs = list(command.commands) if isinstance(command, click.Group) else []
        for words in [[name], *([name, sub] for sub in subs)]:
            assert main(["help", *words]) == 0
            text = capsys.readouterr().out
            wide += [f"{' '.join(words)}: {line}" for line in text.splitlines()
                     if len(line) > 80]
    assert wide == []


def test_readme_now_and_the_hint_agree(tmp_path: Path) -> None:
    make_identity("alice")
    proc = run_cli("generate", "--evals", str(FIXTURES / "racket" / "evals.jsonl"),
                   "--evals", str(FIXTURES / "ts"), cwd=tmp_path)
    hinted = re.search(r"pass --now (\d+)", proc.stderr)
    assert hinted and f"--now {hinted.group(1)}" in (ROOT / "README.md").read_text()


def test_hooks_install_refuses_a_bad_log_key(tmp_path: Path) -> None:
    """`hooks install --log-key`: only with --server, and the key file as the timestamp
    key's (mode 0600, outside the repository); a refused key installs nothing and sets no
    elite.logKey."""
    bare = tmp_path / "server.git"
    git("init", "-q", "--bare", str(bare))
    good = key_file(tmp_path, "server")
    client = run_cli("hooks", "install", "--log-key", str(good), cwd=bare, check=1)
    assert "--log-key is for --server" in client.stderr
    loose = tmp_path / "loose.json"
    loose.write_bytes(good.read_bytes())
    loose.chmod(0o644)
    inside = bare / "log.json"
    inside.write_bytes(good.read_bytes())
    inside.chmod(0o600)
    for keyf, said in ((loose, "mode 644, must be 0600"), (inside, "is inside the repository")):
        refused = run_cli("hooks", "install", "--server", "--log-key", str(keyf), cwd=bare,
                          check=1)
        assert said in refused.stderr and "Traceback" not in refused.stderr, refused.stderr
        assert git("config", "elite.logKey", cwd=bare, check=False).stdout == ""
        assert not (bare / "hooks" / "pre-receive").exists()
        assert not (bare / "hooks" / "post-receive").exists()
