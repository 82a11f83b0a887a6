"""Readers never go back in time on an agent they showed (issue 24, red-team round 2 f3 as
it stands now that the server refuses its set-up push): per registry, the highest manifest
`created_at` (and its sha256) of each agent shown is remembered under
$AGENTD_HOME/freshness/agents/, and an older (or equivocating) manifest of it from that
registry is refused as `rollback` by discover and import, over --url, a cache clone of a
path and a working copy, with or without --allow-stale. Real hooked bare server, real
pushes, real `git elite site` served on loopback."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from git_elite.core import agent_pin, documents, layout
from tests.conftest import git, run_cli
from tests.helpers_attacks import aid, mpath
from tests.helpers_registry import (
    T0,
    agent_files,
    agent_id_of,
    commit_raw,
    identity,
    isolated_module_env,
    key,
    make_server,
    profile,
    push,
    tombstone,
)
from tests.helpers_site import serve

NEW, OLD = T0 + 3600, T0  # agent 1's two manifests: v2 (0.81, shown first), v1 (0.99)


@dataclass(frozen=True)
class World:
    server: Path  # hooked bare registry: alice's agent 1 v1 (old), then v2 (new)
    work: Path
    old: str  # the commit holding v1
    new: str  # the commit holding v2
    old_site: Path
    new_site: Path
    refused: str  # the server's answer to f3's set-up push


def _role_identity() -> bytes:
    """f3's IDENTITY.json v2 with a timestamp role, signed by the registry owner."""
    body = identity("server", version=2)
    body.pop("signatures")
    body["timestamp"] = {"keys": [key("dave").did], "threshold": 1, "max_age": 86400}
    return documents.to_bytes(documents.sign_multi(body, [key("server")]))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("agent_memory")
    with isolated_module_env(tmp):
        work, server = make_server(tmp)
        old = commit_raw(work, agent_files("alice", 1, created_at=OLD, rate=0.99), index=True)
        assert push(work).returncode == 0
        run_cli("site", str(server), "-o", str(tmp / "old_site"))
        # f3's set-up: the role committed --no-verify without `git elite index`: refused
        commit_raw(work, {layout.IDENTITY: _role_identity()}, "declare timestamp role")
        refused = push(work)
        assert refused.returncode != 0
        git("reset", "-q", "--hard", "origin/main", cwd=work)
        new = commit_raw(work, agent_files("alice", 1, created_at=NEW, rate=0.81), index=True)
        assert push(work).returncode == 0
        run_cli("site", str(server), "-o", str(tmp / "new_site"))
        yield World(server, work, old, new, tmp / "old_site", tmp / "new_site",
                    refused.stderr)


def rates(stdout: str) -> dict[str, float]:
    return {str(row["agent_id"]): float(row["success_rate"]) for row in json.loads(stdout)}


def at(world: World, tmp: Path, tip: str, name: str) -> Path:
    """A bare copy of the registry whose main is `tip` (a mirror's snapshot)."""
    copy = tmp / name
    git("clone", "-q", "--bare", str(world.server), str(copy))
    git("update-ref", "refs/heads/main", tip, cwd=copy)
    return copy


def memory_files() -> list[Path]:
    return sorted((Path(os.environ["AGENTD_HOME"]) / "freshness" / "agents").glob("*.json"))


def rolled_back(stderr: str) -> bool:
    return (f"[rollback] agent {aid(1)[:12]} of registry" in stderr
            and f"created_at {OLD} " in stderr and f"created_at {NEW} " in stderr)


# pure --------------------------------------------------------------------------------------
SHA_A, SHA_B = "a" * 64, "b" * 64


@pytest.mark.parametrize(("seen", "served", "refused"), [
    (None, (5, SHA_A), None),
    ((5, SHA_A), (6, SHA_B), None),
    ((5, SHA_A), (5, SHA_A), None),
    ((5, SHA_A), (4, SHA_B), "is older than created_at 5"),
    ((5, SHA_A), (4, SHA_A), "is older than created_at 5"),
    ((5, SHA_A), (5, SHA_B), "(equivocation)"),
], ids=["first-seen", "newer", "same", "older", "older-same-digest", "equivocation"])
def test_judge(seen: tuple[int, str] | None, served: tuple[int, str],
               refused: str | None) -> None:
    why = agent_pin.judge(agent_pin.Seen(*seen) if seen else None, agent_pin.Seen(*served),
                          "c" * 64, "reg")
    if refused is None:
        assert why is None
    else:
        assert why is not None and refused in why and "agent cccccccccccc of registry reg" in why


@pytest.mark.parametrize("raw", [b"{", b"[]", b'{"agents": 3}', b"\xff"],
                         ids=["truncated", "not-object", "agents-not-object", "not-utf8"])
def test_a_damaged_memory_is_ignored(raw: bytes) -> None:
    assert agent_pin.parse(raw) == ({}, True)


def test_bad_entries_are_dropped() -> None:
    good = {"d" * 64: [7, SHA_A]}
    raw = json.dumps({"agents": {**good, "e" * 64: ["7", SHA_A], "x": [7, SHA_A],
                                 "f" * 64: [True, SHA_A], "0" * 64: [7, "A" * 64]}}).encode()
    assert agent_pin.parse(raw) == ({"d" * 64: agent_pin.Seen(7, SHA_A)}, True)


def test_the_cap_forgets_the_least_recent(monkeypatch: pytest.MonkeyPatch) -> None:
    from git_elite.edges import agents_seen

    monkeypatch.setattr(agent_pin, "CAP", 3)
    ids = [f"{i:064x}" for i in range(5)]
    memory = agents_seen.Memory("k" * 40, "reg")
    for agent_id in ids[:3]:
        assert memory.check(agent_id, 10, agent_id.encode()) is None
    memory.flush()
    assert memory.check(ids[0], 10, ids[0].encode()) is None  # shown again: most recent
    for agent_id in ids[3:]:
        assert memory.check(agent_id, 10, agent_id.encode()) is None
    memory.flush()
    [path] = memory_files()
    kept = json.loads(path.read_bytes())["agents"]
    assert list(kept) == [ids[0], ids[3], ids[4]]
    assert path.stat().st_mode & 0o777 == 0o600
    again = agents_seen.Memory("k" * 40, "reg")
    assert again.check(ids[0], 9, ids[0].encode()) is not None  # still remembered
    assert again.check(ids[1], 9, b"x") is None  # forgotten: first use again


def test_two_readers_merge(tmp_path: Path) -> None:
    from git_elite.edges import agents_seen

    one, two = agents_seen.Memory("m" * 40, "reg"), agents_seen.Memory("m" * 40, "reg")
    assert one.check("1" * 64, 10, b"a") is None
    assert two.check("2" * 64, 20, b"b") is None
    one.flush()
    two.flush()
    assert set(json.loads(memory_files()[0].read_bytes())["agents"]) == {"1" * 64, "2" * 64}


# f3 as written: two sites of one registry, the hostile one older -------------------------
def test_f3_set_up_push_is_refused_by_the_server(world: World) -> None:
    assert "[index] INDEX.json is not the rebuild" in world.refused


def test_f3_the_older_site_does_not_go_back_on_a_shown_agent(world: World) -> None:
    with serve(world.new_site) as url:
        honest = run_cli("discover", "--url", url, "--json")
    assert rates(honest.stdout)[aid(1)] == 0.81
    assert len(memory_files()) == 1
    with serve(world.old_site) as url:  # the hostile mirror: another port, the same registry
        hostile = run_cli("discover", "--url", url, "--json", check=1)
        stale = run_cli("discover", "--url", url, "--json", "--allow-stale", check=1)
        imported = run_cli("import", aid(1)[:12], "--url", url, "--allow-untrusted", check=1)
    for found in (hostile, stale):
        assert aid(1) not in rates(found.stdout), "the older manifest was shown"
        assert rolled_back(found.stderr), found.stderr
        assert f"agent {aid(1)[:12]} dropped: {mpath(1)}: [rollback]" in found.stderr
        assert "git-elite: error: [rollback] 1 agent(s) served older" in found.stderr
    assert rolled_back(imported.stderr) and "no valid manifest" in imported.stderr
    assert not (Path(os.environ["AGENTD_HOME"]) / "elite" / "imported" / aid(1)).exists()
    with serve(world.new_site) as url:  # the honest site again: nothing lost
        assert rates(run_cli("discover", "--url", url, "--json").stdout)[aid(1)] == 0.81


def test_a_first_reader_of_the_old_site_is_shown_it(world: World) -> None:
    """Trust on first use: the memory only protects agents this reader has already seen."""
    with serve(world.old_site) as url:
        assert rates(run_cli("discover", "--url", url, "--json").stdout)[aid(1)] == 0.99


# over git ------------------------------------------------------------------------------------
def test_a_cache_of_a_mirror_rolled_back_by_force(world: World, tmp_path: Path) -> None:
    mirror = at(world, tmp_path, world.new, "mirror.git")
    honest = run_cli("discover", "--registry", str(mirror), "--json")
    assert rates(honest.stdout)[aid(1)] == 0.81
    git("update-ref", "refs/heads/main", world.old, cwd=mirror)  # forced back
    again = run_cli("discover", "--registry", str(mirror), "--json", "--allow-stale", check=1)
    assert aid(1) not in again.stdout and "[non-fast-forward]" in again.stderr  # its cache
    # another path (a fresh cache clone) serving the rolled-back copy: the memory refuses it
    other = at(world, tmp_path, world.old, "other.git")
    found = run_cli("discover", "--registry", str(other), "--json", "--allow-stale", check=1)
    assert aid(1) not in rates(found.stdout) and rolled_back(found.stderr), found.stderr
    imported = run_cli("import", aid(1)[:12], "--registry", str(other), "--allow-untrusted",
                       check=1)
    assert rolled_back(imported.stderr)


def test_import_remembers_too(world: World, tmp_path: Path) -> None:
    run_cli("import", aid(1)[:12], "--registry", str(world.server), "--allow-untrusted")
    older = at(world, tmp_path, world.old, "older.git")
    imported = run_cli("import", aid(1)[:12], "--registry", str(older), "--allow-untrusted",
                       check=1)
    assert rolled_back(imported.stderr), imported.stderr


def test_a_working_copy_reset_to_an_older_commit(world: World, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "-q", str(world.server), str(clone))
    assert rates(run_cli("discover", "--json", cwd=clone).stdout)[aid(1)] == 0.81
    git("reset", "-q", "--hard", world.old, cwd=clone)
    found = run_cli("discover", "--json", cwd=clone, check=1)
    assert rates(found.stdout) == {} and rolled_back(found.stderr)


def test_equal_created_at_another_manifest_is_equivocation(world: World,
                                                            tmp_path: Path) -> None:
    """A fork from v1 whose update carries v2's created_at with other numbers: each copy's
    history is valid by the push rules, but one registry never holds two manifests of one
    date."""
    run_cli("discover", "--registry", str(world.server), "--json")
    fork = at(world, tmp_path, world.old, "fork.git")
    work = tmp_path / "fork-work"
    git("clone", "-q", str(fork), str(work))
    commit_raw(work, agent_files("alice", 1, created_at=NEW, rate=0.85), index=True)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    found = run_cli("discover", "--registry", str(fork), "--json", check=1)
    assert aid(1) not in rates(found.stdout)
    assert f"has created_at {NEW}" in found.stderr and "(equivocation)" in found.stderr


def test_a_damaged_memory_file_is_ignored_and_replaced(world: World, tmp_path: Path) -> None:
    run_cli("discover", "--registry", str(world.server), "--json")
    [path] = memory_files()
    path.write_bytes(b'{"agents": {"trunc')
    found = run_cli("discover", "--registry", str(world.server), "--json")
    assert rates(found.stdout)[aid(1)] == 0.81
    remembered = json.loads(path.read_bytes())["agents"]
    assert remembered[aid(1)][0] == NEW and path.stat().st_mode & 0o777 == 0o600


def test_a_withdrawn_agent_is_not_a_rollback(world: World, tmp_path: Path) -> None:
    run_cli("discover", "--registry", str(world.server), "--json")
    gone = at(world, tmp_path, world.new, "gone.git")
    work = tmp_path / "gone-work"
    git("clone", "-q", str(gone), str(work))
    path = layout.agent_path(aid(1), "tombstone.json")
    commit_raw(work, {mpath(1): None,
                      path: documents.to_bytes(tombstone("alice", aid(1), NEW + 10))},
               index=True)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    found = run_cli("discover", "--registry", str(gone), "--json")
    assert aid(1) not in rates(found.stdout) and "[rollback]" not in found.stderr


def test_the_memory_is_per_registry(world: World, tmp_path: Path) -> None:
    """Another registry (another root commit) holding the older manifest is not this one's
    rollback: the newest valid manifest across registries still wins where both are read."""
    run_cli("discover", "--registry", str(world.server), "--json")
    other_tmp = tmp_path / "other"
    other_tmp.mkdir()
    work, server = make_server(other_tmp, owner="carol")
    commit_raw(work, agent_files("alice", 1, created_at=OLD, rate=0.99), index=True)
    assert push(work).returncode == 0
    found = run_cli("discover", "--registry", str(server), "--json")
    assert rates(found.stdout)[aid(1)] == 0.99
    shutil.rmtree(other_tmp)


def test_over_radicle_httpd(tmp_path: Path) -> None:
    """A delegate-signed Radicle tip moved back to an older state, read through
    radicle-httpd (keyed by owner and name, as over --url)."""
    from tests.httpd_double import Double
    from tests.httpd_double import serve as serve_httpd
    from tests.test_radicle_discover import ALICE, rad_registry

    _, repo, work = rad_registry(tmp_path)
    before = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    commit_raw(work, agent_files("bob", 1, created_at=T0 + 100, rate=0.95), index=True)
    repo.push(ALICE, work)
    bob = agent_id_of(profile(1))
    with serve_httpd(Double(repo.storage, repo.rid)) as url:
        shown = run_cli("discover", "--json", "--httpd", url, "--rid", repo.rid)
    assert rates(shown.stdout)[bob] == 0.95
    git("reset", "-q", "--hard", before, cwd=work)
    repo.push(ALICE, work)  # signed again by the delegate: a valid, older state
    with serve_httpd(Double(repo.storage, repo.rid)) as url:
        found = run_cli("discover", "--json", "--httpd", url, "--rid", repo.rid,
                        "--allow-stale", check=1)
    assert bob not in rates(found.stdout)
    assert f"[rollback] agent {bob[:12]} of registry" in found.stderr
    assert f"created_at {T0} " in found.stderr and f"created_at {T0 + 100} " in found.stderr


def test_the_mcp_servers_resource_reads(world: World, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The MCP server's elite:// resource read (`manifest_text`, as `import` reads) passes
    the same check: after the current manifest was read, an older copy is refused."""
    from git_elite.cli import mcp_server
    from git_elite.core.errors import RegistryError

    current = mcp_server.manifest_text(mcp_server.uri(str(world.server), aid(1)))
    assert json.loads(current)["created_at"] == NEW
    older = at(world, tmp_path, world.old, "older.git")
    with pytest.raises(RegistryError, match="no valid manifest"):
        mcp_server.manifest_text(mcp_server.uri(str(older), aid(1)))
    assert rolled_back(capsys.readouterr().err)
