"""Issue 24's before/after (the pinned state, SPEC §6.2), from one run: the code before the
pins (commit 1927675) on an unpinned format-2 registry against this tree on the pinned one,
alternating side by side in every round so that both see the same machine load.

1. One-agent `git add` + `git commit` with the client hooks, each against the same commit
   without hooks in its own clone (before: 1927675's hooks in a clone of the unpinned
   registry; after: this tree's in a clone of the pinned one).
2. `discover --url` of the top 20 over loopback HTTP, each against its `git-elite
   --version` (before: 1927675's reader on a site of the unpinned registry written by
   1927675's `site`; after: this tree's on sites of the pinned registry, with a freshly
   signed timestamp and without a timestamp role), with the requests counted from the
   server's log.

The unpinned registry is bench/out/unpinned/registry-<n>.git, built by 1927675's own
bench/synth.py with 1927675's code (cached; a tiny one is built the same way for the smoke
test). Registries under bench/out are never written: every side works on a `bare_copy`.

    python bench/run.py --sizes 10000 --before-sizes '' --only pins --repeat 5
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import before
import synth
from common import AFTER, Bench, Row, Side, byte_compile
from e2e import bare_copy, commit_one, new_agent_files, pythons_per_commit, sandbox, sh
from site_bench import _summary, serve

from git_elite.core import indexing, layout, shards

PINNED_BEFORE = "1927675"  # main just before the pinned state (issue 24) landed
LABEL = f"format 2 unpinned, the code at {PINNED_BEFORE}"
SIDE = f"before {PINNED_BEFORE}"  # not "before": run.py's before/after table is release 1's

BUILD_UNPINNED = ("import pathlib, sys\nsys.path.insert(0, sys.argv[1])\nimport synth\n"
                  "print(synth.build(int(sys.argv[2]), pathlib.Path(sys.argv[3])))\n")


def before_side(b: Bench) -> Side:
    """1927675's code (bench/out/before-<rev>/, with its bench/synth.py), byte-compiled."""
    tree = before.tree(PINNED_BEFORE, b.out)
    bench_dir = tree / "bench"
    if not (bench_dir / "synth.py").exists():
        bench_dir.mkdir(exist_ok=True)
        (bench_dir / "synth.py").write_bytes(sh(
            ["git", "show", f"{PINNED_BEFORE}:bench/synth.py"], cwd=before.ROOT))
    byte_compile(before.ROOT / "git_elite", tree / "git_elite")  # as installed copies are
    return Side(SIDE, 2, tree / "bin", LABEL)


def unpinned(b: Bench, side: Side, n: int) -> Path:
    """The unpinned registry of n, as 1927675's synth builds it (with 1927675's code on
    PYTHONPATH); cached under <out>/unpinned/."""
    tree = side.bin.parent
    out = subprocess.run(
        [sys.executable, "-c", BUILD_UNPINNED, str(tree / "bench"), str(n),
         str(b.out / "unpinned")],
        env={**os.environ, "PYTHONPATH": str(tree)}, check=True, capture_output=True,
        text=True).stdout
    return Path(out.strip().splitlines()[-1])


def measure_pins(b: Bench) -> list[Row]:
    """Issue 24's table: the one-agent commit and `discover --url` top 20, before (1927675,
    unpinned) and after (this tree, pinned), alternating round by round."""
    if not b.once():
        return []
    n = b.size(10_000)
    old = before_side(b)
    registry_old = unpinned(b, old, n)
    pinned, stamped = b.repo(n), synth.build(n, b.out, stamped=True)
    with tempfile.TemporaryDirectory(prefix="elite-pins-") as tmp:
        root = Path(tmp)
        rows = _commits(b, n, old, registry_old, pinned, root) if b.pins_commit else []
        for clone in ("commit-before", "commit-after"):  # 1M: ~13 GB each, not used again
            shutil.rmtree(root / clone, ignore_errors=True)
        rows += _discover(b, n, old, registry_old, pinned, stamped, root)
    print("\n".join(table(rows)), file=sys.stderr)
    return rows


# --- 1. the one-agent commit ------------------------------------------------------------

def progress(what: str) -> None:
    print(f"pins {time.strftime('%H:%M:%S')}: {what}", file=sys.stderr, flush=True)


def _clones(pairs: list[tuple[Path, Path]]) -> list[Path]:
    """A work clone of a bare copy of each `registry` under its `where`, the checkouts run
    at once (at 1M each is a 2M-file checkout of ~13 min, mostly waiting on the disk)."""
    works = []
    procs = []
    for registry, where in pairs:
        copy = bare_copy(registry, where / "origin.git", hook=False)
        works.append(where / "work")
        procs.append(subprocess.Popen(["git", "clone", "-q", str(copy), str(works[-1])]))
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("bench: a work clone failed")
    return works


def _work(side: Side, work: Path) -> Path:
    """The work clone with the side's client hooks."""
    with sandbox(side):
        for key, value in (("user.name", "bench"), ("user.email", "bench@example.org")):
            sh(["git", "config", key, value], cwd=work)
        sh(["git", "elite", "hooks", "install"], cwd=work)
    if b"git-elite" not in (work / ".git" / "hooks" / "pre-commit").read_bytes():
        raise SystemExit(f"bench: {work} has no git elite pre-commit hook")
    return work


def _commits(b: Bench, n: int, old: Side, registry_old: Path, pinned: Path, root: Path
             ) -> list[Row]:
    """Two agents: the next one of the synthetic sequence (not in any top-100 ranking at
    10k: the rankings and index/ranked.json are unchanged) and the best-scored of the next
    200 (it enters the rankings: the pinned side rewrites index/ranked.json)."""
    progress(f"cloning the {n:,} registries for the commits (both at once)")
    clones = _clones([(registry_old, root / "commit-before"), (pinned, root / "commit-after")])
    cases = [(old, _work(old, clones[0])), (AFTER, _work(AFTER, clones[1]))]
    progress("timing the commits")
    agents = [("", "", new_agent_files(n)), (" ranked", ", entering the rankings",
                                             ranked_agent_files(n))]
    hooked: dict[tuple[str, str], list[float]] = {}
    plain: dict[tuple[str, str], list[float]] = {}
    for side, work in cases:  # warm-up: each clone's first commit (caches filled)
        with sandbox(side):
            commit_one(work, agents[0][2], True)()
    for _ in range(b.repeat):
        for tag, _, files in agents:
            for side, work in cases:
                with sandbox(side):
                    hooked.setdefault((side.name, tag), []).append(
                        commit_one(work, files, True)())
                    plain.setdefault((side.name, tag), []).append(
                        commit_one(work, files, False)())
    rows = []
    for tag, what, files in agents:
        for side, work in cases:
            with sandbox(side):
                pythons = pythons_per_commit(work, files)
                written, paths = index_written(work, files)
            b.notes.append(f"git commit of 1 agent in {n}{what} ({side.label}): the hook "
                           f"writes {written:,} bytes of index files: {', '.join(paths)}")
            rows += [Row(f"git commit of 1 manifest in {n}{what}, client hooks",
                         statistics.median(hooked[side.name, tag]) * 1e3, "ms",
                         "same commit, no hooks", statistics.median(plain[side.name, tag])
                         * 1e3, "ratio <= 2", False, 2.0, side=side.name,
                         key=f"pins commit{tag} {n}"),
                     Row(f"index bytes a `git commit` of 1 manifest in {n}{what} writes",
                         written / 1024, "KiB", "the agent's own files",
                         sum(map(len, files.values())) / 1024, "reported", False, None,
                         side=side.name, key=f"pins index bytes{tag} {n}")]
            if not tag:
                rows.append(Row(f"Python processes per `git commit` of 1 manifest in {n}",
                                pythons, "processes", "one interpreter", 1, "ratio <= 1",
                                False, 1.0, side=side.name, key=f"pins pythons per commit {n}"))
    return rows


def ranked_agent_files(n: int, among: int = 200) -> dict[str, bytes]:
    """manifest.json and profile.json of the elite agent with the best score among the
    `among` agents after the registry's n (it enters the top-100 rankings)."""
    limits = indexing.thresholds(synth.identity())

    def score(i: int) -> int:
        body, _ = synth._signed(i)
        entry = shards.entry(indexing.dumps(body), body, limits)
        return int(entry["score_ppm"]) if entry["elite"] else -1

    agent_id, manifest, profile = synth.build_agent(max(range(n, n + among), key=score))
    return {layout.agent_path(agent_id, "manifest.json"): manifest,
            layout.agent_path(agent_id, "profile.json"): profile}


def index_written(work: Path, files: dict[str, bytes]) -> tuple[int, list[str]]:
    """Bytes (and paths) of what one hooked commit of `files` adds besides them: the index
    files the hook wrote (INDEX.json, the touched shard and, pinned, index/ranked.json and
    the trust shards); the commit is dropped afterwards."""
    for rel, data in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
    sh(["git", "add", *files], cwd=work)
    sh(["git", "commit", "-q", "-m", "one agent"], cwd=work)
    changed = sh(["git", "diff-tree", "-r", "--no-commit-id", "HEAD~1", "HEAD"], cwd=work)
    sizes: dict[str, int] = {}
    for line in changed.decode().splitlines():
        meta, path = line.split("\t", 1)
        if path not in files and meta.split()[4] != "D":
            sizes[path] = int(sh(["git", "cat-file", "-s", meta.split()[3]], cwd=work))
    sh(["git", "reset", "-q", "--hard", "HEAD~1"], cwd=work)
    return sum(sizes.values()), [f"{p} {s:,} B" for p, s in sorted(sizes.items())]


# --- 2. discover --url top 20 -------------------------------------------------------------

def _sites(wanted: list[tuple[Side, Path, Path, bool]]) -> list[Path]:
    """Each side's `git elite site` of a bare copy of its registry (its timestamp signed
    just before, with `stamp`), written at once (at 1M a site is ~3M files, ~13 GB)."""
    sites = []
    procs = []
    with contextlib.ExitStack() as stack:
        for side, registry, where, stamp in wanted:
            copy = bare_copy(registry, where / "registry.git", hook=False)
            if stamp:
                synth.stamp(copy)
            stack.enter_context(sandbox(side))
            sites.append(where / "site")
            procs.append(subprocess.Popen(
                ["git", "elite", "site", str(copy), "-o", str(sites[-1]), "--rev", "main"],
                env=dict(os.environ)))
        if any(p.wait() != 0 for p in procs):
            raise SystemExit("bench: a `git elite site` failed")
    return sites


def _timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    sh(args, cwd=cwd)
    return time.perf_counter() - start


def _discover(b: Bench, n: int, old: Side, registry_old: Path, pinned: Path,
              stamped: Path, root: Path) -> list[Row]:
    cases = [c for c in [(SIDE, old, registry_old, False, ""),
                         ("after-ts", AFTER, stamped, True, ", timestamp role"),
                         ("after", AFTER, pinned, False, ", no timestamp role")]
             if c[0].split()[0] in b.pins_sites]
    progress(f"writing {len(cases)} sites of {n:,} (at once)")
    sites = _sites([(side, reg, root / f"site-{i}", stamp)
                    for i, (_, side, reg, stamp, _) in enumerate(cases)])
    progress("timing discover --url")
    times: dict[str, list[float]] = {c[0]: [] for c in cases}
    starts: dict[str, list[float]] = {c[0]: [] for c in cases}
    counts: dict[str, list[int]] = {c[0]: [] for c in cases}
    logs: dict[str, list[str]] = {}
    with contextlib.ExitStack() as stack:
        served = {name: stack.enter_context(serve(site))
                  for (name, *_), site in zip(cases, sites, strict=True)}
        for _ in range(b.repeat):
            for name, side, _, _, _ in cases:
                url, requests = served[name]
                with sandbox(side) as home:
                    args = [str(side.bin / "git-elite"), "discover", "--url", url, "--json"]
                    sh(args, cwd=home)  # warm-up (and the freshness memory, if any)
                    requests.clear()
                    times[name].append(_timed(args, home))
                    counts[name].append(len(requests))
                    logs.setdefault(name, list(requests))
                    starts[name].append(_timed([str(side.bin / "git-elite"), "--version"],
                                               home))
    rows = []
    for name, side, _, _, what in cases:
        count = statistics.median(counts[name])
        varied = "" if len(set(counts[name])) == 1 else f" (rounds: {counts[name]})"
        b.notes.append(f"discover --url of {n}{what} ({side.label}): {count:g} requests"
                       f"{varied}: " + _summary(logs[name]))
        key = f"pins url {n}"  # not e2e's keys: run.py pairs rows of one key
        rows += [
            Row(f"discover --url top 20 of {n}{what}, loopback HTTP",
                statistics.median(times[name]) * 1e3, "ms", "git-elite --version",
                statistics.median(starts[name]) * 1e3, "<= 1000 ms", False, None, 1000.0,
                side=side.name, key=key),
            Row(f"discover --url top 20 of {n}{what}: HTTP requests", count,
                "requests", "agents shown", 20, "<= 30", False, None, 30, side=side.name,
                key=key + " requests")]
    return rows


def table(rows: list[Row]) -> list[str]:
    """The before/after table of RESULTS.md's issue-24 section: each after row with the
    before row of the same key (the unpinned reader's, for both pinned --url sites)."""
    old = {r.key: r for r in rows if r.side == SIDE}
    lines = ["| measurement | before | after | baseline (before / after) | before ratio | "
             "after ratio | change |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.side != "after":
            continue
        o = old.get(r.key)
        if o is None:
            continue
        change = r.value / o.value if o.value else float("nan")
        lines.append(f"| {r.name} | {_fmt(o.value)} {o.unit} | {_fmt(r.value)} {r.unit} | "
                     f"{r.baseline_name}: {_fmt(o.baseline)} / {_fmt(r.baseline)} | "
                     f"{o.ratio:.3f} | {r.ratio:.3f} | {change:.3g}x |")
    return lines


def report(rows: list[Row]) -> list[str]:
    """The generated report's section of this measurement (none when it did not run)."""
    lines = table(rows)
    if len(lines) == 2:
        return []
    return [f"## Issue 24, the pinned state: {LABEL} against this tree, pinned", "",
            "Alternating side by side in every round; bench/pins_bench.py.", "", *lines, ""]


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"

