"""One odd cached registry does not break trust (issue 17, item 8; f8.sh): `trust explain`
reads the cache clones' endorsements tolerantly — a gitlink, a symlink, an oversized blob,
or a cache that cannot be read at all is one warning and skipped, while the valid
endorsements of the same and other caches still count. Real cache clones, real CLI."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from git_elite.core import documents, trust
from tests.conftest import git, run_cli
from tests.helpers_pipeline import NOW, keypair

A, B, C = (keypair(n) for n in ("alice", "bob", "carol"))


def _cache(name: str) -> Path:
    return Path(os.environ["AGENTD_HOME"]) / "cache" / "registries" / f"{name}.git"


def _registry(tmp: Path, name: str, odd: str) -> None:
    """A cache clone holding A -> B, plus one odd entry under endorsements/."""
    repo = tmp / name
    body = trust.make_endorsement(A, B.did, ["*"], NOW)
    path = repo / "endorsements" / trust.endorsement_path(body["from"], body["to"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(documents.to_bytes(body))
    git("init", "-q", str(repo))
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "endorsements", cwd=repo)
    tip = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    entry = {"gitlink": f"160000 commit {'1' * 40}",
             "symlink": "120000 blob {blob}", "executable": "100755 blob {blob}",
             "oversized": "100644 blob {big}"}[odd]
    blob = _blob(repo, b"../../.agentd/identity.json")
    big = _blob(repo, b" " * (17 * 1024))
    nid_c = C.did.removeprefix("did:key:")
    sub = _mktree(repo, f"{entry.format(blob=blob, big=big)}\t{nid_c}.json\n")
    top = git("rev-parse", "HEAD:endorsements", cwd=repo).stdout.strip()
    rows = git("ls-tree", top, cwd=repo).stdout + f"040000 tree {sub}\tz6MkOdd\n"
    tree = _mktree(repo, f"040000 tree {_mktree(repo, rows)}\tendorsements\n")
    commit = git("commit-tree", tree, "-p", tip, "-m", "odd", cwd=repo).stdout.strip()
    git("update-ref", "refs/heads/main", commit, cwd=repo)
    git("clone", "-q", "--bare", str(repo), str(_cache(name)))


def _blob(repo: Path, data: bytes) -> str:
    return subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=data,
                          capture_output=True, check=True).stdout.decode().strip()


def _mktree(repo: Path, text: str) -> str:
    return subprocess.run(["git", "mktree"], cwd=repo, input=text, capture_output=True,
                          text=True, check=True).stdout.strip()


@pytest.mark.parametrize("odd", ["gitlink", "symlink", "executable", "oversized"])
def test_an_odd_entry_is_a_warning_and_trust_still_works(tmp_path: Path, odd: str) -> None:
    run_cli("trust", "add", A.did)
    _registry(tmp_path, "odd", odd)
    proc = run_cli("trust", "explain", B.did, "--json", check=0)
    assert json.loads(proc.stdout)["path"] == [A.did, B.did]
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "odd.git:endorsements/z6MkOdd/" in warnings[0], proc.stderr
    assert "ignored" in warnings[0] and "internal error" not in proc.stderr
    run_cli("trust", "explain", A.did, check=0)  # a DID in the trust set, plain output


def test_an_unreadable_cache_is_skipped(tmp_path: Path) -> None:
    run_cli("trust", "add", A.did)
    _registry(tmp_path, "good", "gitlink")
    broken = _cache("broken")
    broken.mkdir(parents=True)
    (broken / "HEAD").write_text("garbage\n")
    proc = run_cli("trust", "explain", B.did, "--json", check=0)
    assert json.loads(proc.stdout)["trusted"] is True
    assert "broken.git: cannot read its HEAD" in proc.stderr
