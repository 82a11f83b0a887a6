"""Bounded network (issue 17, items 6 and 11; f6.sh): real loopback servers that accept and
never answer, that trickle, that answer malformed JSON, or that send too much; a registry
with thousands of branches. Every case ends within its deadline in one warning line per
registry while the other registries still answer, and only the registry branch is fetched.
Real `git elite discover` subprocesses; `git config --global elite.networkTimeout 3`."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from bench.loopback import loopback
from tests.conftest import git, run_cli
from tests.helpers_discover import registry_with

RID = "rad:z42hL2jL4XNk6K8oHQaSWfMgCL7ji"


@pytest.fixture(autouse=True)
def short_deadline() -> None:
    git("config", "--global", "elite.networkTimeout", "3")


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return registry_with(tmp_path, "good", [{"owner": "alice", "n": 1}])[1]


@contextmanager
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        sock.close()


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    with loopback(handler) as url:
        yield url.rstrip("/")


class Trickle(BaseHTTPRequestHandler):
    """Answers 200 with a long body, one byte every 0.5 s (beats any per-read timeout)."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(200):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


def answering(body: bytes, reason: str = "OK") -> type[BaseHTTPRequestHandler]:
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200, reason)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Answer


def timed_discover(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = run_cli("discover", *args, check=None)
    return proc, time.monotonic() - started


def warnings_of(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stderr.splitlines() if "warning:" in line]


def test_a_stalled_git_server_does_not_block_the_others(good: Path) -> None:
    with silent_server() as port:
        url = f"http://127.0.0.1:{port}/r.git"
        proc, took = timed_discover("--registry", url, "--registry", str(good))
    assert proc.returncode == 0, proc.stderr
    assert took < 20, took
    lines = warnings_of(proc)
    assert len(lines) == 1 and url in lines[0] and "deadline" in lines[0], proc.stderr
    assert "good" in proc.stdout and "rank" in proc.stdout


def test_a_trickling_git_server_is_cut_off(good: Path) -> None:
    with http_server(Trickle) as base:
        proc, took = timed_discover("--registry", f"{base}/r.git", "--registry", str(good))
    assert proc.returncode == 0 and took < 20, (took, proc.stderr)
    assert len(warnings_of(proc)) == 1 and "deadline" in proc.stderr


def test_a_trickling_radicle_httpd_is_cut_off() -> None:
    with http_server(Trickle) as base:
        proc, took = timed_discover("--httpd", base, "--rid", RID)
    assert proc.returncode == 1 and took < 20, (took, proc.stderr)
    assert "deadline" in proc.stderr and "internal error" not in proc.stderr


MALFORMED = {
    "payload-list": {"payloads": {"xyz.radicle.project": [1]}, "delegates": []},
    "meta-string": {"payloads": {"xyz.radicle.project": {"meta": "x"}}, "delegates": []},
    "data-list": {"payloads": {"xyz.radicle.project": {"meta": {"head": "a" * 40},
                                                       "data": [1]}}, "delegates": []},
    "no-head": {"payloads": {"xyz.radicle.project": {}}, "delegates": []},
    "delegates-string": {"head": "a" * 40, "delegates": "did:key:x"},
    "top-list": [1, 2],
    "not-json": "{",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_httpd_answer_is_one_line(name: str) -> None:
    value = MALFORMED[name]
    body = value.encode() if isinstance(value, str) else json.dumps(value).encode()
    with http_server(answering(body)) as base:
        proc, _ = timed_discover("--httpd", base, "--rid", RID)
    assert proc.returncode == 1, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    # the one registry asked for: its own error, in one line naming the server's answer
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"/api/v1/repos/{RID}" in lines[0], proc.stderr


def test_an_http_reason_phrase_is_escaped() -> None:
    class Teapot(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(418, "\x1b[2Jgone")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with http_server(Teapot) as base:
        proc, _ = timed_discover("--httpd", base, "--rid", RID)
    assert proc.returncode == 1 and "\x1b" not in proc.stderr
    assert "\\e[2Jgone" in proc.stderr


def test_a_registry_sending_too_much_is_cut_off(good: Path) -> None:
    git("config", "--global", "elite.maxFetchBytes", "1000")
    proc, _ = timed_discover("--registry", f"file://{good}")
    assert proc.returncode == 1
    assert "sent more than 1000 bytes (git config elite.maxFetchBytes)" in proc.stderr


def test_only_the_registry_branch_is_fetched(good: Path, tmp_path: Path) -> None:
    """f11: 3,000 branches on a registry cost nothing: the cache holds the registry branch
    only, and a warm discover does not walk the others."""
    tip = git("rev-parse", "main", cwd=good).stdout.strip()
    lines = "".join(f"create refs/heads/b{i} {tip}\n" for i in range(3000))
    subprocess.run(["git", "update-ref", "--stdin"], cwd=good, input=lines, text=True,
                   check=True)
    run_cli("registry", "add", "many", str(good))
    run_cli("discover", "--registry", "many")
    started = time.monotonic()
    run_cli("discover", "--registry", "many")
    warm = time.monotonic() - started
    cache = next((Path(tmp_path) / "home" / ".agentd" / "cache" / "registries").glob("*.git"))
    heads = git("for-each-ref", "--format=%(refname)", "refs/heads", cwd=cache).stdout.split()
    assert heads == ["refs/heads/main"]
    seen = git("for-each-ref", "--format=%(refname)", "refs/elite", cwd=cache).stdout.split()
    assert seen == ["refs/elite/seen/main"]
    assert warm < 5, warm


def test_a_url_is_never_read_as_an_option(tmp_path: Path) -> None:
    """`--` before every URL handed to git: an --upload-pack=… "URL" is a repository name."""
    marker = tmp_path / "pwned"
    home = tmp_path / "home" / ".agentd"
    home.mkdir(parents=True, exist_ok=True)
    (home / "registries.yaml").write_text(
        f"registries: [{{name: evil, url: '--upload-pack=touch {marker};'}}]\n")
    proc = run_cli("discover", check=None)
    assert proc.returncode == 1 and not marker.exists()
    assert "internal error" not in proc.stderr
