"""`git elite import`: verified, byte-identical copy; untrusted owners refused."""

from __future__ import annotations

import os
from pathlib import Path

from git_elite.core import layout
from tests.conftest import run_cli
from tests.helpers_discover import registry_with
from tests.helpers_registry import agent_id_of, key, profile

AGENT = agent_id_of(profile(1))


def imported() -> Path:
    return Path(os.environ["AGENTD_HOME"]) / "elite" / "imported" / AGENT


def test_trusted_owner_imported_byte_for_byte(tmp_path: Path) -> None:
    work, bare = registry_with(tmp_path, "reg", [{"owner": "alice", "n": 1}])
    run_cli("trust", "add", key("alice").did)
    run_cli("import", AGENT, "--registry", str(bare))
    for name in ("manifest.json", "profile.json"):
        assert (imported() / name).read_bytes() == \
            (work / layout.agent_path(AGENT, name)).read_bytes()
    assert sorted(p.name for p in imported().iterdir()) == ["manifest.json", "profile.json"]


def test_untrusted_owner_refused_unless_allowed(tmp_path: Path) -> None:
    _, bare = registry_with(tmp_path, "reg", [{"owner": "bob", "n": 1, "rate": 0.5}])
    proc = run_cli("import", AGENT, "--registry", str(bare), check=1)
    assert key("bob").did in proc.stderr and "git elite trust add" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not imported().exists()
    run_cli("import", AGENT, "--registry", str(bare), "--allow-untrusted")
    assert (imported() / "manifest.json").exists()


def test_unknown_and_malformed_agent_ids(tmp_path: Path) -> None:
    _, bare = registry_with(tmp_path, "reg", [{"owner": "alice", "n": 1}])
    proc = run_cli("import", "f" * 64, "--registry", str(bare), check=1)
    assert "is not listed in reg" in proc.stderr
    assert "is not an agent id" in run_cli("import", "xyz", "--registry", str(bare),
                                        check=2).stderr
