"""created_at far ahead of the checker's clock (threat-model row 4): publish refuses it before
pushing, the client pre-commit hook refuses the commit; both with `[rollback]`."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.conftest import SEEDS, git, run_cli
from tests.helpers_publish import elite_root, index, write_agent_for, write_identity
from tests.helpers_registry import agent_files, make_server, write_files

SEED = bytes.fromhex(SEEDS["alice"])
FAR = 2 * 86400


def test_publish_refuses_far_future_created_at(tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    home = Path(os.environ["AGENTD_HOME"])
    write_identity(home, SEED)
    late = write_agent_for(home, SEED, 1)
    ok = write_agent_for(home, SEED, 2)
    path = elite_root(home) / late / "manifest.json"
    far = _resigned(path.read_bytes(), int(time.time()) + FAR)
    path.write_bytes(far)
    proc = run_cli("publish", "--registry", str(server), cwd=tmp_path, check=1)
    assert f"git-elite: refused: {late}" in proc.stderr and "[rollback]" in proc.stderr, proc.stderr
    assert "clock skew" in proc.stderr
    assert set(index(server)["agents"]) == {ok}


def _resigned(raw: bytes, created_at: int) -> bytes:
    import json

    from git_elite.core import documents, keys

    body = {k: v for k, v in json.loads(raw).items() if k != "signature_ed25519"}
    body["created_at"] = created_at
    return documents.to_bytes(documents.sign(body, keys.Keypair.from_seed(SEED),
                                             documents.MANIFEST))


def test_pre_commit_refuses_far_future_created_at(tmp_path: Path) -> None:
    work, _ = make_server(tmp_path)
    files = agent_files("alice", 1, created_at=int(time.time()) + FAR)
    write_files(work, dict(files))
    git("add", "-A", cwd=work)
    proc = git("commit", "-qm", "far", cwd=work, check=False)
    assert proc.returncode != 0
    assert "[rollback]" in proc.stderr and "clock skew" in proc.stderr, proc.stderr
    near = agent_files("alice", 1, created_at=int(time.time()) + 3600)
    write_files(work, dict(near))
    git("add", "-A", cwd=work)
    git("commit", "-qm", "within the skew", cwd=work)
