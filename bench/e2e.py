"""End-to-end measurements of SPEC §12 on the synthetic registries, through the real commands:
the hooks (`git push`, `git commit`), the INDEX rebuild, and the helpers reads.py shares.

Each function returns Rows for bench/run.py. Every timing is paired with a baseline taken
alternately in the same run (`common.paired`); absolute goals (<= 0.3 s ...) are checked on
the median, and the ratio to the baseline is reported next to it. Work clones of big
registries (a checkout of 1M agents is 2M files) are made once under bench/out/ and reused.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import synth
from common import AFTER, Bench, Row, Side, median_of, paired, paired_timed

from git_elite.core import layout
from git_elite.core.state import Change, Overlay
from git_elite.edges import git, gitcheck

BIN = AFTER.bin
ZERO = "0" * 40
NO_HOOKS = "core.hooksPath=/nonexistent-bench-no-hooks"


@contextmanager
def sandbox(side: Side = AFTER) -> Iterator[Path]:
    """A tmp dir with HOME, AGENTD_HOME and git's global config pointed into it, and the
    side's `git-elite` first on PATH (hooks run it)."""
    keys = ("HOME", "AGENTD_HOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "PATH",
            "PYTHONPATH")
    saved = {k: os.environ.get(k) for k in keys}
    with tempfile.TemporaryDirectory(prefix="elite-bench-") as tmp:
        root = Path(tmp)
        (root / "gitconfig").write_text(GITCONFIG)
        os.environ.update(HOME=tmp, AGENTD_HOME=str(root / "agentd"), GIT_CONFIG_NOSYSTEM="1",
                          GIT_CONFIG_GLOBAL=str(root / "gitconfig"),
                          PATH=f"{side.bin}{os.pathsep}{BIN}{os.pathsep}{saved['PATH'] or ''}")
        if side is not AFTER:  # hook shims run `python -m git_elite.launcher`: that tree's
            os.environ["PYTHONPATH"] = str(side.bin.parent)
        try:
            yield root
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


GITCONFIG = "[user]\n\tname = bench\n\temail = bench@example.org\n[init]\n\tdefaultBranch = main\n"


def sh(args: list[str], cwd: Path | None = None, stdin: bytes | None = None) -> bytes:
    return subprocess.run(args, cwd=cwd, input=stdin, check=True, capture_output=True).stdout


def call(args: list[str], cwd: Path | None = None, stdin: bytes | None = None
         ) -> Callable[[], object]:
    return lambda: sh(args, cwd, stdin)


def version(side: Side = AFTER) -> Callable[[], object]:
    return call([str(side.bin / "git-elite"), "--version"])


def bare_copy(src: Path, dst: Path, hook: bool) -> Path:
    sh(["git", "clone", "-q", "--bare", str(src), str(dst)])
    if hook:
        sh(["git", "elite", "hooks", "install", "--server"], cwd=dst)
    return dst


def new_agent_files(n: int, fmt: int = 2) -> dict[str, bytes]:
    """manifest.json and profile.json of an agent a registry of n does not hold yet."""
    agent_id, manifest, profile = synth.build_agent(n)
    return {layout.agent_path(agent_id, "manifest.json", fmt): manifest,
            layout.agent_path(agent_id, "profile.json", fmt): profile}


def index_files(repo: object, files: dict[str, bytes]) -> dict[str, bytes | None]:
    """The index files (INDEX.json, format 2's touched shards) after adding `files` to
    main, from this tree's engine (O(changed))."""
    parent = git.state_at(repo, "refs/heads/main")
    changes = [Change(p, None, d) for p, d in sorted(files.items())]
    return gitcheck.rebuild_index(parent, changes, Overlay(parent, changes))


def one_manifest_commit(repo_path: Path, n: int, fmt: int = 2) -> str:
    """A commit on top of main adding one agent with its rebuilt index (no ref moved)."""
    repo = git.open_repo(repo_path)
    files = new_agent_files(n, fmt)
    return git.build_commit(repo, "refs/heads/main", {**files, **index_files(repo, files)},
                            "publish one agent")


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


def hook_alone(side: Side, server: Path, old: str, new: str) -> Callable[[], object]:
    """`git-elite hook pre-receive` run directly in the server repo (objects already there)."""
    env_line = f"{old} {new} refs/heads/main\n".encode()
    return lambda: subprocess.run([str(side.bin / "git-elite"), "hook", "pre-receive"],
                                  cwd=server, input=env_line, check=True, capture_output=True,
                                  env={**os.environ, "GIT_DIR": str(server)})


def prereceive_floor(side: Side, repo: Path, old: str, new: str, n: int
                     ) -> Callable[[], object]:
    """What the pre-receive hook of a one-agent push cannot do without and that grows with
    the registry, as two processes: the interpreter (`python -c pass`), and one `git cat-file
    --batch` reading the pushed shard the agent lands in (index/<ab>.json: N/256 entries)
    and the agents/<ab> tree (N/256 directories) before and after the push — the hook
    must read them to check that the pushed shard is the rebuild and which agents changed.
    (The parent's shard is not read: the hook keeps the parent index it checked, as the
    bench's warmed-up hook has.) No check, no import of ours: a lower bound, not a budget."""
    agent_id = synth.build_agent(n)[0]
    ab = agent_id[:2]
    asked = [f"{new}:index/{ab}.json", f"{old}:agents/{ab}", f"{new}:agents/{ab}"]
    found = sh(["git", "cat-file", "--batch-check"], repo, "".join(
        f"{name}\n" for name in asked).encode()).decode().splitlines()
    # (a small registry may have no agents/<ab> before the push; from ~10k every <ab> has)
    kept = [name for name, line in zip(asked, found, strict=True) if not line.endswith(" missing")]
    if kept[:1] != asked[:1] or kept[-1:] != asked[-1:]:
        raise SystemExit(f"bench: pre-receive floor: {repo} lacks {asked[0]} or {asked[2]}")
    names = "".join(f"{name}\n" for name in kept).encode()
    python, cat = call([str(side.bin / "python"), "-c", "pass"]), \
        call(["git", "cat-file", "--batch"], repo, names)

    def both() -> None:
        python()
        cat()
    return both


def hooked_server(side: Side, src: Path, dst: Path, n: int) -> Callable[[], object]:
    """A bare copy of `src` with the server hook and a one-manifest commit in it; returns
    the hook run on that push, warmed up once (the cache of the parent's index filled)."""
    server = bare_copy(src, dst, hook=True)
    commit = one_manifest_commit(server, n, side.fmt)
    run = hook_alone(side, server, rev(server), commit)
    run()
    return run


# --- pre-receive -----------------------------------------------------------------------------

PRE_RECEIVE_MS = {100_000: 250.0, 1_000_000: 250.0}
PRE_RECEIVE_VS_VERSION = 4.0


def measure_pre_receive(b: Bench) -> list[Row]:
    """The server hook on a push of one manifest, at every size, each paired with the same at
    the smallest size: <= 0.25 s into 100k and 1M, 1M/1k <= 2."""
    small, rows = b.sizes[0], []
    with sandbox() as tmp:
        todo = [n for n in b.sizes[1:] if b.todo(n)]
        hooks = {n: hooked_server(AFTER, b.repo(n), tmp / f"s{n}.git", n)
                 for n in [small, *todo]} if todo else {}
        for n in todo:
            t_n, t_small = paired(hooks[n], hooks[small], b.repeat)
            rows.append(Row(f"pre-receive hook, 1 manifest into {n}", t_n * 1e3, "ms",
                            f"same into {small}", t_small * 1e3, _goal_ms(n, PRE_RECEIVE_MS,
                            "ratio <= 2" if n == b.sizes[-1] and n >= 1_000_000 else ""),
                            False, 2.0 if n >= 1_000_000 else None, PRE_RECEIVE_MS.get(n)))
    return rows


def _goal_ms(n: int, goals: dict[int, float], extra: str = "") -> str:
    parts = [f"<= {goals[n]:.0f} ms"] if n in goals else []
    return ", ".join(parts + ([extra] if extra else [])) or "reported"


def measure_push(b: Bench) -> list[Row]:
    """Before/after: `git push` of one manifest with the server hook vs the same push with
    none, and the hook alone against `git-elite --version`."""
    rows = []
    for side, sizes in b.sides():
        for n in filter(b.todo, sizes):
            rows += _push(b, side, n)
    return rows


def _push(b: Bench, side: Side, n: int) -> list[Row]:
    src = b.repo(n, side.fmt)
    with sandbox(side) as tmp:
        hooked = bare_copy(src, tmp / "hooked.git", hook=True)
        plain = bare_copy(src, tmp / "plain.git", hook=False)
        work = bare_copy(src, tmp / "work.git", hook=False)
        old, commit = rev(work), one_manifest_commit(work, n, side.fmt)
        t_hooked, t_plain = paired_timed(push_then_reset(work, hooked, commit, old),
                                         push_then_reset(work, plain, commit, old), b.repeat)
        # what receive-pack runs after every push, hook or none: the push's floor in git
        t_connect = median_of(call(["git", "rev-list", "--objects", "--stdin", "--not",
                                    "--all", "--quiet"], plain, f"{commit}\n".encode()),
                              b.repeat)
        hook = hooked_server(side, src, tmp / "alone.git", n)
        if side is AFTER:
            floor = prereceive_floor(side, work, old, commit, n)
            todo = {"hook": hook, "floor": floor, "version": version(side)}
            times: dict[str, list[float]] = {k: [] for k in todo}
            for _ in range(b.repeat):
                for name, fn in todo.items():
                    times[name].append(median_of(fn, 1))
            t_hook, t_floor, t_start = (statistics.median(times[k]) for k in todo)
        else:
            t_hook, t_start = paired(hook, version(side), b.repeat)
    tag = f"format {side.fmt}"
    floors = [
        Row(f"floor of the pre-receive hook into {n}: `python -c pass`, then one `git "
            f"cat-file --batch` reading the pushed shard and the agents/<ab> tree, old "
            f"and new (bench/e2e.py prereceive_floor)", t_floor * 1e3, "ms", "git-elite --version",
            t_start * 1e3, "reported", False, None, side=side.name,
            key=f"pre-receive floor {n}")] if side is AFTER else []
    return floors + [
        Row(f"git push of 1 manifest into {n}, server hook ({tag})", t_hooked * 1e3, "ms",
            "same push, no hook", t_plain * 1e3, "reported", False, None, side=side.name,
            key=f"push {n}"),
        Row(f"git's connectivity check of that push (receive-pack's rev-list), {n} ({tag})",
            t_connect * 1e3, "ms", "same push, no hook", t_plain * 1e3, "reported", False, None,
            side=side.name, key=f"push connectivity {n}"),
        Row(f"pre-receive hook alone, 1 manifest into {n} ({tag})", t_hook * 1e3, "ms",
            "git-elite --version", t_start * 1e3,
            _goal_ms(n, PRE_RECEIVE_MS, f"ratio <= {PRE_RECEIVE_VS_VERSION:.0f}"), False,
            PRE_RECEIVE_VS_VERSION, PRE_RECEIVE_MS.get(n), side=side.name,
            key=f"pre-receive {n}")]


# --- pre-commit --------------------------------------------------------------------------------

def work_clone(b: Bench, n: int, side: Side) -> Path:
    """bench/out/work-<n>[-f1]/: a clone of the registry with the side's client hooks
    (installed again on every run), made once (a 1M checkout is 2M files) and put back to
    main when reused."""
    src = b.repo(n, side.fmt)
    work = b.out / f"work-{n}" if side.fmt == 2 else b.out / f"work-{n}-f{side.fmt}"
    stamp = work / ".git" / "bench-work-ready"
    if not stamp.exists():
        shutil.rmtree(work, ignore_errors=True)
        sh(["git", "clone", "-q", str(src), str(work)])
        for key, value in (("user.name", "bench"), ("user.email", "bench@example.org")):
            sh(["git", "config", key, value], cwd=work)
        stamp.write_text(side.label + "\n")
    # every run: the hooks must run this side's code (a reused clone may carry another
    # tree's shims, or none); installing over our own hook is idempotent
    sh(["git", "elite", "hooks", "install"], cwd=work)
    if b"git-elite" not in (work / ".git" / "hooks" / "pre-commit").read_bytes():
        raise SystemExit(f"bench: {work} has no git elite pre-commit hook")
    if rev(work, "HEAD") != rev(work, "origin/main"):
        sh(["git", "reset", "-q", "--hard", "origin/main"], cwd=work)
    return work


def commit_one(work: Path, files: dict[str, bytes], hooks: bool,
               hooks_path: Path | None = None) -> Callable[[], float]:
    """Time `git add` + `git commit` of one agent's files (with the hooks, with
    core.hooksPath pointing nowhere, or at `hooks_path`); then drop the commit (untimed)."""
    config = ["-c", f"core.hooksPath={hooks_path}"] if hooks_path is not None else \
        [] if hooks else ["-c", NO_HOOKS]

    def once() -> float:
        for rel, data in files.items():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).write_bytes(data)
        start = time.perf_counter()
        sh(["git", *config, "add", *files], cwd=work)
        sh(["git", *config, "commit", "-q", "-m", "one agent"], cwd=work)
        took = time.perf_counter() - start
        sh(["git", "reset", "-q", "--hard", "HEAD~1"], cwd=work)
        return took
    return once


def measure_pre_commit(b: Bench) -> list[Row]:
    """`git add` + `git commit` of one agent with the client hooks vs without, in one work
    clone: <= 2x at 10k and 100k, 1M reported; format 1 (release 1) before/after."""
    rows = []
    sides = b.sides()
    wanted = sorted({b.size(n) for n in b.commit_sizes})
    if b.before is not None and b.before.fmt == 2:  # one clone serves both sides
        for n in filter(b.todo, wanted):
            rows += _commits_alternating(b, n, n in sides[1][1])
        return rows
    for side, sizes in [(sides[0][0], wanted), *sides[1:]]:
        for n in filter(b.todo, sizes):
            rows += _commit(b, side, n)
    return rows


def _commits_alternating(b: Bench, n: int, with_before: bool) -> list[Row]:
    """Both sides' hooked commits in one work clone, side after side in every round (each
    installs its own hooks first), each paired with a plain commit right after it: the
    before/after figures see the same machine load."""
    sides = [AFTER, *([b.before] if with_before and b.before is not None else [])]
    hooked: dict[str, list[float]] = {s.name: [] for s in sides}
    plain: dict[str, list[float]] = {s.name: [] for s in sides}
    pythons: dict[str, int] = {}
    files = new_agent_files(n)
    for _ in range(b.repeat):
        for side in sides:
            with sandbox(side):
                work = work_clone(b, n, side)
                hooked[side.name].append(commit_one(work, files, True)())
                plain[side.name].append(commit_one(work, files, False)())
                if side.name not in pythons:
                    pythons[side.name] = pythons_per_commit(work, files)
    rows = []
    for side in sides:
        t_hooked, t_plain = statistics.median(hooked[side.name]), \
            statistics.median(plain[side.name])
        rows += [Row(f"git commit of 1 manifest in {n}, client hooks (format 2)",
                     t_hooked * 1e3, "ms", "same commit, no hooks", t_plain * 1e3,
                     "ratio <= 2", False, 2.0, side=side.name, key=f"commit {n}"),
                 Row(f"Python processes per `git commit` of 1 manifest in {n} (format 2)",
                     pythons[side.name], "processes", "one interpreter", 1, "ratio <= 1",
                     False, 1.0, side=side.name, key=f"pythons per commit {n}")]
    return rows


# The floor of any client commit hook (SPEC §12's "measured floor" of the commit): this
# interpreter started, and the git processes a pre-commit hook that stages index files
# cannot do without, one after another — what is staged (`diff-index --cached`), one blob
# written, the index restaged (`update-index` reads and rewrites the whole index file).
# It checks nothing: what a real hook costs above it is its imports and its check.
FLOOR_HOOK = """#!/bin/sh
"{python}" -P -c pass || exit 1
git diff-index --cached --name-only HEAD >/dev/null || exit 1
blob=$(git hash-object -w INDEX.json) || exit 1
exec git update-index --cacheinfo "100644,$blob,INDEX.json"
"""


def floor_hooks(root: Path, python: Path) -> Path:
    """A hooks directory under `root` holding FLOOR_HOOK as pre-commit."""
    hooks = root / "floor-hooks"
    hooks.mkdir(exist_ok=True)
    hook = hooks / "pre-commit"
    hook.write_text(FLOOR_HOOK.format(python=python))
    hook.chmod(0o755)
    return hooks


def _commit(b: Bench, side: Side, n: int) -> list[Row]:
    with sandbox(side) as root:
        work = work_clone(b, n, side)
        files = new_agent_files(n, side.fmt)
        runs = {"hooked": commit_one(work, files, True), "plain": commit_one(work, files, False),
                "floor": commit_one(work, files, False,
                                    floor_hooks(root, Path(sys.executable)))}
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(b.repeat):  # alternated: the three see the same load
            for name, once in runs.items():
                times[name].append(once())
        t_hooked, t_plain, t_floor = (statistics.median(times[k])
                                      for k in ("hooked", "plain", "floor"))
        pythons = pythons_per_commit(work, files)
    goal = n < 1_000_000
    return [Row(f"git commit of 1 manifest in {n}, client hooks (format {side.fmt})",
                t_hooked * 1e3, "ms", "same commit, no hooks", t_plain * 1e3,
                "ratio <= 2" if goal else "reported", False, 2.0 if goal else None,
                side=side.name, key=f"commit {n}"),
            Row(f"floor of a commit hook in {n}: `python -c pass`, diff-index, hash-object, "
                f"update-index (bench/e2e.py FLOOR_HOOK)", t_floor * 1e3, "ms",
                "same commit, no hooks", t_plain * 1e3, "reported", False, None,
                side=side.name, key=f"commit floor {n}"),
            Row(f"Python processes per `git commit` of 1 manifest in {n} (format {side.fmt})",
                pythons, "processes", "one interpreter", 1, "ratio <= 1", False, 1.0,
                side=side.name, key=f"pythons per commit {n}")]


SITECUSTOMIZE = ("import os, sys\nlog = os.environ.get('BENCH_PY_LOG')\nif log:\n"
                 "    open(log, 'a').write(' '.join(sys.argv) + '\\n')\n")


def pythons_per_commit(work: Path, files: dict[str, bytes]) -> int:
    """How many Python interpreters one hooked `git add` + `git commit` starts (each logs
    itself from a sitecustomize on PYTHONPATH); the commit is dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="elite-bench-py-") as tmp:
        (Path(tmp) / "sitecustomize.py").write_text(SITECUSTOMIZE)
        log = Path(tmp) / "log"
        env = {**os.environ, "BENCH_PY_LOG": str(log),
               "PYTHONPATH": os.pathsep.join(filter(None, [tmp, os.environ.get("PYTHONPATH")]))}
        for rel, data in files.items():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).write_bytes(data)
        subprocess.run(["git", "add", *files], cwd=work, env=env, check=True)
        subprocess.run(["git", "commit", "-q", "-m", "one agent"], cwd=work, env=env,
                       check=True)
        sh(["git", "reset", "-q", "--hard", "HEAD~1"], cwd=work)
        return len(log.read_text().splitlines()) if log.exists() else 0


# --- INDEX rebuild -----------------------------------------------------------------------------

def index_rebuild(src: Path, n: int) -> tuple[Callable[[], object], int]:
    """In-process: the index files after adding one agent to the registry at `src`, and
    how many bytes they are (what the commit writes besides the agent's own files)."""
    repo = git.open_env(src)
    files = new_agent_files(n)
    written = sum(len(d or b"") for d in index_files(repo, files).values())
    return (lambda: index_files(repo, files)), written


def measure_index_rebuild(b: Bench) -> list[Row]:
    """INDEX rebuild after adding one agent, at each size, against the smallest: time and
    bytes written at 100k <= 1.5x those at 1k."""
    small = b.sizes[0]
    todo = [n for n in b.sizes[1:] if b.todo(n)]
    if not todo:
        return []
    rebuild_small, bytes_small = index_rebuild(b.repo(small), small)
    rows = []
    for n in todo:
        rebuild_n, bytes_n = index_rebuild(b.repo(n), n)
        t_n, t_small = paired(rebuild_n, rebuild_small, b.repeat)
        goal = 1.5 if n <= 100_000 else None
        text = "ratio <= 1.5" if goal else "reported"
        rows += [Row(f"index rebuild, 1 agent added to {n}", t_n * 1e3, "ms",
                     f"same at {small}", t_small * 1e3, text, False, goal),
                 Row(f"index bytes written, 1 agent added to {n}", bytes_n / 1024, "KiB",
                     f"same at {small}", bytes_small / 1024, text, False, goal)]
    return rows


def timed_child(args: list[str], cwd: Path | None = None) -> tuple[float, int]:
    """(seconds, peak RSS KiB) of one command, run from a fresh small python so that
    RUSAGE_CHILDREN is the command's (and its reaped children's) own: Linux carries a
    forking parent's RSS into ru_maxrss across exec, so a child of this bench would not."""
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, "
            "stderr=subprocess.DEVNULL); t = time.perf_counter() - t; "
            "print(t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1])
