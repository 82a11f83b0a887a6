"""`--offline` with a registry on this machine (issue 10.3): a path or file:// URL needs no
network, so `discover`/`import --offline` read it without an earlier online run, and
`verify` reads a file:// URL where it is."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import git, run_cli
from tests.helpers_publish import write_agent
from tests.helpers_registry import make_identity, make_server


@pytest.fixture()
def server(tmp_path: Path) -> Path:
    _, bare = make_server(tmp_path)
    make_identity("alice")
    write_agent("alice", 1)
    write_agent("alice", 2)
    run_cli("publish", "--registry", str(bare))
    shutil.rmtree(Path(os.environ["AGENTD_HOME"]) / "cache")  # a new reader: no cached copy
    return bare


FORMS = {
    "relative-path": lambda bare: os.path.relpath(bare),
    "absolute-path": lambda bare: str(bare),
    "file-url": lambda bare: bare.as_uri(),
}


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS.keys())
def test_discover_offline_reads_a_local_registry(server: Path, form: object,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(server.parent)
    where = form(server)  # type: ignore[operator]
    proc = run_cli("discover", "--registry", where, "--offline", "--json", "--top", "0",
                   cwd=server.parent)
    assert len(json.loads(proc.stdout)) == 2
    assert "no usable cached copy" not in proc.stderr


def test_discover_offline_reads_a_local_working_copy(tmp_path: Path) -> None:
    work, bare = make_server(tmp_path)
    make_identity("alice")
    agent = write_agent("alice", 3)
    run_cli("publish", "--registry", str(bare))
    git("pull", "-q", "origin", "main", cwd=work)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = run_cli("discover", "--registry", str(work), "--offline", "--json", cwd=elsewhere)
    assert [row["agent_id"] for row in json.loads(proc.stdout)] == [agent]


def test_import_offline_reads_a_local_registry(server: Path) -> None:
    rows = json.loads(run_cli("discover", "--registry", str(server), "--offline",
                              "--json").stdout)
    agent = rows[0]["agent_id"]
    run_cli("import", agent, "--registry", server.as_uri(), "--offline", "--allow-untrusted")
    assert (Path(os.environ["AGENTD_HOME"]) / "elite" / "imported" / agent
            / "manifest.json").is_file()


def test_offline_remote_registry_still_needs_a_cache() -> None:
    proc = run_cli("discover", "--registry", "https://example.invalid/elites.git", "--offline",
                   check=1)
    assert "no usable cached copy" in proc.stderr and "without --offline" in proc.stderr


def test_offline_local_registry_that_is_gone_is_one_line(tmp_path: Path) -> None:
    gone = tmp_path / "gone.git"
    proc = run_cli("discover", "--registry", gone.as_uri(), "--offline", check=1)
    assert "internal error" not in proc.stderr
    assert str(gone) in proc.stderr


def test_verify_file_url_reads_in_place(server: Path) -> None:
    proc = run_cli("verify", "--history", "--json", server.as_uri())
    assert json.loads(proc.stdout)["ok"] is True
    # the same tree through the path, and a file:// URL with a host refused as usage
    run_cli("verify", str(server))
    bad = run_cli("verify", "file://otherhost" + str(server), check=2)
    assert "no host" in bad.stderr


def test_verify_file_url_sees_uncloned_refs(server: Path) -> None:
    """Read in place, not cloned: a ref only the original has (refs/elite/*) is reachable."""
    tip = git("rev-parse", "main", cwd=server).stdout.strip()
    git("update-ref", "refs/elite/audit", tip, cwd=server)
    run_cli("verify", "--rev", "refs/elite/audit", server.as_uri())
