"""Builders for the attack catalogue (tests/test_attacks.py): one bare server with the real
pre-receive hook, reset to a recorded tip before each attack, and assertions that a push was
refused for an exact rule while the server's branch did not move."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from git_elite.core import documents, layout
from tests.conftest import git
from tests.helpers_registry import agent_files, agent_id_of, commit_raw, make_server, profile, push

Files = dict[str, bytes | None]


@dataclass(frozen=True)
class Server:
    """A registry work tree (`work`, remote `origin`) and its hooked bare server (`bare`);
    `tip` is the server's main at the start of every test."""

    work: Path
    bare: Path
    tip: str


def start(tmp: Path) -> Server:
    """Server holding alice's agent 1 and bob's agent 2 (signed, INDEX.json right)."""
    work, bare = make_server(tmp)
    commit_raw(work, {**agent_files("alice", 1), **agent_files("bob", 2)}, index=True)
    assert push(work).returncode == 0
    return Server(work, bare, head(work))


def reset(server: Server) -> Path:
    """Put the server's main and the work tree back to `server.tip`; drop other refs."""
    git("update-ref", "refs/heads/main", server.tip, cwd=server.bare)
    for ref in git("for-each-ref", "--format=%(refname)", cwd=server.bare).stdout.split():
        if ref != "refs/heads/main":
            git("update-ref", "-d", ref, cwd=server.bare)
    git("fetch", "-q", "--prune", "origin", cwd=server.work)
    git("reset", "-q", "--hard", server.tip, cwd=server.work)
    git("clean", "-qfdx", cwd=server.work)
    return server.work


def head(repo: Path, rev: str = "HEAD") -> str:
    return git("rev-parse", rev, cwd=repo).stdout.strip()


def aid(n: int) -> str:
    return agent_id_of(profile(n))


def mpath(n: int) -> str:
    return layout.agent_path(aid(n), "manifest.json")


def ppath(n: int) -> str:
    return layout.agent_path(aid(n), "profile.json")


def doc(body: dict[str, object]) -> bytes:
    return documents.to_bytes(body)


def commit(work: Path, files: Mapping[str, bytes | None], message: str = "attack") -> str:
    """Commit with no client hooks (an attacker skips them), INDEX.json rebuilt honestly."""
    return commit_raw(work, dict(files), message, index=True)


def rejects(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if "git-elite: REJECT" in line]


def accepted(server: Server, files: Mapping[str, bytes | None]) -> str:
    sha = commit(server.work, files, "honest")
    result = push(server.work)
    assert result.returncode == 0, result.stderr
    assert head(server.bare, "main") == sha
    return sha


def refused(server: Server, sha: str, rule: str, path: str = "",
            result: subprocess.CompletedProcess[str] | None = None, **push_kw: bool
            ) -> list[str]:
    """Push HEAD (unless `result` is given); assert the push failed, a REJECT line names
    commit `sha`, `path` and `[rule]`, and the server's main did not move. Returns the lines."""
    before = head(server.bare, "main")
    result = result or push(server.work, **push_kw)
    lines = rejects(result)
    want = f"REJECT {sha[:7]} {path}"
    assert result.returncode != 0, result.stderr
    assert any(want in line and f": [{rule}] " in line for line in lines), \
        f"no `{want}…: [{rule}]` in:\n{result.stderr}"
    assert "git-elite: push refused" in result.stderr
    assert head(server.bare, "main") == before, "a refused push moved the server's branch"
    return lines


def mirror_of(server: Server, tmp: Path) -> tuple[Path, Path]:
    """A bare mirror of the server (no hook: its operator is the attacker) and a clone of
    it to edit with; returns (mirror, clone)."""
    mirror = tmp / "mirror.git"
    git("clone", "-q", "--bare", str(server.bare), str(mirror))
    clone = tmp / "mirror-work"
    git("clone", "-q", str(mirror), str(clone))
    return mirror, clone
