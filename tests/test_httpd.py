"""git_elite.edges.httpd against the radicle-httpd test double (tests/httpd_double.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from git_elite.core.errors import RegistryError
from git_elite.edges import httpd
from tests.conftest import SEEDS, git
from tests.httpd_double import Double, serve
from tests.radicle_fixtures import RadHome, RadRepo
from tests.test_radicle import ALICE, BOB, make_source, tip_of


@pytest.fixture()
def published(tmp_path: Path) -> tuple[RadRepo, Path]:
    home = RadHome(tmp_path / "rad")
    home.write_keys(bytes.fromhex(SEEDS["alice"]))
    src = make_source(tmp_path)
    (src / "INDEX.json").write_text(json.dumps({"agent_count": 0}) + "\n")
    (src / "agents").mkdir()
    (src / "agents" / "m.json").write_bytes("{\"name\": \"é\"}\n".encode())
    git("add", ".", cwd=src)
    git("commit", "-q", "-m", "index", cwd=src)
    return home.init_repo(src, [ALICE, BOB]), src


@pytest.mark.parametrize("shape", ["repos", "projects", "no-raw"])
def test_reads_head_delegates_and_blobs(published: tuple[RadRepo, Path], shape: str) -> None:
    repo, src = published
    double = Double(repo.storage, repo.rid, shape)
    with serve(double) as base:
        remote = httpd.open_repo(base, repo.rid, timeout=5, retries=0)
        assert remote.head == tip_of(src)
        assert remote.delegates == (ALICE.did, BOB.did)
        assert remote.default_branch == "main"
        assert json.loads(remote.index()) == {"agent_count": 0}
        assert remote.read("agents/m.json") == (src / "agents" / "m.json").read_bytes()
        with pytest.raises(RegistryError, match="not found"):
            remote.read("agents/missing.json")
    assert remote.api == ("projects" if shape == "projects" else "repos")
    via_blob_api = any("/blob/" in p and p.endswith("agents/m.json") for p in double.requests)
    assert via_blob_api == (shape == "no-raw")


def test_retries_then_succeeds(published: tuple[RadRepo, Path]) -> None:
    repo, _ = published
    double = Double(repo.storage, repo.rid)
    double.failures = 2
    with serve(double) as base:
        assert httpd.open_repo(base, repo.rid, timeout=5, retries=2).head
    assert len(double.requests) == 3


def test_gives_up_with_a_clear_error(published: tuple[RadRepo, Path]) -> None:
    repo, _ = published
    double = Double(repo.storage, repo.rid)
    double.failures = 5
    with serve(double) as base, pytest.raises(RegistryError, match="HTTP 503"):
        httpd.open_repo(base, repo.rid, timeout=5, retries=1)


def test_unknown_repo_and_unreachable_server(published: tuple[RadRepo, Path]) -> None:
    repo, _ = published
    with serve(Double(repo.storage, repo.rid)) as base, \
            pytest.raises(RegistryError, match="does not know"):
        httpd.open_repo(base, "rad:z42hL2jL4XNk6K8oHQaSWfMgCL7ji", timeout=5, retries=0)
    with pytest.raises(RegistryError, match="cannot reach"):
        httpd.open_repo("http://127.0.0.1:9", repo.rid, timeout=2, retries=0)
