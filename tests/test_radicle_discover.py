"""discover and verify against Radicle storage and radicle-httpd — through the TEST DOUBLES
of tests/radicle_fixtures.py and tests/httpd_double.py (not Radicle)."""

from __future__ import annotations

import json
from pathlib import Path

from git_elite.core.keys import nid_from_did
from tests.conftest import SEEDS, run_cli
from tests.helpers_discover import registry_with
from tests.helpers_registry import agent_files, agent_id_of, commit_raw, key, profile
from tests.httpd_double import Double, serve
from tests.radicle_fixtures import RadHome, RadRepo

ALICE, BOB = key("alice"), key("bob")
AGENTS = [{"owner": "bob", "n": 1}, {"owner": "carol", "n": 2, "rate": 0.85}]


def rad_registry(tmp: Path, owner: str = "alice") -> tuple[RadHome, RadRepo, Path]:
    work, _ = registry_with(tmp, "chrysalis-elites", AGENTS, owner=owner)
    home = RadHome(tmp / "rad")
    home.write_keys(bytes.fromhex(SEEDS["bob"]))
    return home, home.init_repo(work, [ALICE]), work


def test_rad_clone_working_copy_checked_ok(tmp_path: Path) -> None:
    home, repo, _ = rad_registry(tmp_path)
    clone = repo.clone(tmp_path / "wc", BOB, nid_from_did(ALICE.did))
    proc = run_cli("discover", "--json", cwd=clone, env=home.env())
    assert [r["agent_id"] for r in json.loads(proc.stdout)] == \
        [agent_id_of(profile(1)), agent_id_of(profile(2))]
    assert "Radicle: owner is a delegate" in proc.stderr
    verify = run_cli("verify", "--json", cwd=clone, env=home.env())
    assert json.loads(verify.stdout)["ok"] is True
    assert json.loads(verify.stdout)["radicle"]["checked"] is True


def test_tip_not_signed_by_a_delegate(tmp_path: Path) -> None:
    home, repo, work = rad_registry(tmp_path)
    commit_raw(work, agent_files("bob", 3), "unsigned", index=True)
    repo.push(ALICE, work, sign=False)
    clone = repo.clone(tmp_path / "wc", BOB, nid_from_did(ALICE.did))
    proc = run_cli("discover", cwd=clone, env=home.env(), check=1)
    assert "[signature]" in proc.stderr and "not signed by any delegate" in proc.stderr
    assert "its results are not shown" in proc.stderr and proc.stdout == ""
    verify = run_cli("verify", "--json", cwd=clone, env=home.env(), check=1)
    problems = json.loads(verify.stdout)["problems"]
    assert [p["rule"] for p in problems] == ["signature"]


def test_owner_not_a_delegate(tmp_path: Path) -> None:
    home, repo, _ = rad_registry(tmp_path, owner="server")
    clone = repo.clone(tmp_path / "wc", BOB, nid_from_did(ALICE.did))
    proc = run_cli("discover", cwd=clone, env=home.env(), check=1)
    assert "[identity]" in proc.stderr and "is not a delegate" in proc.stderr
    verify = run_cli("verify", cwd=clone, env=home.env(), check=1)
    assert "[identity]" in verify.stdout


def test_storage_unreachable_is_said_plainly(tmp_path: Path) -> None:
    home, repo, _ = rad_registry(tmp_path)
    clone = repo.clone(tmp_path / "wc", BOB, nid_from_did(ALICE.did))
    env = {**home.env(), "RAD_HOME": str(tmp_path / "empty")}
    proc = run_cli("discover", "--json", cwd=clone, env=env)
    assert len(json.loads(proc.stdout)) == 2
    assert "Radicle checks not made" in proc.stderr
    verify = run_cli("verify", cwd=clone, env=env)
    assert "Radicle checks not made" in verify.stderr


def test_httpd_discovery(tmp_path: Path) -> None:
    _, repo, _ = rad_registry(tmp_path)
    double = Double(repo.storage, repo.rid)
    with serve(double) as url:
        proc = run_cli("discover", "--json", "--httpd", url, "--rid", repo.rid)
    rows = json.loads(proc.stdout)
    assert [r["agent_id"] for r in rows] == [agent_id_of(profile(1)), agent_id_of(profile(2))]
    assert {r["registry"] for r in rows} == {repo.rid}
    assert "signed refs are not checked over radicle-httpd" in proc.stderr
    assert any("/raw/" in r and "manifest.json" in r for r in double.requests)


def test_httpd_owner_not_a_delegate(tmp_path: Path) -> None:
    _, repo, _ = rad_registry(tmp_path, owner="server")
    with serve(Double(repo.storage, repo.rid)) as url:
        proc = run_cli("discover", "--httpd", url, "--rid", repo.rid, check=1)
    assert "[identity]" in proc.stderr and "is not a delegate" in proc.stderr
