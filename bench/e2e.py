"""End-to-end measurements of SPEC §12 on the synthetic registries: the hooks through real
`git push` / `git commit`, `discover --offline`, `verify`, and the INDEX rebuild.

Each function returns Rows for bench/run.py. Every timing is paired with a baseline taken
alternately in the same run (`run.paired`); absolute goals (≤ 0.5 s ...) are checked against
the median, and the ratio to the baseline is reported next to it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import synth
from common import Bench, Row, paired, paired_timed, signed_parts

from git_elite import git, layout, registry
from git_elite.state import Change, Overlay

BIN = Path(sys.executable).parent
ZERO = "0" * 40


@contextmanager
def sandbox() -> Iterator[Path]:
    """A tmp dir with HOME, AGENTD_HOME and git's global config pointed into it, and the
    venv's `git-elite` first on PATH (hooks run it)."""
    keys = ("HOME", "AGENTD_HOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "PATH")
    saved = {k: os.environ.get(k) for k in keys}
    with tempfile.TemporaryDirectory(prefix="elite-bench-") as tmp:
        root = Path(tmp)
        (root / "gitconfig").write_text("[user]\n\tname = bench\n\temail = bench@example.org\n"
                                        "[init]\n\tdefaultBranch = main\n")
        os.environ.update(HOME=tmp, AGENTD_HOME=str(root / "agentd"), GIT_CONFIG_NOSYSTEM="1",
                          GIT_CONFIG_GLOBAL=str(root / "gitconfig"),
                          PATH=f"{BIN}{os.pathsep}{saved['PATH'] or ''}")
        try:
            yield root
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def sh(args: list[str], cwd: Path | None = None, stdin: bytes | None = None) -> bytes:
    return subprocess.run(args, cwd=cwd, input=stdin, check=True, capture_output=True).stdout


def call(args: list[str], cwd: Path | None = None, stdin: bytes | None = None
         ) -> Callable[[], object]:
    return lambda: sh(args, cwd, stdin)


def bare_copy(src: Path, dst: Path, hook: bool) -> Path:
    sh(["git", "clone", "-q", "--bare", str(src), str(dst)])
    if hook:
        sh(["git", "elite", "hooks", "install", "--server"], cwd=dst)
    return dst


def new_agent_files(n: int) -> dict[str, bytes]:
    """manifest.json and profile.json of an agent a registry of n does not hold yet."""
    agent_id, manifest, profile = synth.build_agent(n)
    return {layout.agent_path(agent_id, "manifest.json"): manifest,
            layout.agent_path(agent_id, "profile.json"): profile}


def one_manifest_commit(repo_path: Path, n: int) -> str:
    """A commit on top of main adding one agent with its rebuilt index files (the head and
    the shard it touches; no ref moved)."""
    repo = git.open_repo(repo_path)
    parent = git.state_at(repo, "refs/heads/main")
    files = new_agent_files(n)
    changes = [Change(p, None, d) for p, d in sorted(files.items())]
    index = registry.rebuild_index(parent, changes, Overlay(parent, changes))
    return git.build_commit(repo, "refs/heads/main", {**files, **index}, "publish one agent")


def rev(repo: Path, name: str = "refs/heads/main") -> str:
    return sh(["git", "rev-parse", name], cwd=repo).decode().strip()


def push_then_reset(work: Path, server: Path, commit: str, old: str) -> Callable[[], float]:
    """Time one `git push` of `commit` to server's main; then put main back (untimed)."""
    def once() -> float:
        start = time.perf_counter()
        sh(["git", "push", "-q", str(server), f"{commit}:refs/heads/main"], cwd=work)
        took = time.perf_counter() - start
        sh(["git", "update-ref", "refs/heads/main", old], cwd=server)
        return took
    return once


def hook_alone(server: Path, old: str, new: str) -> Callable[[], object]:
    """`git-elite hook pre-receive` run directly in the server repo (objects already there)."""
    env_line = f"{old} {new} refs/heads/main\n".encode()
    return lambda: subprocess.run([str(BIN / "git-elite"), "hook", "pre-receive"], cwd=server,
                                  input=env_line, check=True, capture_output=True,
                                  env={**os.environ, "GIT_DIR": str(server)})


def index_rebuild(src: Path, n: int) -> Callable[[], object]:
    """In-process: the index files (head + one shard) after adding one agent at `src`."""
    repo = git.open_env(src)
    files = new_agent_files(n)
    changes = [Change(p, None, d) for p, d in sorted(files.items())]

    def rebuild() -> dict[str, bytes | None]:
        parent = git.state_at(repo, "refs/heads/main")
        return registry.rebuild_index(parent, changes, Overlay(parent, changes))
    return rebuild


def clone_work(src: Path, dst: Path, hooks: bool) -> Path:
    sh(["git", "clone", "-q", str(src), str(dst)])
    if hooks:
        sh(["git", "elite", "hooks", "install"], cwd=dst)
    return dst


def commit_one(work: Path, files: Mapping[str, bytes]) -> Callable[[], float]:
    """Time `git add` + `git commit` of one agent's files; then drop the commit (untimed)."""
    def once() -> float:
        for rel, data in files.items():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).write_bytes(data)
        start = time.perf_counter()
        sh(["git", "add", *files], cwd=work)
        sh(["git", "commit", "-q", "-m", "one agent"], cwd=work)
        took = time.perf_counter() - start
        sh(["git", "reset", "-q", "--hard", "HEAD~1"], cwd=work)
        return took
    return once


def peak_child_kib(args: list[str], cwd: Path | None = None) -> int:
    """Peak RSS (KiB) of one child process (run in a fresh python so RUSAGE_CHILDREN is its)."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
            "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, check=True,
                         capture_output=True, text=True).stdout
    return int(out.split()[-1])


# --- measurements (bench/run.py's MEASUREMENTS) ------------------------------------------

def _size(b: Bench, n: int) -> int:
    return n if n in b.sizes else b.sizes[-1]


def measure_pre_receive(b: Bench) -> list[Row]:
    """(a) A push of one manifest into the 10k registry: with the server hook vs without; and
    the hook alone (run directly, objects already received) against the 0.5 s goal."""
    n = _size(b, 10_000)
    src = b.repo(n)
    with sandbox() as tmp:
        hooked = bare_copy(src, tmp / "hooked.git", hook=True)
        plain = bare_copy(src, tmp / "plain.git", hook=False)
        work = bare_copy(src, tmp / "work.git", hook=False)
        old, commit = rev(work), one_manifest_commit(work, n)
        t_hooked, t_plain = paired_timed(push_then_reset(work, hooked, commit, old),
                                         push_then_reset(work, plain, commit, old), b.repeat)
        t_hook, t_start = paired(hook_alone(hooked, old, commit),
                                 call([str(BIN / "git-elite"), "--version"]), b.repeat)
    return [
        Row(f"git push of 1 manifest into {n}, server hook", t_hooked * 1e3, "ms",
            "same push, no hook", t_plain * 1e3, "reported", False, None),
        Row(f"pre-receive hook alone, 1 manifest into {n}", t_hook * 1e3, "ms",
            "git-elite --version", t_start * 1e3, "<= 500 ms", False, None, 500.0)]


def measure_pre_commit(b: Bench) -> list[Row]:
    """(b) `git add` + `git commit` of one agent in a 10k clone with the client hooks vs
    without (goal <= 2x)."""
    n = _size(b, 10_000)
    src = b.repo(n)
    files = new_agent_files(n)
    with sandbox() as tmp:
        hooked = clone_work(src, tmp / "hooked", hooks=True)
        plain = clone_work(src, tmp / "plain", hooks=False)
        t_hooked, t_plain = paired_timed(commit_one(hooked, files), commit_one(plain, files),
                                         b.repeat)
    return [Row(f"git commit of 1 manifest in {n}, client hooks", t_hooked * 1e3, "ms",
                "same commit, no hooks", t_plain * 1e3, "ratio <= 2", False, 2.0)]


def measure_index_rebuild(b: Bench) -> list[Row]:
    """(b) INDEX.json rebuild after adding one agent, at each size, against the smallest."""
    small = b.sizes[0]
    rows = []
    for n in b.sizes:
        t_n, t_small = paired(index_rebuild(b.repo(n), n), index_rebuild(b.repo(small), small),
                              b.repeat)
        rows.append(Row(f"INDEX rebuild, 1 agent added to {n}", t_n * 1e3, "ms",
                        f"same at {small}", t_small * 1e3, "reported (O(changed): flat)",
                        False, None))
    return rows


DISCOVER_GOALS_MS = {10_000: 500.0, 100_000: 3000.0}


def measure_discover(b: Bench) -> list[Row]:
    """(c) `git elite discover --offline` on a cached registry of 10k (<= 0.5 s) and 100k
    (<= 3 s); other sizes are reported without a goal."""
    rows = []
    with sandbox() as tmp:
        for n in b.sizes:
            goal = DISCOVER_GOALS_MS.get(n)
            args = ["git", "elite", "discover", "--registry", str(b.repo(n)), "--json"]
            sh(args, cwd=tmp)  # fills the cache clone
            t, t_start = paired(call([*args, "--offline"], cwd=tmp),
                                call([str(BIN / "git-elite"), "--version"]), b.repeat)
            rows.append(Row(f"discover --offline, {n} agents", t * 1e3, "ms",
                            "git-elite --version", t_start * 1e3,
                            f"<= {goal:.0f} ms" if goal else "reported", False, None, goal))
    return rows


def _sodium(parts: list[tuple[bytes, bytes, bytes]]) -> Callable[[], object]:
    from nacl.bindings import crypto_sign_open

    def verify_all() -> None:
        for public, message, sig in parts:
            crypto_sign_open(sig + message, public)
    return verify_all


def measure_verify_throughput(b: Bench) -> list[Row]:
    """(d) `git elite verify` of the 10k registry, and the pre-receive hook on an initial push
    of all of it, as manifests/s against libsodium's strict verify of the same signatures."""
    n = _size(b, 10_000)
    src = b.repo(n)
    sodium = _sodium(signed_parts(synth.read_blobs(src)))
    verify = call(["git", "elite", "verify", str(src)])
    t_verify, t_sodium = paired(verify, sodium, b.repeat)
    with sandbox() as tmp:
        server = tmp / "server.git"
        sh(["git", "init", "-q", "--bare", "-b", "main", str(server)])
        sh(["git", "elite", "hooks", "install", "--server"], cwd=server)
        commit = rev(src)
        sh(["git", "push", "-q", str(server), f"{commit}:refs/heads/main"], cwd=src)
        sh(["git", "update-ref", "-d", "refs/heads/main"], cwd=server)
        t_hook, t_sodium2 = paired(hook_alone(server, ZERO, commit), sodium, b.repeat)
    return [
        Row(f"git elite verify, {n} manifests (whole process)", n / t_verify, "manifests/s",
            "libsodium strict verify", n / t_sodium, "rate ratio >= 1/3", True, 1 / 3),
        Row(f"pre-receive hook, initial push of {n} manifests", n / t_hook, "manifests/s",
            "libsodium strict verify", n / t_sodium2, "rate ratio >= 1/3", True, 1 / 3)]


def measure_verify_memory(b: Bench) -> list[Row]:
    """(f) Peak RSS of `git elite verify` on the largest registry, against the smallest."""
    small, big = b.sizes[0], b.sizes[-1]
    peak_big = peak_child_kib(["git", "elite", "verify", str(b.repo(big))])
    peak_small = peak_child_kib(["git", "elite", "verify", str(b.repo(small))])
    return [Row(f"git elite verify, {big} agents (peak RSS)", peak_big / 1024, "MiB",
                f"same, {small} agents", peak_small / 1024, "reported", False, None)]


def _agent_dir(root: Path, n: int) -> Path:
    """$AGENTD_HOME/elite/<agent_id>/ of synthetic agent n (signed by owner n % 200)."""
    files = new_agent_files(n)
    folder = root / next(iter(files)).split("/")[1]
    folder.mkdir(parents=True)
    for path, data in files.items():
        (folder / path.rsplit("/", 1)[1]).write_bytes(data)
    return folder


def measure_publish(b: Bench) -> list[Row]:
    """(e) `git elite publish` of one manifest to a local bare 10k registry with the server
    hook (<= 1.5 s), a new agent each run, run outside any git repository (no re-signing)."""
    import hashlib

    n = _size(b, 10_000)
    with sandbox() as tmp:
        server = bare_copy(b.repo(n), tmp / "server.git", hook=True)
        seed = hashlib.sha256(b"bench-owner-%d" % (n % synth.OWNERS)).hexdigest()
        os.environ["AGENTD_KEYGEN_SEED"] = seed
        try:
            sh(["git", "elite", "id", "init"], cwd=tmp)
            agents = tmp / "agents"
            # a warm-up publish fills the cache clone; then each run publishes a new agent
            runs = [_agent_dir(agents, n + synth.OWNERS * k) for k in range(b.repeat + 1)]
            sh(["git", "elite", "publish", str(runs[0]), "--registry", str(server)], cwd=tmp)
            times = iter(runs[1:])
            publish = lambda: sh(["git", "elite", "publish", str(next(times)),  # noqa: E731
                                  "--registry", str(server)], cwd=tmp)
            t, t_start = paired(publish, call([str(BIN / "git-elite"), "--version"]),
                                b.repeat)
        finally:
            os.environ.pop("AGENTD_KEYGEN_SEED", None)
    return [Row(f"publish of 1 manifest to a bare {n} registry, server hook", t * 1e3, "ms",
                "git-elite --version", t_start * 1e3, "<= 1500 ms", False, None, 1500.0)]
