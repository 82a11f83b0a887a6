"""Builders for freshness tests (SPEC §6.1): a registry that declares a timestamp role, its
bare server with the real pre-receive and post-receive hooks and a timestamp key file, and
an attacker's mirror (a second bare repository) with planted timestamps."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from git_elite.core import documents, timestamp
from git_elite.edges import freshness, stamping
from tests.conftest import git, run_cli
from tests.helpers_attacks import head
from tests.helpers_registry import (
    agent_files,
    commit_raw,
    key,
    make_identity,
    node_env,
    push,
)

STAMP = "dave"  # the timestamp key of these tests (SEEDS["dave"])


@dataclass(frozen=True)
class Stamped:
    """`work` (remote origin = `bare`), the hooked bare server signing with `key_file`."""

    work: Path
    bare: Path
    key_file: Path


def key_file(tmp: Path, name: str = STAMP) -> Path:
    """identity.json of SEEDS[name] at tmp/keys/<name>.json, mode 0600 (outside any repo)."""
    import base58

    k = key(name)
    folder = tmp / "keys"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.json"
    body = {"did": k.did, "publicKeyBase58": base58.b58encode(k.public).decode(),
            "secretKeyBase58": base58.b58encode(k.secret64).decode(),
            "publicKeyMultibase": k.did.removeprefix("did:key:"), "createdAt": 0,
            "alias": name}
    path.write_text(json.dumps(body))
    path.chmod(0o600)
    return path


def stamped_server(tmp: Path, *, expires: int | None = None) -> Stamped:
    """A registry declaring SEEDS["dave"] as its timestamp key, served by a bare repository
    with `hooks install --server --timestamp-key`, holding alice's agent 1 and bob's agent 2
    (so the server has signed timestamp v1)."""
    make_identity("server")
    work = tmp / "work"
    run_cli("init", str(work), "--name", "chrysalis-elites", "--timestamp-key", key(STAMP).did)
    bare = tmp / "server.git"
    git("clone", "-q", "--bare", str(work), str(bare))
    keyf = key_file(tmp)
    run_cli("hooks", "install", "--server", "--timestamp-key", str(keyf), cwd=bare)
    if expires is not None:
        git("config", "elite.timestampExpires", str(expires), cwd=bare)
    git("remote", "add", "origin", str(bare), cwd=work)
    git("fetch", "-q", "origin", cwd=work)
    git("branch", "-q", "--set-upstream-to=origin/main", cwd=work)
    commit_raw(work, {**agent_files("alice", 1), **agent_files("bob", 2)}, index=True)
    result = push(work)
    assert result.returncode == 0, result.stderr
    assert "timestamp v1 signed" in result.stderr, result.stderr
    secret = json.loads(keyf.read_text())["secretKeyBase58"]
    assert secret not in result.stderr + result.stdout, "the post-receive hook leaked the key"
    return Stamped(work, bare, keyf)


def copy_server(template: Stamped, tmp: Path) -> Stamped:
    """A private copy of a module's stamped server (building one costs seconds): the same
    repositories and key file under `tmp`, origin and elite.timestampKey pointed at them."""
    import shutil

    for part in ("work", "server.git", "keys"):
        shutil.copytree(template.work.parent / part, tmp / part, symlinks=True)
    out = Stamped(tmp / "work", tmp / "server.git", tmp / "keys" / template.key_file.name)
    git("remote", "set-url", "origin", str(out.bare), cwd=out.work)
    git("config", "elite.timestampKey", str(out.key_file), cwd=out.bare)
    make_identity("server")
    return out


def honest_push(server: Stamped, files: dict[str, bytes | None]) -> str:
    sha = commit_raw(server.work, files, "honest", index=True)
    result = push(server.work)
    assert result.returncode == 0, result.stderr
    assert head(server.bare, "main") == sha
    return sha


def mirror(server: Stamped, tmp: Path, name: str = "mirror.git") -> Path:
    """The attacker's copy: every ref of the server (branch and timestamp), no hooks."""
    path = tmp / name
    git("clone", "-q", "--mirror", str(server.bare), str(path))
    return path


def version(repo: Path) -> int:
    found = freshness.current(repo)
    assert found is not None and found.raw is not None
    return int(json.loads(found.raw)["version"])


def plant(repo: Path, body: dict[str, Any], signers: tuple[str, ...] = (STAMP,),
          parent: bool = True) -> str:
    """Write a timestamp signed by `signers` into `repo`'s refs/elite/timestamp (what the
    operator of a mirror can do without a hook in the way)."""
    signed = documents.sign_multi(body, [key(s) for s in signers], documents.TIMESTAMP)
    old = freshness.current(repo) if parent else None
    commit = stamping.make_commit(repo, signed, old, int(time.time()))
    git("update-ref", timestamp.REF, commit, cwd=repo)
    return commit


def body_for(repo: Path, **change: Any) -> dict[str, Any]:
    """An unsigned timestamp for `repo`'s main as the server would sign it, with `change`."""
    tip = head(repo, "main")
    index = git("cat-file", "blob", f"{tip}:INDEX.json", cwd=repo).stdout.encode()
    now = int(time.time())
    body = timestamp.body(registry="chrysalis-elites", owner_did=key("server").did,
                          branch="main", tip=tip, index=index, version=version(repo) + 1,
                          now=now, lifetime=3600)
    return {**body, **change}


__all__ = ["node_env"]
