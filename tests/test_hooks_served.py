"""Hooks that run where git runs them (issue 10.4, SPEC §13): the installed shims call the
Python that installed them, so a server hook run by `git daemon` or by `git http-backend`
under a real web server (lighttpd, from Debian's packages), as another user with a minimal
environment, checks pushes instead of failing with `git-elite: not found`.

Each server test pushes a valid manifest (accepted) and a forged one (refused, its REJECT
line shown to the pusher) over loopback. The web-server tests need lighttpd (`.ci/run`
installs it); without it they are skipped with the reason. The "another user" variants need
root (to start the server as `nobody`) and an interpreter that user can run.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import git, run_cli
from tests.helpers_registry import agent_files, commit_raw, make_server

MINIMAL_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
LIGHTTPD = shutil.which("lighttpd") or next(
    (p for p in ("/usr/sbin/lighttpd",) if os.access(p, os.X_OK)), None)
HTTP_BACKEND = next((p for p in ("/usr/lib/git-core/git-http-backend",
                                 "/usr/libexec/git-core/git-http-backend")
                     if os.access(p, os.X_OK)), None)


def _site_packages() -> str:
    import sysconfig

    return sysconfig.get_paths()["purelib"]


@functools.cache
def shared_python() -> tuple[Path | None, str]:
    """An interpreter another user can run, seeing this environment's packages: this one
    when it can, else a virtualenv of the system's Python 3.11+ in a world-readable
    directory whose site-packages adds ours (our interpreter may live under a private
    home, as pyenv's does, while the packages need not). (None, why) when neither works."""
    if os.geteuid() != 0:
        return None, "not root: cannot start a server as another user"
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return None, "no user `nobody`"
    candidates = [Path(sys.executable)]
    system = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    if system:
        venv = Path(tempfile.mkdtemp(prefix="git-elite-nobody-venv-"))
        venv.chmod(0o755)
        atexit.register(shutil.rmtree, venv, True)
        if True:
            made = subprocess.run([system, "-m", "venv", "--clear", "--without-pip", str(venv)],
                                  capture_output=True, check=False)
            if made.returncode == 0:
                site = next(venv.glob("lib/python3.*/site-packages"))
                (site / "git_elite_tests.pth").write_text(
                    f"import site; site.addsitedir({_site_packages()!r})\n")
        candidates.append(venv / "bin" / "python3")
    for python in candidates:
        try:
            probe = subprocess.run([str(python), "-P", "-c", "import git_elite.launcher, nacl,"
                                    " pygit2"], user="nobody", env=MINIMAL_ENV,
                                   capture_output=True, check=False, cwd="/")
        except OSError:
            continue
        if probe.returncode == 0:
            return python, ""
    return None, (f"user nobody cannot run {sys.executable} (a private directory?) and no "
                  "system Python 3.11+ reaches this environment's packages")


USERS = [pytest.param("self", id="as-this-user"), pytest.param("nobody", id="as-nobody")]


def need_user(user: str) -> None:
    if user != "self" and shared_python()[0] is None:
        pytest.skip(f"the server cannot run as {user}: {shared_python()[1]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, proc: subprocess.Popen[bytes], log: Path | None = None) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            detail = log.read_text(errors="replace") if log and log.exists() else ""
            raise AssertionError(f"server exited {proc.returncode}: {detail[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listening on 127.0.0.1:{port}")


def as_user(user: str) -> dict[str, object]:
    if user == "self":
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(work, root): a registry work tree, and a world-readable directory holding
    `registry.git` (a bare copy with the server hook, pushable over HTTP)."""
    work, _ = make_server(tmp_path)
    root = Path(tempfile.mkdtemp(prefix="git-elite-served-"))
    root.chmod(0o755)
    bare = root / "registry.git"
    git("clone", "-q", "--bare", str(work), str(bare))
    run_cli("hooks", "install", "--server", cwd=bare)
    git("config", "http.receivepack", "true", cwd=bare)
    try:
        yield work, root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def give_to(root: Path, user: str) -> None:
    """Hand the served directory to `user`; for another user, the hook is installed again
    by an interpreter that user can run (as an administrator would)."""
    if user != "self":
        python = shared_python()[0]
        assert python is not None
        for bare in root.glob("*.git"):
            subprocess.run([str(python), "-P", "-m", "git_elite.launcher", "hooks",
                            "install", "--server"], cwd=bare, check=True, capture_output=True)
        entry = pwd.getpwnam(user)
        for path in [root, *root.rglob("*")]:
            os.lchown(path, entry.pw_uid, entry.pw_gid)


def push_valid_then_forged(work: Path, url: str) -> None:
    """A valid manifest is accepted; a forged one is refused with its REJECT line shown."""
    files = agent_files("alice", 1)
    commit_raw(work, dict(files), "add agent", index=True)
    ok = git("push", "-q", url, "HEAD:main", cwd=work, check=False, env={"LC_ALL": "C"})
    assert ok.returncode == 0, ok.stderr
    assert "commit(s) verified" in ok.stderr, ok.stderr
    manifest_path = next(p for p in files if p.endswith("manifest.json"))
    forged = json.loads(files[manifest_path])
    forged["metrics"]["success_rate"] = 0.99
    commit_raw(work, {manifest_path: json.dumps(forged, indent=2).encode() + b"\n"},
               "forge", index=True)
    bad = git("push", url, "HEAD:main", cwd=work, check=False, env={"LC_ALL": "C"})
    assert bad.returncode != 0
    short = git("rev-parse", "HEAD", cwd=work).stdout.strip()[:7]
    assert f"remote: git-elite: REJECT {short} {manifest_path}: [signature]" in bad.stderr, \
        bad.stderr
    assert "not found" not in bad.stderr


# the shim itself -----------------------------------------------------------------------------
def test_shim_names_the_installing_python(tmp_path: Path) -> None:
    bare = tmp_path / "r.git"
    git("init", "-q", "--bare", str(bare))
    run_cli("hooks", "install", "--server", cwd=bare)
    text = (bare / "hooks" / "pre-receive").read_text()
    assert f"INSTALL_PYTHON={Path(sys.executable).parent}/python" in text  # python or python3
    assert "\"$INSTALL_PYTHON\" -P -c 'from git_elite.launcher import run; run()'" in text


def test_push_with_a_minimal_environment(tmp_path: Path) -> None:
    """git runs the hook with PATH=/usr/bin:/bin (no git-elite there): it still checks."""
    work, server = make_server(tmp_path)
    env = {**MINIMAL_ENV, "HOME": os.environ["HOME"]}
    files = agent_files("alice", 2)
    commit_raw(work, dict(files), "add agent", index=True)
    ok = subprocess.run(["git", "push", "-q", str(server), "HEAD:main"], cwd=work, env=env,
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "commit(s) verified" in ok.stderr, ok.stderr


def _broken_python(server: Path) -> None:
    hook = server / "hooks" / "pre-receive"
    text = hook.read_text()
    start = text.index("INSTALL_PYTHON=")
    end = text.index("\n", start)
    hook.write_text(text[:start] + "INSTALL_PYTHON=/nonexistent/venv/bin/python" + text[end:])


def test_gone_python_falls_back_to_path_with_a_warning(tmp_path: Path) -> None:
    work, server = make_server(tmp_path)
    _broken_python(server)
    commit_raw(work, dict(agent_files("alice", 3)), "add agent", index=True)
    proc = git("push", "-q", str(server), "HEAD:main", cwd=work, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "/nonexistent/venv/bin/python, the Python that installed this hook, is gone; " \
        "running git-elite from PATH" in proc.stderr
    assert "commit(s) verified" in proc.stderr


def test_gone_python_and_no_path_refuses_with_a_clear_line(tmp_path: Path) -> None:
    work, server = make_server(tmp_path)
    _broken_python(server)
    commit_raw(work, dict(agent_files("alice", 4)), "add agent", index=True)
    before = git("rev-parse", "main", cwd=server).stdout
    proc = subprocess.run(["git", "push", "-q", str(server), "HEAD:main"], cwd=work,
                          env={**MINIMAL_ENV, "HOME": os.environ["HOME"]},
                          capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "cannot run the git elite hook: /nonexistent/venv/bin/python" in proc.stderr
    assert "git elite hooks install` again" in proc.stderr
    assert git("rev-parse", "main", cwd=server).stdout == before


def test_a_git_elite_directory_in_the_work_tree_is_not_run(tmp_path: Path) -> None:
    """`-P`: the client hooks run from the work tree; a `git_elite/` there is not imported."""
    work, _ = make_server(tmp_path)
    run_cli("hooks", "install", cwd=work)
    fake = work / "git_elite"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "launcher.py").write_text(
        "import pathlib\npathlib.Path('HIJACKED').write_text('x')\nraise SystemExit(0)\n")
    files = agent_files("alice", 5)
    for path, data in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(data)
    git("add", *files, cwd=work)
    proc = git("commit", "-q", "-m", "add agent", cwd=work, check=False)
    assert proc.returncode == 0, proc.stderr
    assert not (work / "HIJACKED").exists()
    assert b'"agents"' in git("show", "HEAD:INDEX.json", cwd=work).stdout.encode()


def test_merge_driver_uses_the_installing_python(tmp_path: Path) -> None:
    work, _ = make_server(tmp_path)
    run_cli("hooks", "install", cwd=work)
    driver = git("config", "merge.elite-index.driver", cwd=work).stdout.strip()
    assert driver.startswith(f"if [ -x {Path(sys.executable).parent}/python")
    assert "else git-elite hook merge-driver %O %A %B %P; fi" in driver


# real servers on loopback ----------------------------------------------------------------------
@pytest.mark.parametrize("user", USERS)
def test_push_over_git_daemon(served: tuple[Path, Path], user: str) -> None:
    need_user(user)
    work, root = served
    give_to(root, user)
    port = free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--listen=127.0.0.1", f"--port={port}",
         f"--base-path={root}", "--export-all", "--enable=receive-pack",
         "--informative-errors", str(root)],
        env=MINIMAL_ENV, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        **as_user(user))  # type: ignore[call-overload]
    try:
        wait_for(port, daemon)
        push_valid_then_forged(work, f"git://127.0.0.1:{port}/registry.git")
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


LIGHTTPD_CONF = """\
server.document-root = "{root}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{logs}/error.log"
server.modules += ("mod_alias", "mod_cgi", "mod_setenv")
alias.url += ("/git" => "{backend}")
$HTTP["url"] =~ "^/git" {{
    cgi.assign = ("" => "")
    setenv.add-environment = (
        "GIT_PROJECT_ROOT" => "{root}",
        "GIT_HTTP_EXPORT_ALL" => ""
    )
}}
"""


@pytest.mark.skipif(LIGHTTPD is None, reason="lighttpd is not installed (Debian package "
                    "`lighttpd`; .ci/run installs it): smart HTTP push through a real web "
                    "server not tested")
@pytest.mark.skipif(HTTP_BACKEND is None, reason="git-http-backend not found")
@pytest.mark.parametrize("user", USERS)
def test_push_over_smart_http_through_lighttpd(served: tuple[Path, Path], user: str) -> None:
    need_user(user)
    work, root = served
    logs = Path(tempfile.mkdtemp(prefix="git-elite-lighttpd-"))
    logs.chmod(0o755)
    port = free_port()
    conf = logs / "lighttpd.conf"
    conf.write_text(LIGHTTPD_CONF.format(root=root, port=port, logs=logs,
                                         backend=HTTP_BACKEND))
    give_to(root, user)
    give_to(logs, user)
    server = subprocess.Popen([str(LIGHTTPD), "-D", "-f", str(conf)], env=MINIMAL_ENV,
                              cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              **as_user(user))  # type: ignore[call-overload]
    try:
        wait_for(port, server, logs / "error.log")
        push_valid_then_forged(work, f"http://127.0.0.1:{port}/git/registry.git")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(logs, ignore_errors=True)


def test_a_shim_in_the_old_style_gets_the_runner() -> None:
    """A hook shim written as `exec git-elite hook …` (the first release's way) is installed
    with the runner too: its call goes through the installing Python."""
    from git_elite.cli.commands.hooks import compose

    old = ("#!/bin/sh\n# git-elite-hook: installed by `git elite hooks install --server`\n"
           "here=$(dirname \"$0\")\ninput=$(cat)\n"
           "printf '%s\\n' \"$input\" | exec git-elite hook post-receive \"$@\"\n")
    text = compose(old)
    assert "exec git-elite hook" not in text
    assert "printf '%s\\n' \"$input\" | elite hook post-receive \"$@\"\n" in text
    assert text.index("INSTALL_PYTHON=") < text.index("here=$(dirname")
    proc = subprocess.run(["sh", "-n"], input=text, text=True, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
