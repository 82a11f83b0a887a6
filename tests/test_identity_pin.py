"""The reader's IDENTITY.json pin (SPEC §6.2, issue 24 f3): the highest version seen and the
roles it declared, per registry, over every transport. A mirror serving an older identity
(one without the timestamp role, so freshness would switch off) is refused as `rollback`,
with or without --allow-stale; a role dropped by a signed change the reader can see is not."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import documents, identity_pin, layout
from tests.conftest import git, run_cli
from tests.helpers_attacks import head
from tests.helpers_registry import (
    agent_files,
    commit_raw,
    identity,
    isolated_module_env,
    key,
    make_server,
    push,
)
from tests.helpers_site import serve


def _role_identity(version: int, role: bool) -> bytes:
    body = identity("server", version=version)
    body.pop("signatures")
    if role:
        body["timestamp"] = {"keys": [key("dave").did], "threshold": 1, "max_age": 86400}
    return documents.to_bytes(documents.sign_multi(body, [key("server")]))


@dataclass(frozen=True)
class World:
    server: Path  # v1 (no role) → v2 (timestamp role) → v3 (role dropped, signed)
    v1: str
    v2: str
    v3: str
    tmp: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("identity_pin")
    with isolated_module_env(tmp):
        work, server = make_server(tmp)
        v1 = commit_raw(work, agent_files("alice", 1), index=True)
        assert push(work).returncode == 0
        v2 = commit_raw(work, {layout.IDENTITY: _role_identity(2, True)}, index=True)
        assert push(work).returncode == 0, "the role is added by a signed change"
        v3 = commit_raw(work, {layout.IDENTITY: _role_identity(3, False)}, index=True)
        assert push(work).returncode == 0, "and dropped by another"
        assert head(server, "main") == v3
        yield World(server, v1, v2, v3, tmp)


def at(world: World, tmp: Path, tip: str, name: str) -> Path:
    """A bare copy of the registry whose main is at `tip` (a mirror's snapshot)."""
    copy = tmp / name
    git("clone", "-q", "--bare", str(world.server), str(copy))
    git("update-ref", "refs/heads/main", tip, cwd=copy)
    return copy


def site_at(world: World, tmp: Path, tip: str, name: str) -> Path:
    out = tmp / f"{name}-site"
    run_cli("site", str(at(world, tmp, tip, name)), "-o", str(out))
    return out


# pure --------------------------------------------------------------------------------------
def _pin(version: int, roles: tuple[str, ...]) -> identity_pin.Pin:
    return identity_pin.Pin(version, roles, (key("server").did,), 1, "0" * 64)


@pytest.mark.parametrize(("seen", "version", "role", "successors", "refused"), [
    pytest.param(None, 1, False, (), None, id="first-sight"),
    pytest.param((2, ("timestamp",)), 2, True, (), None, id="same"),
    pytest.param((2, ("timestamp",)), 1, False, (), "older than version 2", id="older"),
    pytest.param((2, ()), 1, False, (), "older than version 2", id="older-no-role"),
    pytest.param((2, ("timestamp",)), 2, False, (), "declares no timestamp role",
                 id="same-version-without-role"),
    pytest.param((2, ("timestamp",)), 3, False, (3,), None, id="signed-successor-drops"),
    pytest.param((2, ("timestamp",)), 4, False, (4,), "cannot be checked", id="gap"),
    pytest.param((2, ("timestamp",)), 3, False, (), "cannot be checked", id="no-chain"),
    pytest.param((2, ("timestamp",)), 3, True, (), None, id="newer-keeps-role"),
])
def test_judge(seen: tuple[int, tuple[str, ...]] | None, version: int, role: bool,
               successors: tuple[int, ...], refused: str | None) -> None:
    raw = _role_identity(version, role)
    body = json.loads(raw)
    chain = [_role_identity(v, role) for v in successors]
    pin = None if seen is None else _pin(*seen)
    why = identity_pin.judge(pin, body, raw, chain)
    assert (why is None) == (refused is None), why
    if refused:
        assert why is not None and refused in why


def test_a_successor_signed_by_others_is_no_chain() -> None:
    body = identity("server", version=3, delegates=("mallory",), signers=("mallory",))
    raw = documents.to_bytes(body)
    why = identity_pin.judge(_pin(2, ("timestamp",)), body, raw, [raw])
    assert why is not None and "cannot be checked" in why


# over git: a path or cache clone, keyed by the root commit ---------------------------------
def test_git_mirror_serving_an_older_identity_is_refused(world: World, tmp_path: Path) -> None:
    honest = at(world, tmp_path, world.v2, "honest.git")
    old = at(world, tmp_path, world.v1, "old.git")
    run_cli("discover", "--registry", str(honest), "--allow-stale", "--json")
    for extra in ((), ("--allow-stale",)):
        refused = run_cli("discover", "--registry", str(old), *extra, check=1)
        assert "[rollback] IDENTITY.json version 1 is older than version 2" in refused.stderr
        assert "old: [rollback]" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    audit = json.loads(run_cli("verify", str(old), "--json", check=1).stdout)
    assert [p["rule"] for p in audit["problems"]] == ["rollback"]
    imported = run_cli("import", "0" * 8, "--registry", str(old), "--allow-stale", check=1)
    assert "[rollback]" in imported.stderr


def test_git_reader_follows_a_signed_role_drop(world: World, tmp_path: Path) -> None:
    run_cli("discover", "--registry", str(at(world, tmp_path, world.v2, "a.git")),
            "--allow-stale")
    # v3 drops the role; the clone's history holds the signed change v2 -> v3
    found = run_cli("discover", "--registry", str(at(world, tmp_path, world.v3, "b.git")),
                    "--json")
    assert len(json.loads(found.stdout)) == 1


def test_git_reader_refuses_a_role_dropped_outside_the_history(world: World,
                                                               tmp_path: Path) -> None:
    """A copy that keeps the root but whose tip's identity dropped the role in a version
    the pinned delegates did not sign (mallory made herself a delegate) is refused."""
    run_cli("discover", "--registry", str(at(world, tmp_path, world.v2, "a.git")),
            "--allow-stale")
    forged = at(world, tmp_path, world.v1, "forged.git")
    work = tmp_path / "forged"
    git("clone", "-q", str(forged), str(work))
    forged_identity = identity("server", version=3, delegates=("server", "mallory"),
                               signers=("mallory",))
    commit_raw(work, {layout.IDENTITY: documents.to_bytes(forged_identity)}, index=True)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    fetched = run_cli("discover", "--registry", str(forged), check=1)
    assert "[identity]" in fetched.stderr  # the cache fetch's push rules see it first
    refused = run_cli("discover", cwd=work, check=1)  # a working copy: the pin sees it
    assert "[rollback]" in refused.stderr and "drops the timestamp role" in refused.stderr


# over HTTP: --url, keyed by owner and name -------------------------------------------------
def test_url_mirror_serving_an_older_identity_is_refused(world: World, tmp_path: Path) -> None:
    new = site_at(world, tmp_path, world.v2, "new")
    old = site_at(world, tmp_path, world.v1, "old")
    with serve(new) as url:
        run_cli("discover", "--url", url, "--allow-stale")
    with serve(old) as url:
        for extra in ((), ("--allow-stale",)):
            refused = run_cli("discover", "--url", url, *extra, check=1)
            assert "[rollback] IDENTITY.json version 1 is older than version 2" in \
                refused.stderr
        audit = json.loads(run_cli("verify", "--url", url, "--json", check=1).stdout)
    assert "rollback" in [p["rule"] for p in audit["problems"]]


def test_url_reader_takes_a_direct_signed_successor(world: World, tmp_path: Path) -> None:
    with serve(site_at(world, tmp_path, world.v2, "new")) as url:
        run_cli("discover", "--url", url, "--allow-stale")
    with serve(site_at(world, tmp_path, world.v3, "next")) as url:
        found = run_cli("discover", "--url", url, "--json")
    assert len(json.loads(found.stdout)) == 1


def test_memory_is_per_registry_and_private(world: World, tmp_path: Path) -> None:
    from git_elite.edges import store

    run_cli("discover", "--registry", str(at(world, tmp_path, world.v2, "a.git")),
            "--allow-stale")
    files = list((store.home() / "freshness" / "identity").glob("*.json"))
    assert len(files) == 1 and files[0].stat().st_mode & 0o777 == 0o600
    body: dict[str, Any] = json.loads(files[0].read_text())
    assert body["identity"]["version"] == 2 and body["identity"]["roles"] == ["timestamp"]
    assert files[0].name.startswith(git("rev-list", "--max-parents=0", world.v1,
                                        cwd=world.server).stdout.strip())
    shutil.rmtree(tmp_path / "a.git")


# over radicle-httpd: keyed by owner and name, as --url --------------------------------------
def test_httpd_serving_an_older_identity_is_refused(tmp_path: Path) -> None:
    from tests.httpd_double import Double
    from tests.httpd_double import serve as serve_httpd
    from tests.test_radicle_discover import ALICE, rad_registry

    _, repo, work = rad_registry(tmp_path)
    old = repo.push(ALICE, work)
    body = json.loads((work / layout.IDENTITY).read_bytes())
    body.pop("signatures")
    body["version"] += 1
    body["timestamp"] = {"keys": [key("dave").did], "threshold": 1, "max_age": 86400}
    commit_raw(work, {layout.IDENTITY: documents.to_bytes(
        documents.sign_multi(body, [key("alice")]))}, index=True)
    repo.push(ALICE, work)
    double = Double(repo.storage, repo.rid)
    with serve_httpd(double) as url:
        run_cli("discover", "--httpd", url, "--rid", repo.rid, "--allow-stale")
        repo.forge_tip(ALICE.did.removeprefix("did:key:"), old)  # the older state served
        refused = run_cli("discover", "--httpd", url, "--rid", repo.rid, "--allow-stale",
                          check=1)
    assert "[rollback] IDENTITY.json version 1 is older than version 2" in refused.stderr


@pytest.mark.parametrize("raw, version", [
    (b'{"version": 3}', 3), (b'{"version": 1, "version": 9}', 0), (b'{"version": true}', 0),
    (b"[3]", 0), (b"not json", 0), (b'{"version": NaN}', 0)])
def test_an_older_identity_in_the_history_is_read_strictly(raw: bytes, version: int) -> None:
    """The walk back through IDENTITY.json's history reads each version strictly (SPEC §3):
    a duplicate key is not taken as the last one (a parser differential), it stops the walk."""
    from git_elite.edges import identity_seen

    assert identity_seen._version(raw) == version
