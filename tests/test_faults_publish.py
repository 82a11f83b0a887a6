"""Faults around `git elite publish` (SPEC §13): kills, an unreachable registry, a damaged
cache clone. Real subprocesses, a real bare registry with the server hook, real SIGKILLs.

A kill takes the whole process group (git, git-elite, `git push`, and the local
receive-pack with the server's hook: a file:// push runs the server side as our child), so
both the publisher and the server are cut off at the same moment.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SEEDS, git, run_cli
from tests.helpers_publish import agent_project, elite_root, index, write_agent_for, write_identity
from tests.helpers_registry import make_server

SEED = bytes.fromhex(SEEDS["alice"])


def _setup(tmp: Path) -> tuple[Path, Path, Path]:
    """(server, home, project): a hooked bare registry, alice's home, an agent project."""
    _, server = make_server(tmp)
    home = Path(os.environ["AGENTD_HOME"])
    write_identity(home, SEED)
    return server, home, agent_project(tmp)


def _start(server: Path, project: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["git", "elite", "publish", "--registry", str(server)],
                            cwd=project, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _kill_when(proc: subprocess.Popen[bytes], seen: Callable[[], bool],
               timeout: float = 30.0) -> bool:
    """SIGKILL the group as soon as `seen()` is true; False when the publish ended first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if seen():
            _kill(proc)
            return True
        time.sleep(0.001)
    _kill(proc)
    return False


def _cache(home: Path) -> Path:
    found = sorted((home / "cache" / "registries").glob("*.git"))
    assert len(found) == 1, found
    return found[0]


def _assert_intact(server: Path, home: Path, agents: list[str]) -> None:
    """Registry valid; each signed manifest still in $AGENTD_HOME/elite/ and verifying."""
    run_cli("verify", "--history", cwd=server)
    fsck = git("fsck", "--strict", "--no-progress", cwd=server, check=False)
    assert fsck.returncode == 0 and "error" not in fsck.stderr, fsck.stderr
    files = [str(elite_root(home) / a / "manifest.json") for a in agents]
    run_cli("verify-file", *files)
    stray = [p.name for a in agents for p in (elite_root(home) / a).iterdir()
             if p.name not in ("manifest.json", "profile.json")]
    assert all(n.startswith(".manifest.json.") and n.endswith(".tmp") for n in stray), stray


def _clear_locks(server: Path) -> None:
    """What the server's owner does after its receive-pack died inside git's ref update (the
    kill takes the local receive-pack too): remove the lock files git left. git never
    removes them itself, and every later push is refused `cannot lock ref` until then (on a
    real server the publisher's death does not kill the server's receive-pack)."""
    for lock in [server / "HEAD.lock", server / "packed-refs.lock",
                 *(server / "refs").rglob("*.lock")]:
        lock.unlink(missing_ok=True)


def _rerun(server: Path, project: Path, agents: list[str]) -> None:
    proc = run_cli("publish", "--registry", str(server), cwd=project, check=None)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert set(agents) <= set(index(server)["agents"])


def _objects_changed(path: Path) -> Callable[[], bool]:
    before = {p.name for p in (path / "objects").iterdir()} if path.exists() else set()
    return lambda: path.exists() and {p.name for p in (path / "objects").iterdir()} != before


def _quarantine(server: Path) -> Callable[[], bool]:
    return lambda: any(p.name.startswith("tmp_objdir-incoming")
                       for p in (server / "objects").iterdir())


def _file_changed(path: Path) -> Callable[[], bool]:
    before = path.read_bytes() if path.exists() else None
    return lambda: (path.read_bytes() if path.exists() else None) != before


def _ref_moved(server: Path) -> Callable[[], bool]:
    before = git("rev-parse", "main", cwd=server).stdout
    loose = server / "refs" / "heads" / "main"
    packed = server / "packed-refs"
    state = (loose.read_bytes() if loose.exists() else b"",
             packed.read_bytes() if packed.exists() else b"")
    assert before
    return lambda: (loose.read_bytes() if loose.exists() else b"",
                    packed.read_bytes() if packed.exists() else b"") != state


POINTS = ("manifest re-signed and saved", "cache objects written", "server hook running",
          "server ref moved")


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_a_deterministic_point(tmp_path: Path, point: str) -> None:
    server, home, project = _setup(tmp_path)
    first = write_agent_for(home, SEED, 1)
    _rerun(server, project, [first])  # the cache exists, the project's repo_ref is recorded
    agent = write_agent_for(home, SEED, 2)
    cache = _cache(home)
    seen = {POINTS[0]: _file_changed(elite_root(home) / agent / "manifest.json"),
            POINTS[1]: _objects_changed(cache),
            POINTS[2]: _quarantine(server),
            POINTS[3]: _ref_moved(server)}[point]
    proc = _start(server, project)
    assert _kill_when(proc, seen), f"publish finished before `{point}`"
    _assert_intact(server, home, [first, agent])
    _rerun(server, project, [first, agent])
    _assert_intact(server, home, [first, agent])
    run_cli("publish", "--registry", str(server), cwd=project)  # cache fine afterwards
    assert git("fsck", "--no-progress", cwd=cache, check=False).returncode == 0


@pytest.mark.parametrize("kills", [4, pytest.param(12, marks=pytest.mark.slow)])
def test_kill_at_random_moments(tmp_path: Path, kills: int) -> None:
    """Measure an uninterrupted publish, then kill `kills` publishes (each with a new agent)
    at seeded-random moments spread over that duration; re-run after each."""
    server, home, project = _setup(tmp_path)
    agents = [write_agent_for(home, SEED, 0)]
    started = time.monotonic()
    _rerun(server, project, agents)
    duration = time.monotonic() - started
    rng = random.Random(20260101)
    for n in range(1, kills + 1):
        agents.append(write_agent_for(home, SEED, n))
        proc = _start(server, project)
        time.sleep(rng.uniform(0.0, duration * 1.1))
        _kill(proc)
        _assert_intact(server, home, agents)
        _clear_locks(server)
        _rerun(server, project, agents)
    assert set(index(server)["agents"]) == set(agents)
    _assert_intact(server, home, agents)


# ---------------------------------------------------------------- an unreachable registry
SSH = """#!/bin/sh
# a stand-in for ssh: counts connections; "down" files make the host unreachable
echo "$*" >> "$ELITE_SSH_LOG"
case "$*" in *receive-pack*) [ -e "$ELITE_SSH_DOWN.push" ] && {
    echo "ssh: connect to host registry.invalid port 22: Connection refused" >&2; exit 255; };;
esac
[ -e "$ELITE_SSH_DOWN" ] && {
    echo "ssh: connect to host registry.invalid port 22: Connection refused" >&2; exit 255; }
for last; do :; done
exec sh -c "$last"
"""


def _ssh(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """GIT_SSH_COMMAND pointing at a script that serves local paths (or refuses)."""
    script = tmp / "fake-ssh"
    script.write_text(SSH)
    script.chmod(0o755)
    log, down = tmp / "ssh.log", tmp / "down"
    monkeypatch.setenv("GIT_SSH_COMMAND", str(script))
    monkeypatch.setenv("ELITE_SSH_LOG", str(log))
    monkeypatch.setenv("ELITE_SSH_DOWN", str(down))
    return log, down


def _connections(log: Path, word: str) -> int:
    return sum(word in line for line in log.read_text().splitlines()) if log.exists() else 0


def _one_line_failure(proc: subprocess.CompletedProcess[str], agent: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert agent not in proc.stdout  # results only on stdout; the failure is a message
    lines = [x for x in proc.stderr.splitlines() if agent in x]
    assert len(lines) == 1 and lines[0].startswith("git-elite: not pushed: "), proc.stderr
    assert "registry.invalid" in lines[0] or "Connection refused" in lines[0], lines[0]


def test_unreachable_registry_bounded_retries(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    server, home, _ = _setup(tmp_path)
    log, down = _ssh(tmp_path, monkeypatch)
    agent = write_agent_for(home, SEED, 1)
    before = (elite_root(home) / agent / "manifest.json").read_bytes()
    down.touch()
    started = time.monotonic()
    proc = run_cli("publish", "--registry", f"ssh://registry.invalid{server}", cwd=tmp_path,
                   check=None)
    elapsed = time.monotonic() - started
    _one_line_failure(proc, agent)
    assert _connections(log, "upload-pack") == 3, log.read_text()  # cache.ATTEMPTS
    assert elapsed < 15, f"{elapsed:.1f}s"
    assert (elite_root(home) / agent / "manifest.json").read_bytes() == before
    print(f"\nunreachable registry: 3 attempts, {elapsed:.2f}s")


def test_unreachable_on_push_bounded_retries(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Fetch works, push cannot connect: NETWORK_ATTEMPTS pushes, then one clear line."""
    server, home, _ = _setup(tmp_path)
    log, down = _ssh(tmp_path, monkeypatch)
    url = f"ssh://registry.invalid{server}"
    agent = write_agent_for(home, SEED, 1)
    Path(f"{down}.push").touch()
    started = time.monotonic()
    proc = run_cli("publish", "--registry", url, cwd=tmp_path, check=None)
    elapsed = time.monotonic() - started
    _one_line_failure(proc, agent)
    assert _connections(log, "receive-pack") == 3, log.read_text()  # publish.NETWORK_ATTEMPTS
    assert elapsed < 30, f"{elapsed:.1f}s"
    run_cli("verify-file", str(elite_root(home) / agent / "manifest.json"))
    Path(f"{down}.push").unlink()
    run_cli("publish", "--registry", url, cwd=tmp_path)
    assert agent in index(server)["agents"]
    print(f"\nunreachable on push: 3 attempts, {elapsed:.2f}s")


# ---------------------------------------------------------------- a damaged cache clone
def _no_objects(cache: Path) -> None:
    shutil.rmtree(cache / "objects")
    (cache / "objects").mkdir()


def _ref_to_missing(cache: Path) -> None:
    (cache / "refs" / "heads").mkdir(parents=True, exist_ok=True)
    git("pack-refs", "--all", cwd=cache)
    (cache / "packed-refs").write_text("# pack-refs with: peeled fully-peeled sorted \n"
                                       + "1" * 40 + " refs/heads/main\n")


def _garbage_head(cache: Path) -> None:
    (cache / "HEAD").write_bytes(b"\x00\xffgarbage\n")


DAMAGE = {"objects removed": _no_objects, "ref to missing object": _ref_to_missing,
          "garbage in HEAD": _garbage_head}


@pytest.mark.parametrize("command", ["publish", "discover"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_cache_is_rebuilt(tmp_path: Path, damage: str, command: str) -> None:
    server, home, _ = _setup(tmp_path)
    first = write_agent_for(home, SEED, 1)
    run_cli("publish", "--registry", str(server), cwd=tmp_path)
    cache = _cache(home)
    DAMAGE[damage](cache)
    if command == "publish":
        second = write_agent_for(home, SEED, 2)
        run_cli("publish", "--registry", str(server), cwd=tmp_path)
        assert {first, second} <= set(index(server)["agents"])
    else:
        out = run_cli("discover", "--registry", str(server), "--json", cwd=tmp_path).stdout
        assert first in out
    assert git("fsck", "--no-progress", cwd=cache, check=False).returncode == 0
    assert git("rev-parse", "main", cwd=cache).stdout.strip() == \
        git("rev-parse", "main", cwd=server).stdout.strip()


# ---------------------------------------------------------------- full disk, read-only home
def _snapshot(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*"))
            if p.is_file() and "cache" not in p.relative_to(home).parts}


def _prepare(tmp: Path, command: str) -> tuple[list[str], Path]:
    """A home holding the files `command` would replace; returns (its arguments, cwd)."""
    from tests.helpers_pipeline import NOW, fixture_args
    from tests.helpers_pipeline import write_identity as identity_of

    home = Path(os.environ["AGENTD_HOME"])
    env = {"AGENTD_KEYGEN_SEED": SEEDS["carol"]}
    if command == "id init":
        run_cli("id", "init", "--alias", "before", env=env)
        return ["id", "init", "--force", "--alias", "after"], tmp
    if command == "publish":
        server, _, project = _setup(tmp)
        write_agent_for(home, SEED, 1)
        return ["publish", "--registry", str(server)], project
    identity_of("alice")
    if command == "generate":
        run_cli("generate", *fixture_args(), cwd=tmp)
        return ["generate", *fixture_args()[:-1], str(NOW + 100)], tmp
    if command == "trust add":
        run_cli("trust", "add", _did("bob"), "--alias", "bob")
        return ["trust", "add", _did("dave"), "--alias", "dave"], tmp
    run_cli("registry", "add", "first", str(tmp / "first.git"))
    return ["registry", "add", "second", str(tmp / "second.git")], tmp


def _did(name: str) -> str:
    from git_elite.core import keys

    return keys.Keypair.from_seed(bytes.fromhex(SEEDS[name])).did


def _full_disk() -> None:
    """In the child: a 64-byte file size limit, SIGXFSZ ignored: writes fail with EFBIG
    exactly where a full disk fails with ENOSPC."""
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))


LOCAL = ["id init", "generate", "publish", "trust add", "registry add"]


@pytest.mark.parametrize("fault", ["full disk", "read-only home"])
@pytest.mark.parametrize("command", LOCAL)
def test_local_fault_clear_error_nothing_half_written(tmp_path: Path, command: str,
                                                      fault: str) -> None:
    from tests.test_faults_core import read_only

    args, cwd = _prepare(tmp_path, command)
    home = Path(os.environ["AGENTD_HOME"])
    before = _snapshot(home)
    assert before
    if fault == "full disk":
        proc = subprocess.run(["git", "elite", *args], cwd=cwd, capture_output=True,
                              text=True, preexec_fn=_full_disk, check=False)
    else:
        with read_only(home):
            frozen = [p for p in home.rglob("*") if p.is_dir() and "cache" not in p.parts
                      and os.geteuid() == 0]  # chattr +i (root); chmod 0500 covers the rest
            for directory in frozen:
                subprocess.run(["chattr", "+i", str(directory)], check=True)
            try:
                proc = subprocess.run(["git", "elite", *args], cwd=cwd, capture_output=True,
                                      text=True, check=False)
            finally:
                for directory in frozen:
                    subprocess.run(["chattr", "-i", str(directory)], check=True)
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "cannot " in line]
    assert len(errors) == 1, proc.stderr
    assert str(home) in errors[0], errors[0]
    assert _snapshot(home) == before, "a file was changed, half-written or left behind"
