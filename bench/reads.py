"""SPEC §12's reader-side measurements: `discover --offline` (top 20, and a filter that reads
every shard), `git elite verify` of a whole registry (rate against libsodium's single-core
verify of the same signatures, and peak memory), and `publish` of one manifest through the
server hook. Each runs on format 2 with this tree and, for the before/after table, on format 1
with the release-1 code (bench/before.py)."""

from __future__ import annotations

import hashlib
import os
import statistics
from collections.abc import Callable
from pathlib import Path

import synth
from common import AFTER, Bench, Row, Side, paired, paired_timed, signed_parts
from e2e import bare_copy, call, new_agent_files, sandbox, sh, timed_child, version

DISCOVER_VS_VERSION = 3.0  # top 20, at every size
FILTERED_MS = {100_000: 2000.0}
PUBLISH_MS = {100_000: 1000.0, 1_000_000: 2000.0}
MEMORY_VS_VERSION = 3.0  # a second verify with the verified-tree memory (goal at 1M)
VERIFY_MIB = 256.0


def _discover(side: Side, n: int, repo: Path, b: Bench, tmp: Path, top20: bool = True,
              filtered: bool = True) -> list[Row]:
    args = ["git", "elite", "discover", "--registry", str(repo), "--json"]
    sh(args, cwd=tmp)  # fills the cache clone
    rows, tag = [], f"format {side.fmt}"
    runs: list[tuple[str, list[str], dict[int, float]]] = \
        ([("top 20", [], {})] if top20 else []) + \
        ([("--min-success 0.9 (every shard)", ["--min-success", "0.9"], FILTERED_MS)]
         if filtered else [])
    for what, extra, goals in runs:
        if what == "top 20" and side is AFTER:
            rows += _discover_floor(side, n, repo, b, tmp, args)
            continue
        t, t_start = paired(call([*args, "--offline", *extra], cwd=tmp), version(side),
                            b.repeat)
        goal = goals.get(n)
        ratio = DISCOVER_VS_VERSION if what == "top 20" else None
        text = f"<= {goal:.0f} ms" if goal else f"ratio <= {ratio:.0f}" if ratio else \
            "reported"
        rows.append(Row(f"discover --offline {what}, {n} agents ({tag})", t * 1e3, "ms",
                        "git-elite --version", t_start * 1e3, text, False, ratio, goal,
                        side=side.name, key=f"discover {what} {n}"))
    return rows


def _discover_floor(side: Side, n: int, repo: Path, b: Bench, tmp: Path, args: list[str]
                    ) -> list[Row]:
    """discover --offline top 20, its floor (bench/discover_floor.py: the interpreter, the
    same 3 git processes, the pinned head and ranked file, the 20 agents' essential checks)
    and `--version`, alternated in the same rounds: discover's row (goal <= 3x `--version`),
    the floor's against `--version`, and discover's against the floor."""
    caches = sorted((tmp / "agentd" / "cache" / "registries").glob(f"{repo.stem}-*.git"))
    if len(caches) != 1:
        raise SystemExit(f"bench: discover floor: no single cache clone of {repo}: {caches}")
    floor = [str(side.bin / "python"), str(Path(__file__).with_name("discover_floor.py")),
             str(caches[0]), str(repo)]
    sh(floor)  # checks the floor's own read once (it exits non-zero on any problem)
    todo = {"discover": call([*args, "--offline"], cwd=tmp), "floor": call(floor),
            "version": version(side)}
    times: dict[str, list[float]] = {k: [] for k in todo}
    for _ in range(b.repeat):
        for name, fn in todo.items():
            times[name].append(_timed(fn))
    t, t_floor, t_start = (statistics.median(times[k]) * 1e3 for k in todo)
    tag = f"format {side.fmt}"
    return [Row(f"discover --offline top 20, {n} agents ({tag})", t, "ms",
                "git-elite --version", t_start, f"ratio <= {DISCOVER_VS_VERSION:.0f}", False,
                DISCOVER_VS_VERSION, side=side.name, key=f"discover top 20 {n}"),
            Row(f"floor of discover --offline top 20: python, its 3 git processes, the pinned "
                f"head and ranked file, 20 agents' essential checks, {n} agents "
                f"(bench/discover_floor.py)", t_floor, "ms", "git-elite --version", t_start,
                "reported", False, None, side=side.name, key=f"discover floor {n}"),
            Row(f"discover --offline top 20 against its floor, {n} agents", t, "ms",
                "the floor, same rounds", t_floor, "reported", False, None, side=side.name,
                key=f"discover vs floor {n}")]


def measure_discover(b: Bench) -> list[Row]:
    """`git elite discover --offline` (cache warm): top 20 at every size (<= 0.3 s at 100k,
    <= 0.5 s at 1M); `--min-success`, which reads every shard, <= 2 s at 100k."""
    rows = []
    with sandbox() as tmp:
        for n in filter(b.todo, b.sizes):
            rows += _discover(AFTER, n, b.repo(n), b, tmp, filtered=n < b.BIG)
    if b.before is not None:
        with sandbox(b.before) as tmp:
            for n in filter(b.todo, b.sides()[1][1]):
                rows += _discover(b.before, n, b.repo(n, b.before.fmt), b, tmp)
    return rows


# --- verify ------------------------------------------------------------------------------------

def _sodium(parts: list[tuple[bytes, bytes, bytes]]) -> Callable[[], object]:
    from nacl.bindings import crypto_sign_open

    def verify_all() -> None:
        for public, message, sig in parts:
            crypto_sign_open(sig + message, public)
    return verify_all


def _verify_runs(side: Side, repo: Path, repeat: int, sodium: Callable[[], object]
                 ) -> tuple[float, int, float]:
    """Medians of (verify seconds, verify peak KiB, libsodium seconds), run alternately."""
    times, peaks, base = [], [], []
    for _ in range(repeat):
        # this tree remembers a clean verify ($AGENTD_HOME/verified/): the rate is a full read
        no_cache = ["--no-cache"] if side is AFTER else []
        took, peak = timed_child([str(side.bin / "git-elite"), "verify", *no_cache, str(repo)])
        times.append(took)
        peaks.append(peak)
        base.append(_timed(sodium))
    return statistics.median(times), int(statistics.median(peaks)), statistics.median(base)


def _timed(fn: Callable[[], object]) -> float:
    import time

    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure_verify(b: Bench) -> list[Row]:
    """`git elite verify` of a whole registry as one process: manifests/s against libsodium's
    single-core strict verify of the same signatures (>= 1/2), and its peak memory (<= 256 MiB
    at 100k, <= 2x its 1k figure). Before/after at the before sizes."""
    small = b.sizes[0]
    rows: list[Row] = []
    peaks: dict[tuple[str, int], int] = {}
    for side, sizes in b.sides():
        if side is AFTER:  # every size of the run (1k, 10k, 100k), and 1M when asked
            sizes = [n for n in b.sizes if n < b.BIG or b.verify_1m]
        sizes = [n for n in sizes if b.todo(n) and (n <= b.verify_max or n >= b.BIG)]
        if not sizes:
            continue
        for n in sorted({small, *sizes}):
            repo = b.repo(n, side.fmt)
            # synthetic agent i is the same in every registry: a 1M registry's rate is
            # compared with libsodium on its first 100k signatures (the bench holds no 1M)
            sample = b.repo(min(n, 100_000), side.fmt)
            parts = signed_parts(synth.read_blobs(sample))
            # a whole-registry verify of 100k takes minutes: one paired run there (and at
            # 1M), the median of b.repeat below
            repeat = b.repeat if n < 100_000 else 1
            t, peak, t_sodium = _verify_runs(side, repo, repeat, _sodium(parts))
            t_sodium *= n / len(parts)
            peaks[side.name, n] = peak
            if n == small and n not in sizes:
                continue
            rows.append(Row(f"git elite verify, {n} agents, whole process (format {side.fmt})",
                            n / t, "manifests/s", "libsodium verify, 1 core", n / t_sodium,
                            "rate ratio >= 1/2", True, 0.5, side=side.name,
                            key=f"verify rate {n}"))
    for side, _ in b.sides():
        for n in sorted(n for name, n in peaks if name == side.name and n != small):
            goal = VERIFY_MIB if n <= 100_000 else None
            rows.append(Row(f"git elite verify, {n} agents, peak RSS (format {side.fmt})",
                            peaks[side.name, n] / 1024, "MiB", f"same, {small} agents",
                            peaks[side.name, small] / 1024,
                            (f"<= {goal:.0f} MiB, " if goal else "") + "ratio <= 2", False, 2.0,
                            goal, side=side.name, key=f"verify memory {n}"))
    return rows


def measure_verify_memory(b: Bench) -> list[Row]:
    """A second `git elite verify` after a one-agent commit, with the verified-tree memory
    of the first (SPEC §12: <= 3x `git-elite --version` at 1M): each run adds one agent to a
    bare copy, then verifies (paired with --version). The first, full verify is untimed;
    the before side (no memory) reads the whole tree again each time."""
    rows = []
    sizes = [n for n in b.sizes if b.todo(n) and (n <= b.verify_max or b.verify_again_1m)]
    before = [n for n in sorted({b.size(n) for n in b.before_sizes}) if n <= 10_000 and
              b.todo(n)] if b.before is not None and b.before.fmt == 2 else []
    for side, todo in [(AFTER, sizes), *([(b.before, before)] if b.before and before else [])]:
        for n in todo:
            rows += _verify_again(b, side, n)
    return rows


def _verify_again(b: Bench, side: Side, n: int) -> list[Row]:
    """The second verify's row and, for this tree, its floor's (bench/floor_second.py: the
    same one-agent commit, right after the verify, in the same rounds as --version)."""
    from e2e import new_agent_files, one_manifest_commit

    from git_elite.core import layout

    floors: list[float] = []
    with sandbox(side) as tmp:
        repo = bare_copy(b.repo(n, side.fmt), tmp / "registry.git", hook=False)
        elite = [str(side.bin / "git-elite"), "verify", str(repo)]
        sh(elite)  # the first, full verify (untimed): the memory of this tree
        added = iter(range(b.repeat))

        def again() -> float:  # the commit is made untimed; the verify after it is timed
            k = n + 7 * next(added)
            commit = one_manifest_commit(repo, k, side.fmt)
            sh(["git", "update-ref", "refs/heads/main", commit], cwd=repo)
            took = _timed(lambda: sh(elite))
            if side is AFTER:  # the floor of the same change, in the same round
                agent_id = layout.agent_id_in(next(iter(new_agent_files(k, side.fmt))))
                assert agent_id is not None
                floors.append(_timed(lambda: sh([str(side.bin / "python"), FLOOR_SECOND,
                                                 str(repo), agent_id])))
            return took

        start = version(side)
        t, t_start = paired_timed(again, lambda: _timed(start), b.repeat)
    goal = n >= 1_000_000
    rows = [Row(f"verify after a one-agent commit, memory of the last verify, {n} agents "
                f"(format {side.fmt})", t * 1e3, "ms", "git-elite --version", t_start * 1e3,
                f"ratio <= {MEMORY_VS_VERSION:.0f}" if goal else "reported", False,
                MEMORY_VS_VERSION if goal else None, side=side.name, key=f"verify again {n}")]
    if floors:
        rows.append(Row(f"second verify floor, {n} agents (python + git config + one git "
                        "cat-file + the agent's checks)", statistics.median(floors) * 1e3,
                        "ms", "git-elite --version", t_start * 1e3, "reported", False, None,
                        side=side.name, key=f"verify again floor {n}"))
    return rows


FLOOR_SECOND = str(Path(__file__).resolve().parent / "floor_second.py")


# --- publish -----------------------------------------------------------------------------------

def _agent_dir(root: Path, n: int, fmt: int) -> Path:
    """$AGENTD_HOME/elite/<agent_id>/ of synthetic agent n (signed by owner n % 200)."""
    files = new_agent_files(n, fmt)
    folder = root / next(iter(files)).split("/")[-2]
    folder.mkdir(parents=True)
    for path, data in files.items():
        (folder / path.rsplit("/", 1)[1]).write_bytes(data)
    return folder


def _publish(b: Bench, side: Side, n: int) -> Row:
    with sandbox(side) as tmp:
        server = bare_copy(b.repo(n, side.fmt), tmp / "server.git", hook=True)
        seed = hashlib.sha256(b"bench-owner-%d" % (n % synth.OWNERS)).hexdigest()
        os.environ["AGENTD_KEYGEN_SEED"] = seed
        try:
            sh(["git", "elite", "id", "init"], cwd=tmp)
            agents = tmp / "agents"
            # a warm-up publish fills the cache clone; then each run publishes a new agent
            runs = [_agent_dir(agents, n + synth.OWNERS * k, side.fmt)
                    for k in range(b.repeat + 1)]
            sh(["git", "elite", "publish", str(runs[0]), "--registry", str(server)], cwd=tmp)
            todo = iter(runs[1:])
            t, t_start = paired(lambda: sh(["git", "elite", "publish", str(next(todo)),
                                            "--registry", str(server)], cwd=tmp),
                                version(side), b.repeat)
        finally:
            os.environ.pop("AGENTD_KEYGEN_SEED", None)
    goal = PUBLISH_MS.get(n)
    return Row(f"publish of 1 manifest to a bare {n} registry, server hook (format {side.fmt})",
               t * 1e3, "ms", "git-elite --version", t_start * 1e3,
               f"<= {goal:.0f} ms" if goal else "reported", False, None, goal, side=side.name,
               key=f"publish {n}")


def measure_publish(b: Bench) -> list[Row]:
    """`git elite publish` of one manifest to a local bare registry with the server hook
    (cache warm, a new agent each run): <= 1.0 s at 100k; 1M reported; before/after."""
    sizes = sorted({b.size(n) for n in b.publish_sizes})
    rows = [_publish(b, AFTER, n) for n in filter(b.todo, sizes)]
    if b.before is not None:
        rows += [_publish(b, b.before, n) for n in filter(b.todo, b.sides()[1][1])]
    return rows
