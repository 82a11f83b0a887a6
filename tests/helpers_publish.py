"""Builders for publish tests: local manifests in $AGENTD_HOME/elite/, agent project repos,
and reading what a bare registry holds. Real files, real git, real signatures."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from git_elite.core import documents
from tests.conftest import git
from tests.helpers_registry import manifest, profile


def elite_root(home: Path | None = None) -> Path:
    return (home or Path(os.environ["AGENTD_HOME"])) / "elite"


def write_agent(owner: str, n: int = 0, home: Path | None = None, **kw: Any) -> str:
    """$AGENTD_HOME/elite/<agent_id>/{manifest,profile}.json for agent `n` of `owner`."""
    config = profile(n)
    body = manifest(owner, config, **kw)
    folder = elite_root(home) / body["agent_id"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_bytes(documents.to_bytes(body))
    (folder / "profile.json").write_bytes(documents.to_bytes(config))
    return str(body["agent_id"])


def local_manifest(agent_id: str, home: Path | None = None) -> dict[str, Any]:
    """The manifest made here for `agent_id`: unattached, else in the one project that made it
    ($AGENTD_HOME/elite/projects/<project>/<agent_id>/, issue 27 item 3)."""
    found = [elite_root(home) / agent_id / "manifest.json",
             *elite_root(home).glob(f"projects/*/{agent_id}/manifest.json")]
    body: dict[str, Any] = json.loads(next(p for p in found if p.is_file()).read_text())
    return body


def agent_project(tmp: Path, url: str = "https://example.invalid/my-agents.git") -> Path:
    """A git repo with one commit and an origin: where an agent's source lives."""
    repo = tmp / "my-agents"
    (repo / "agents" / "editor").mkdir(parents=True)
    (repo / "agents" / "editor" / "README.md").write_text("editor agent\n")
    git("init", "-q", str(repo))
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "agent source", cwd=repo)
    git("remote", "add", "origin", url, cwd=repo)
    return repo


def tip(server: Path, branch: str = "main") -> str:
    return git("rev-parse", branch, cwd=server).stdout.strip()


def show(server: Path, path: str, rev: str = "main") -> bytes | None:
    proc = git("show", f"{rev}:{path}", cwd=server, check=False)
    return proc.stdout.encode() if proc.returncode == 0 else None


def index(server: Path, rev: str = "main") -> dict[str, Any]:
    """The index head at `rev` with "agents": every entry of every shard (each checked
    against the head's digest), the view format 1 gave in one file."""
    from git_elite.core.index_read import IndexReader

    reader = IndexReader(lambda path: show(server, path, rev), str(server))
    value: dict[str, Any] = dict(reader.head)
    value["agents"] = dict(reader.entries())
    assert not reader.warnings, reader.warnings
    return value


def write_identity(home: Path, seed: bytes) -> str:
    """$home/identity.json (SPEC §2) for the key of `seed`; returns its did."""
    import base58

    from git_elite.core import keys

    k = keys.Keypair.from_seed(seed)
    body = {"did": k.did, "publicKeyBase58": base58.b58encode(k.public).decode(),
            "secretKeyBase58": base58.b58encode(k.secret64).decode(),
            "publicKeyMultibase": k.did[len("did:key:"):], "createdAt": 0, "alias": "p"}
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / "identity.json").write_bytes(documents.to_bytes(body))
    (home / "identity.json").chmod(0o600)
    return k.did


def write_agent_for(home: Path, seed: bytes, n: int) -> str:
    """Agent `n` signed by the key of `seed`, in $home/elite/<agent_id>/."""
    from git_elite.core import keys

    config = profile(n)
    body = {k: v for k, v in manifest("alice", config).items()
            if k not in ("owner_did", "signature_ed25519")}
    signed = documents.sign(body, keys.Keypair.from_seed(seed), documents.MANIFEST)
    folder = elite_root(home) / signed["agent_id"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_bytes(documents.to_bytes(signed))
    (folder / "profile.json").write_bytes(documents.to_bytes(config))
    return str(signed["agent_id"])
