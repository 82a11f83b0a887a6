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
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def timed(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and every process it started)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tree", action="append", required=True, help="NAME=LAUNCHER")
    parser.add_argument("--registry", action="append", required=True, help="N=PATH")
    opts = parser.parse_args()
    trees = [tuple(t.split("=", 1)) for t in opts.tree]
    registries = [tuple(r.split("=", 1)) for r in opts.registry]
    times: dict[str, list[tuple[float, float]]] = {}
    loads = [os.getloadavg()[0]]
    for _ in range(opts.rounds):
        times.setdefault("python -c pass", []).append(timed([sys.executable, "-c", "pass"]))
        for name, launcher in trees:
            times.setdefault(f"{name} --version", []).append(timed([launcher, "--version"]))
        for n, path in registries:
            for name, launcher in trees:
                times.setdefault(f"{name} {n}", []).append(timed(
                    [launcher, "discover", "--registry", path, "--json", "--offline"]))
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
