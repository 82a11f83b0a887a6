"""`discover --offline` top 20 (`--json`) against `git-elite --version`, two code trees
alternated in the same rounds (issue 26 item 2; bench/RESULTS.md, "discover start-up,
round 2"). Each tree is a `git-elite` launcher (bench/before.py makes one for any commit);
the registries are bare copies whose cache clones `$AGENTD_HOME` already holds (one
`discover --registry R` without --offline fills each). Prints the median ms of each
(tree, size), `--version` and `python -c pass`, and each median's ratio to `--version`:
wall clock, and the CPU time (user + system) of the process and its children (git
included), which a loaded machine inflates less than the wall clock.

    python bench/discover_rounds.py --rounds 7 --tree before=/tmp/b/bin/git-elite \\
        --tree after=/tmp/a/bin/git-elite --registry 1000=/tmp/r1000.git ...

`--here N=DIR` reads the registry clone DIR you stand in (`discover --json` run in DIR, no
cache: a `git clone --no-checkout` of a bare copy will do, which a 1M registry's cache clone,
hours to fill, does not need); `--extra ARG` adds an argument to every discover (e.g.
`--extra=--min-success --extra=0.9`, the filter that reads every shard).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def timed(args: list[str], cwd: str | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and every process it started)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tree", action="append", required=True, help="NAME=LAUNCHER")
    parser.add_argument("--registry", action="append", default=[], help="N=PATH")
    parser.add_argument("--here", action="append", default=[], help="N=DIR")
    parser.add_argument("--extra", action="append", default=[], help="ARG")
    opts = parser.parse_args()
    trees = [tuple(t.split("=", 1)) for t in opts.tree]
    registries = [(n, ["--registry", path, "--offline"], None) for n, path in
                  (r.split("=", 1) for r in opts.registry)] + \
        [(f"{n} (here)", ["--offline"], path) for n, path in
         (r.split("=", 1) for r in opts.here)]
    times: dict[str, list[tuple[float, float]]] = {}
    loads = [os.getloadavg()[0]]
    for _ in range(opts.rounds):
        times.setdefault("python -c pass", []).append(timed([sys.executable, "-c", "pass"]))
        for name, launcher in trees:
            times.setdefault(f"{name} --version", []).append(timed([launcher, "--version"]))
        for n, where, cwd in registries:
            for name, launcher in trees:
                times.setdefault(f"{name} {n}", []).append(timed(
                    [launcher, "discover", *where, "--json", *opts.extra], cwd))
        loads.append(os.getloadavg()[0])
    base = times[f"{trees[0][0]} --version"]
    wall_v = statistics.median(w for w, _ in base)
    cpu_v = statistics.median(c for _, c in base)
    print(f"{opts.rounds} rounds, load {min(loads):.1f}-{max(loads):.1f}; medians, and "
          f"their ratio to {trees[0][0]} --version")
    for key, values in times.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(f"{key:24} wall {wall * 1e3:7.1f} ms {wall / wall_v:5.2f}x   "
              f"cpu {cpu * 1e3:7.1f} ms {cpu / cpu_v:5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
