"""Builders for the witnessed-log tests (SPEC §15): a registry declaring a log role served by
a bare repository with the real pre-receive and post-receive hooks and a log key file, and
real `git elite witness serve` processes on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from git_elite.core import logrole
from git_elite.edges import git as gitedge
from git_elite.edges import tlogstore
from tests.conftest import git, run_cli
from tests.helpers_freshness import key_file
from tests.helpers_registry import agent_files, commit_raw, key, make_identity, push

LOG_KEY = "dave"
ORIGIN = "example.org/chrysalis-elites"


@dataclass(frozen=True)
class Logged:
    """`work` (remote origin = `bare`), the hooked bare server logging with `key_file`."""

    work: Path
    bare: Path
    key_file: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def logged_server(tmp: Path, witnesses: list[tuple[str, str, str]], quorum: int) -> Logged:
    """A registry whose log role names `witnesses` ((name, seed name, url)), served by a
    bare repository with `hooks install --server --log-key`. No push yet."""
    make_identity("server")
    work = tmp / "work"
    args = ["init", str(work), "--name", "chrysalis-elites", "--log-key", key(LOG_KEY).did,
            "--log-origin", ORIGIN, "--quorum", str(quorum)]
    for name, seed, url in witnesses:
        args += ["--witness", f"{name}={key(seed).did}@{url}"]
    run_cli(*args)
    bare = tmp / "server.git"
    git("clone", "-q", "--bare", str(work), str(bare))
    keyf = key_file(tmp, LOG_KEY)
    run_cli("hooks", "install", "--server", "--log-key", str(keyf), cwd=bare)
    git("config", "elite.witnessTimeout", "3", cwd=bare)
    git("remote", "add", "origin", str(bare), cwd=work)
    git("fetch", "-q", "origin", cwd=work)
    git("branch", "-q", "--set-upstream-to=origin/main", cwd=work)
    return Logged(work, bare, keyf)


def push_agent(server: Logged, owner: str, n: int) -> tuple[str, str]:
    """Commit and push agent `n` of `owner`; returns (tip, the push's stderr)."""
    sha = commit_raw(server.work, agent_files(owner, n), f"agent {n}", index=True)
    result = push(server.work)
    assert result.returncode == 0, result.stderr
    return sha, result.stderr


def stored(repo: Path) -> tlogstore.Stored:
    found = tlogstore.current(gitedge.open_repo(repo))
    assert found is not None
    return found


def leaf_commits(repo: Path) -> list[str]:
    from git_elite.core import note

    log = stored(repo)
    size = note.Checkpoint.parse(note.Note.parse(log.note).text).size
    return [logrole.parse_leaf(d)["commit"] for d in tlogstore.leaves(log, 0, size)]  # type: ignore[index]


@dataclass
class Witness:
    """A real `git elite witness serve` process (identity SEEDS[seed]) on loopback."""

    name: str
    seed: str
    port: int
    home: Path
    logs: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "AGENTD_HOME": str(self.home)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "git_elite", "witness", "serve", "--listen",
             f"127.0.0.1:{self.port}", "--logs", str(self.logs), "--name", self.name],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    raise AssertionError(f"witness {self.name} exited: {err}") from None
                time.sleep(0.05)
        raise AssertionError(f"witness {self.name} did not listen on {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


def make_witness(tmp: Path, name: str, seed: str, log_vkey: str) -> Witness:
    """A witness whose identity is SEEDS[seed], knowing the log `log_vkey`."""
    import pytest

    from tests.helpers_registry import make_identity as write_identity

    home = tmp / f"witness-{name}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AGENTD_HOME", str(home))
        write_identity(seed)
    logs = tmp / f"witness-{name}.logs"
    logs.write_text(f"{ORIGIN} {log_vkey}\n")
    return Witness(name, seed, free_port(), home, logs)


def log_vkey() -> str:
    from git_elite.core import note

    return note.verifier_key(ORIGIN, key(LOG_KEY).public)
