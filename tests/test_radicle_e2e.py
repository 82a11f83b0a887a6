"""Issue 5 end to end: a Radicle user through the real `git elite` CLI.

Radicle cannot be installed here, so Radicle's parts are TEST DOUBLES written from the formats
of SPEC §11 (they are not Radicle): `$RAD_HOME`, storage, `rad init` and `rad clone` come from
tests/radicle_fixtures.py, pushes to rad:// go through the git-remote-rad double in tests/bin,
a node's replication is a plain `git fetch` of every storage ref, and radicle-httpd is the
double in tests/httpd_double.py. Everything else is real: `git elite`, git, hooks, Ed25519.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from git_elite.core import radicle
from git_elite.core.keys import Keypair, nid_from_did
from git_elite.edges import gitrad
from tests.conftest import SEEDS, git, run_cli
from tests.helpers_publish import agent_project, write_agent_for
from tests.helpers_registry import agent_files, agent_id_of, commit_raw, profile
from tests.httpd_double import Double, serve
from tests.radicle_fixtures import BIN_DIR, FF_SEED, RadHome, RadRepo

FF_DID = "did:key:z6MknSLrJoTcukLrE435hVNQT4JUhbvWLX4kUzqkEStBU8Vi"  # SPEC §11 vector
PASSPHRASE = "correct horse battery staple"
AGENTS = {"bob": (1, 0.9), "carol": (2, 0.85)}  # owner -> (profile number, success rate)


# --- people and their machines -----------------------------------------------------------

@dataclass
class User:
    """One person: their own $AGENTD_HOME and $RAD_HOME (the Radicle key lives there)."""

    name: str
    seed: bytes
    agentd: Path
    rad: RadHome
    passphrase: str
    key: Keypair

    @property
    def nid(self) -> str:
        return nid_from_did(self.key.did)

    def env(self, **extra: str) -> dict[str, str]:
        return {**self.rad.env(self.passphrase), "AGENTD_HOME": str(self.agentd), **extra}

    def cli(self, *args: str, cwd: Path | None = None, check: int = 0,
            **env: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=cwd, env=self.env(**env), check=check)


def radicle_user(tmp: Path, name: str, seed: bytes, passphrase: str = "") -> User:
    """A Radicle user (keys as `rad auth` leaves them) who imports that key into git elite."""
    rad = RadHome(tmp / f"{name}-radicle")
    key = rad.write_keys(seed, passphrase)
    user = User(name, seed, tmp / f"{name}-agentd", rad, passphrase, key)
    proc = user.cli("id", "import-radicle")
    assert proc.stdout.strip().splitlines()[-1] == key.did
    if passphrase:
        assert passphrase not in proc.stdout + proc.stderr
    return user


def replicate(repo: RadRepo, to: User) -> RadRepo:
    """Stand-in for a node fetching a repository from a seed: every storage ref, mirrored."""
    storage = gitrad.storage_path(repo.rid, to.rad.path)
    if not storage.is_dir():
        storage.parent.mkdir(parents=True, exist_ok=True)
        git("init", "-q", "--bare", str(storage))
        git("symbolic-ref", "HEAD", f"refs/heads/{repo.branch}", cwd=storage)
    git("fetch", "-q", "--prune", str(repo.storage), "+refs/*:refs/*", cwd=storage)
    return RadRepo(storage, repo.rid, repo.root, repo.branch)


def rad_clone(repo: RadRepo, user: User, dest: Path, namespace: str) -> Path:
    """Like `rad clone <rid>` run by `user`: replicate, then a working copy of `namespace`."""
    return replicate(repo, user).clone(dest, user.key, namespace)


def rad_url(repo: RadRepo) -> str:
    return f"rad://{repo.rid[len(radicle.RAD_PREFIX):]}"


def path_without(tmp: Path, *names: str) -> str:
    """The doubles' $PATH where none of `names` can be found: a directory holding one of them
    is replaced by a directory of symlinks to everything else in it."""
    dirs = []
    for number, entry in enumerate(RadHome(tmp).env()["PATH"].split(os.pathsep)):
        folder = Path(entry)
        if not any((folder / name).exists() for name in names):
            dirs.append(entry)
            continue
        farm = tmp / f"path-{number}"
        farm.mkdir(parents=True, exist_ok=True)
        for item in folder.iterdir():
            if item.name not in names and not (farm / item.name).exists():
                (farm / item.name).symlink_to(item)
        dirs.append(str(farm))
    return os.pathsep.join(dirs)


def rad_registry(tmp: Path, owner: User, delegate: User) -> tuple[Path, RadRepo]:
    """`owner` runs `git elite init`, others' agents are committed through the real hooks,
    and `delegate` runs `rad init` on it (the double)."""
    work = tmp / "chrysalis-elites"
    owner.cli("init", str(work), "--name", "chrysalis-elites")
    for name, (n, rate) in AGENTS.items():
        files = agent_files(name, n, rate=rate)
        for rel, data in files.items():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).write_bytes(data)
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", f"agent of {name}", cwd=work, env=owner.env())
    assert git("status", "--porcelain", cwd=work).stdout == ""
    return work, delegate.rad.init_repo(work, [delegate.key])


def discover_rows(user: User, cwd: Path | None, *args: str) -> tuple[list[dict[str, Any]],
                                                                        str]:
    proc = user.cli("discover", "--json", *args, cwd=cwd)
    return json.loads(proc.stdout), proc.stderr


def ranking(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["rank"], r["agent_id"], r["owner_did"], r["score_ppm"], r["success_rate"])
            for r in rows]


def tip_of(path: Path, ref: str = "HEAD") -> str:
    return git("rev-parse", ref, cwd=path).stdout.strip()


# --- the story ---------------------------------------------------------------------------

def test_radicle_user_story(tmp_path: Path) -> None:
    alice = radicle_user(tmp_path, "alice", FF_SEED, PASSPHRASE)
    assert_identity_is_the_radicle_key(alice)
    bob = radicle_user(tmp_path, "bob", bytes.fromhex(SEEDS["bob"]))
    work, repo = rad_registry(tmp_path, alice, alice)

    clone = rad_clone(repo, bob, tmp_path / "bob-clone", alice.nid)
    rows = assert_discover_and_verify_checked(bob, clone, alice, tip_of(work))
    assert [r["agent_id"] for r in rows] == [agent_id_of(profile(n)) for n, _ in AGENTS.values()]
    assert_httpd_gives_the_same_ranking(bob, repo, rows)

    agent = assert_publish_through_rad_remote(alice, repo, tmp_path)
    fresh = rad_clone(repo, bob, tmp_path / "bob-fresh", alice.nid)
    rows = assert_discover_and_verify_checked(bob, fresh, alice, tip_of(fresh))
    assert agent in [r["agent_id"] for r in rows]
    assert {r["owner_did"] for r in rows if r["agent_id"] == agent} == {FF_DID}
    assert_rad_url_reads_checked(bob, repo, rows, tip_of(fresh))

    assert_contribution_not_signed_by_a_delegate(bob, repo, tmp_path)


def assert_identity_is_the_radicle_key(alice: User) -> None:
    shown = json.loads(alice.cli("id", "show", "--json").stdout)
    assert shown["did"] == FF_DID == alice.key.did
    assert shown["nid"] == alice.nid == FF_DID.removeprefix("did:key:")
    assert shown["ssh_public_key"].split()[:2] == \
        (alice.rad.path / "keys" / "radicle.pub").read_text().split()[:2]
    wrong = alice.cli("id", "import-radicle", "--force", check=1,
                      RAD_PASSPHRASE="not the passphrase")
    assert "not the passphrase" not in wrong.stdout + wrong.stderr
    assert wrong.stderr.strip() == \
        f"git-elite: error: {alice.rad.path / 'keys' / 'radicle'}: wrong passphrase"


def assert_discover_and_verify_checked(user: User, clone: Path, delegate: User,
                                       tip: str) -> list[dict[str, Any]]:
    assert tip_of(clone) == tip
    assert git("for-each-ref", "refs/rad", cwd=clone).stdout == ""  # a rad clone has none
    rows, stderr = discover_rows(user, clone)
    assert f"Radicle: owner is a delegate, tip {tip[:12]} signed by 1 delegate(s)" in stderr
    verify = json.loads(user.cli("verify", "--json", cwd=clone).stdout)
    assert verify["ok"] is True and verify["problems"] == []
    found = gitrad.storage_for_worktree(clone, user.rad.path)
    assert found is not None and found[1] == gitrad.storage_path(found[0], user.rad.path)
    assert verify["radicle"] == {"rid": found[0],
                                 "checked": True, "ok": True, "notes": [],
                                 "delegates": [delegate.key.did],
                                 "signed_by": [delegate.key.did]}
    return list(rows)


def assert_httpd_gives_the_same_ranking(user: User, repo: RadRepo,
                                        rows: list[dict[str, Any]]) -> None:
    double = Double(repo.storage, repo.rid)
    with serve(double) as url:
        over_http, stderr = discover_rows(user, None, "--httpd", url, "--rid", repo.rid)
    assert ranking(over_http) == ranking(rows)
    assert {r["registry"] for r in over_http} == {repo.rid}
    assert "Radicle signed refs are not checked over radicle-httpd" in stderr
    assert any(r.startswith(f"/api/v1/repos/{repo.rid}") for r in double.requests)


def assert_rad_url_reads_checked(user: User, repo: RadRepo, rows: list[dict[str, Any]],
                                 tip: str) -> None:
    """`--registry rad://<rid>` and `verify rad://<rid>` (or `rad:<rid>`): read through
    git-remote-rad, checked against the user's storage like a working copy."""
    by_url, stderr = discover_rows(user, None, "--registry", rad_url(repo))
    assert ranking(by_url) == ranking(rows)
    assert f"Radicle: owner is a delegate, tip {tip[:12]} signed by 1 delegate(s)" in stderr
    for target in (rad_url(repo), repo.rid):  # rad://z… and the bare RID rad:z…
        verify = json.loads(user.cli("verify", "--json", target).stdout)
        assert verify["ok"] is True and verify["radicle"]["rid"] == repo.rid
        assert verify["radicle"]["checked"] is True and verify["radicle"]["ok"] is True


def assert_publish_through_rad_remote(alice: User, repo: RadRepo, tmp: Path) -> str:
    """Alice publishes from her agent project to rad://<rid>: her namespace moves and is
    re-signed by her key (via the git-remote-rad double); `rad` is absent, so she is told
    to announce."""
    agent = write_agent_for(alice.agentd, alice.seed, 3)
    sigrefs = f"refs/namespaces/{alice.nid}/{radicle.SIGREFS_REF}"
    before = tip_of(repo.storage, sigrefs)
    proc = alice.cli("publish", "--registry", rad_url(repo), cwd=agent_project(tmp),
                     PATH=path_without(tmp, "rad"))
    assert f"published  {agent}" in proc.stdout
    assert f"`rad` is not on PATH: run `rad sync {repo.rid} --announce`" in proc.stderr
    head = tip_of(repo.storage, f"refs/namespaces/{alice.nid}/refs/heads/main")
    assert git("cat-file", "-e", f"{head}:agents/{agent[:2]}/{agent}/manifest.json",
               cwd=repo.storage).returncode == 0
    assert tip_of(repo.storage, f"{sigrefs}^") == before
    check = gitrad.check_storage(repo.storage, repo.rid, alice.key.did, "main", head)
    assert check.ok and check.signed_by == (alice.key.did,), check.messages
    return agent


def assert_contribution_not_signed_by_a_delegate(bob: User, repo: RadRepo,
                                                 tmp: Path) -> None:
    """Bob (not a delegate) publishes into his own namespace; a working copy of it has a tip
    that no delegate signed: discover shows nothing and exits 1, verify exits 1."""
    write_agent_for(bob.agentd, bob.seed, 4)
    bob.cli("publish", "--registry", rad_url(repo), PATH=path_without(tmp, "rad"))
    mine = RadRepo(gitrad.storage_path(repo.rid, bob.rad.path), repo.rid, repo.root,
                   repo.branch)
    clone = mine.clone(tmp / "bob-namespace", bob.key, bob.nid)
    assert gitrad.check_storage(mine.storage, repo.rid, FF_DID, "main",
                                 tip_of(clone)).signed_by == ()
    proc = bob.cli("discover", cwd=clone, check=1)
    assert f"refs/heads/main: [signature] tip {tip_of(clone)[:12]} is not signed by any " \
           f"delegate of {repo.rid}" in proc.stderr
    assert f"delegate {FF_DID.removeprefix('did:key:')} signed refs/heads/main at" in proc.stderr
    assert "its results are not shown" in proc.stderr and proc.stdout == ""
    verify = json.loads(bob.cli("verify", "--json", cwd=clone, check=1).stdout)
    assert [p["rule"] for p in verify["problems"]] == ["signature"]
    assert verify["radicle"]["checked"] is True and verify["radicle"]["ok"] is False


# --- what is reported --------------------------------------------------------------------

def test_tip_moved_without_a_delegate_signature(tmp_path: Path) -> None:
    alice = radicle_user(tmp_path, "alice", FF_SEED, PASSPHRASE)
    work, repo = rad_registry(tmp_path, alice, alice)
    commit_raw(work, {**agent_files("dave", 5)}, "unsigned", index=True)
    # the delegate's branch moves in storage, its sigrefs stay as they were
    git("push", "-q", str(repo.storage), f"HEAD:refs/namespaces/{alice.nid}/refs/heads/main",
        cwd=work)
    clone = rad_clone(repo, alice, tmp_path / "clone", alice.nid)
    proc = alice.cli("discover", cwd=clone, check=1)
    assert "is not signed by any delegate" in proc.stderr and proc.stdout == ""
    verify = alice.cli("verify", cwd=clone, check=1)
    assert "refs/heads/main: [signature]" in verify.stdout
    assert "1 problem(s)" in verify.stderr


def test_owner_not_a_delegate_is_reported(tmp_path: Path) -> None:
    alice = radicle_user(tmp_path, "alice", FF_SEED, PASSPHRASE)
    carol = radicle_user(tmp_path, "carol", bytes.fromhex(SEEDS["carol"]))
    _, repo = rad_registry(tmp_path, carol, alice)  # carol's registry, alice's rad repo
    clone = rad_clone(repo, carol, tmp_path / "clone", alice.nid)
    needle = f"refs/rad/id: [identity] registry owner {carol.key.did} is not a delegate"
    proc = carol.cli("discover", cwd=clone, check=1)
    assert needle in proc.stderr and proc.stdout == ""
    verify = carol.cli("verify", cwd=clone, check=1)
    assert needle in verify.stdout
    with serve(Double(repo.storage, repo.rid)) as url:
        over_http = carol.cli("discover", "--httpd", url, "--rid", repo.rid, check=1)
    assert f"registry owner {carol.key.did} is not a delegate" in over_http.stderr


def test_publish_without_git_remote_rad_stops(tmp_path: Path) -> None:
    alice = radicle_user(tmp_path, "alice", FF_SEED, PASSPHRASE)
    _, repo = rad_registry(tmp_path, alice, alice)
    agent = write_agent_for(alice.agentd, alice.seed, 3)
    head = f"refs/namespaces/{alice.nid}/refs/heads/main"
    before = tip_of(repo.storage, head)
    proc = alice.cli("publish", "--registry", rad_url(repo), check=1,
                     PATH=path_without(tmp_path, "git-remote-rad"))
    assert f"git-elite: not pushed: {agent}: {rad_url(repo)} is a Radicle remote, but " \
           "git-remote-rad is not on PATH: install Radicle (https://radicle.xyz) or publish " \
           "to a plain git URL" in proc.stderr
    assert tip_of(repo.storage, head) == before
    assert (alice.agentd / "elite" / agent / "manifest.json").is_file()


def test_init_rad_without_rad_explains(tmp_path: Path) -> None:
    alice = radicle_user(tmp_path, "alice", FF_SEED, PASSPHRASE)
    work = tmp_path / "chrysalis-elites"
    proc = alice.cli("init", str(work), "--rad", PATH=path_without(tmp_path, "rad"))
    assert "`rad` is not on PATH: install Radicle (https://radicle.xyz) and run `rad init` " \
           f"in {work}" in proc.stderr
    assert (work / "IDENTITY.json").is_file()
    assert git("log", "--format=%s", cwd=work).stdout.strip() == \
        "Create registry chrysalis-elites"
    assert alice.cli("verify", cwd=work).returncode == 0
    assert "is not the Radicle key" not in proc.stderr


def test_init_rad_warns_when_identity_is_not_the_radicle_key(tmp_path: Path) -> None:
    """An identity other than the Radicle key would make a registry whose owner is not a
    delegate; init --rad says so (and still creates the registry)."""
    alice = radicle_user(tmp_path, "alice", FF_SEED, PASSPHRASE)
    other = RadHome(tmp_path / "other-radicle")
    other.write_keys(b"\x07" * 32, "")
    work = tmp_path / "elites"
    proc = alice.cli("init", str(work), "--rad", PATH=path_without(tmp_path, "rad"),
                     RAD_HOME=str(other.path))
    assert "your git elite identity is not the Radicle key" in proc.stderr
    assert (work / "IDENTITY.json").is_file()


def test_doubles_are_named_as_doubles() -> None:
    for path in (BIN_DIR / "git-remote-rad", Path(__file__).parent / "radicle_fixtures.py",
                 Path(__file__).parent / "httpd_double.py"):
        assert "TEST DOUBLE" in path.read_text()
