"""Issue 27 items 5–8 through the installed command line: timestamps without hand-editing
(6), the site (5), silence (7) and the small things a user meets (8)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git, run_cli
from tests.helpers_freshness import key_file
from tests.helpers_registry import key, make_identity


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
def test_discover_url_says_what_it_waits_for_and_how_long(tmp_path: Path) -> None:
    """A loopback server that accepts and never answers (never anything off this machine)."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])  # accepted, never answered
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        git("config", "--global", "elite.urlTimeout", "2")
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        proc = run_cli("discover", "--url", url, check=1)
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
    # 3 tries of 2 s and pauses of 0.25 + 0.5 s: 6.75 s, said as 7 s
    assert f"waiting for {url}IDENTITY.json: no answer after 3 s; waiting up to 7 s in all " \
           "(3 tries of up to 2 s" in proc.stderr
    assert "no complete answer within 2 s (after 3 tries)" in proc.stderr


# 8. small things -------------------------------------------------------------------------
def test_a_site_without_identity_names_the_url_not_an_empty_slot(tmp_path: Path) -> None:
    from tests.helpers_site import serve

    (tmp_path / "www").mkdir()
    with serve(tmp_path / "www") as url:
        proc = run_cli("discover", "--url", url, check=1)
    assert "no IDENTITY.json (not a git elite registry)" in proc.stderr
    assert "at  (" not in proc.stderr and "at (" not in proc.stderr
