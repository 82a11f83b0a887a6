"""`discover --url` top 20 in ≤ 30 requests (SPEC §12, §6.2, §14): under a head chained to a
signature accepted for the read (a fresh timestamp), a shown manifest whose bytes are the
ones its pinned entry names is checked without fetching its profile.json; without such a
chain (no timestamp role, or a stale one let through by --allow-stale) the profile is read
and bound as before, and `import` always reads and binds it (docs/discover.md).

Real parts: a registry with a timestamp role on a hooked bare server (its post-receive hook
signs each state), published with `git elite site`, served by a loopback HTTP server that
logs every path asked, read by the real `git elite discover/import --url`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.loopback import static
from git_elite.core import layout
from git_elite.edges import site
from tests.conftest import run_cli
from tests.helpers_attacks import aid, mpath, ppath
from tests.helpers_discover import registry_with
from tests.helpers_freshness import honest_push, stamped_server
from tests.helpers_registry import T0, agent_files, identity, isolated_module_env, profile

OWNERS = ("alice", "bob", "carol")
SWAPPED = 3  # the agent whose older, validly signed manifest a hostile copy serves


@dataclass(frozen=True)
class World:
    work: Path  # the registry's working copy (the clone read the rows are compared with)
    site: Path  # `git elite site` of the server: timestamp.json signs its INDEX.json
    old_manifest: bytes  # agent SWAPPED's first version (validly signed, other numbers)
    plain: Path  # the site of a registry without a timestamp role


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("requests")
    with isolated_module_env(tmp):
        server = stamped_server(tmp)  # agents 1 and 2; timestamp v1
        files: dict[str, bytes | None] = {}
        for n in range(3, 25):  # 24 agents, all elite (success rate ≥ 0.80): more than 20
            files.update(agent_files(OWNERS[n % 3], n, rate=0.8 + (n % 19) / 100, total=60 + 2 * n,
                                     recent=15))
        honest_push(server, files)
        old_manifest = (server.work / mpath(SWAPPED)).read_bytes()
        honest_push(server, agent_files(OWNERS[SWAPPED % 3], SWAPPED, created_at=T0 + 100,
                                        rate=0.99, total=200, recent=20))
        out = tmp / "site"
        run_cli("site", str(server.bare), "-o", str(out))
        assert json.loads((out / "timestamp.json").read_bytes())["version"] == 3
        specs = [{"owner": OWNERS[i % 3], "n": i, "rate": 0.8 + i / 100, "total": 70 + i,
                  "recent": 15} for i in range(1, 7)]
        plain_work, _ = registry_with(tmp, "plain", specs)
        plain = tmp / "plain-site"
        site.build(plain_work, plain)
        yield World(server.work, out, old_manifest, plain)


def copy(world_site: Path, tmp: Path, files: dict[str, bytes | None]) -> Path:
    """A copy of a site with `files` replaced (None: removed)."""
    out = tmp / "copy"
    shutil.copytree(world_site, out)
    for path, data in files.items():
        if data is None:
            (out / path).unlink()
        else:
            (out / path).write_bytes(data)
    return out


def read(root: Path, *args: str, check: int = 0) -> tuple[Any, list[str]]:
    """`git elite discover --url` of `root` served on loopback: (the process, paths asked)."""
    paths: list[str] = []
    with static(root, paths) as url:
        proc = run_cli("discover", "--url", url, "--json", *args, check=check)
    return proc, paths


def shown(proc: Any) -> list[tuple[Any, ...]]:
    return [(r["rank"], r["agent_id"], r["owner_did"], r["score_ppm"], r["success_rate"],
             r["total_tasks"]) for r in json.loads(proc.stdout)]


def profiles(paths: list[str]) -> set[str]:
    """The agent_ids whose profile.json was asked for."""
    return {p.split("/")[-2] for p in paths if p.endswith("/profile.json")}


def tampered_profile(n: int) -> bytes:
    """Agent n's profile.json with one field changed: it no longer hashes to agent_id."""
    body = dict(profile(n))
    body["module"] = "someone.else.Module"
    return (json.dumps(body, indent=2) + "\n").encode()


def test_top_20_under_a_fresh_timestamp_takes_24_requests(world: World) -> None:
    proc, paths = read(world.site, "--top", "20")
    rows = shown(proc)
    from_clone = run_cli("discover", "--json", "--top", "20", "--allow-stale", cwd=world.work)
    assert len(rows) == 20 and rows == shown(from_clone)  # the same rows as a clone read
    assert "signed fresh until" in proc.stderr
    assert len(paths) == len(set(paths)) == 24 <= 30
    assert sorted(p for p in paths if not p.startswith("/agents/")) == [
        "/IDENTITY.json", "/INDEX.json", "/index/ranked.json", "/timestamp.json"]
    assert sorted(p.split("/")[-2] for p in paths if p.endswith("/manifest.json")) == \
        sorted(r[1] for r in rows)
    assert profiles(paths) == set()
    assert aid(SWAPPED) in {r[1] for r in rows}  # its current version, pinned, is shown


def test_a_swapped_manifest_under_the_signed_head_is_still_refused(world: World,
                                                                  tmp_path: Path) -> None:
    """f1 (issue 24): the older signed manifest does not hash to its pin: its profile is
    read as before and the agent is dropped with the `index` problem."""
    hostile = copy(world.site, tmp_path, {mpath(SWAPPED): world.old_manifest})
    proc, paths = read(hostile, "--top", "20")
    assert aid(SWAPPED) not in {r[1] for r in shown(proc)}
    assert f"agent {aid(SWAPPED)[:12]} dropped: {mpath(SWAPPED)}: [index] INDEX.json's " \
        "manifest_sha256 is not the sha256 of the manifest" in proc.stderr
    assert profiles(paths) == {aid(SWAPPED)}


def test_without_a_signed_head_profiles_are_read_and_bound(world: World,
                                                          tmp_path: Path) -> None:
    """No timestamp role: every shown agent's profile is read; one that does not bind is
    refused (`binding`), the others shown."""
    proc, paths = read(world.plain, "--top", "5")
    rows = shown(proc)
    assert len(rows) == 5 and profiles(paths) == {r[1] for r in rows}
    victim = rows[0][1]
    n = next(i for i in range(1, 7) if aid(i) == victim)
    bad = copy(world.plain, tmp_path, {ppath(n): tampered_profile(n)})
    refused, _ = read(bad, "--top", "5")
    assert victim not in {r[1] for r in shown(refused)}
    assert f"agent {victim[:12]} dropped: {ppath(n)}: [binding] sha256(JCS(profile.json))" \
        in refused.stderr


def test_a_stale_timestamp_let_through_does_not_sign_the_head(world: World,
                                                              tmp_path: Path) -> None:
    """--allow-stale over a copy without timestamp.json (a freeze): the head is not chained
    to a signature, so the profiles are read and bound again."""
    n = 5
    stale = copy(world.site, tmp_path, {"timestamp.json": None, ppath(n): tampered_profile(n)})
    proc, paths = read(stale, "--top", "20", "--allow-stale")
    rows = shown(proc)
    assert "--allow-stale" in proc.stderr
    assert profiles(paths) == {r[1] for r in rows} | {aid(n)}
    assert aid(n) not in {r[1] for r in rows}
    assert f"agent {aid(n)[:12]} dropped: {ppath(n)}: [binding]" in proc.stderr


def test_import_still_reads_and_binds_the_profile(world: World, tmp_path: Path) -> None:
    n = 7
    paths: list[str] = []
    with static(world.site, paths) as url:
        run_cli("import", aid(n)[:12], "--url", url, "--allow-untrusted")
    assert f"/{ppath(n)}" in paths
    bad = copy(world.site, tmp_path, {ppath(n): tampered_profile(n)})
    with static(bad) as url:
        refused = run_cli("import", aid(n)[:12], "--url", url, "--allow-untrusted", check=1)
        found = run_cli("discover", "--url", url, "--json", "--top", "20")
    assert "[binding]" in refused.stderr
    # discover, under the signed head, shows the agent: its manifest is the pinned one, and
    # the binding was the server hook's check when it was pushed (docs/discover.md)
    assert aid(n) in {r[1] for r in shown(found)}


def test_the_engine_leaves_unbound_only_the_profile_it_is_told_was_not_fetched() -> None:
    """`unfetched_profiles` is narrow: only the named agent's missing profile.json is not a
    `binding` problem; the manifest's own checks (its directory, its signature) still run."""
    from git_elite.core import documents, engine
    from git_elite.core.state import MemoryState, additions

    ident = {layout.IDENTITY: documents.to_bytes(identity())}
    manifest = agent_files("alice", 1)[mpath(1)]

    def problems(files: dict[str, bytes], unfetched: tuple[str, ...]) -> list[tuple[str, str]]:
        found = engine.check_change(MemoryState(ident), additions(files),
                                    MemoryState({**ident, **files}), check_index=False,
                                    legacy=True, unfetched_profiles=frozenset(unfetched))
        return [(p.rule, p.path) for p in found]

    assert problems({mpath(1): manifest}, ()) == [("binding", ppath(1))]
    assert problems({mpath(1): manifest}, (aid(2),)) == [("binding", ppath(1))]
    assert problems({mpath(1): manifest}, (aid(1),)) == []
    elsewhere = layout.agent_path(aid(2), "manifest.json")  # another agent's directory
    assert ("binding", elsewhere) in problems({elsewhere: manifest}, (aid(2),))
    forged = manifest.replace(b'"total_tasks": ', b'"total_tasks": 1')
    assert ("signature", mpath(1)) in problems({mpath(1): forged}, (aid(1),))
