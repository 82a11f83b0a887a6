"""The floor of this Python design for a whole-registry `verify` (SPEC §12, issue 26 item 3).

`verify` of a whole registry must reach 1/2 of libsodium's single-core verify rate. This
measures, on the same registry and in the same rounds as `git elite verify --no-cache` and
libsodium, the essential per-agent work and nothing else, on two processes as verify runs:
the agents' (manifest.json, profile.json) blob ids from one `git ls-tree -r`, the halves
shared out by the project's own `fanout.halves` (a forked child checks the second), each
process reading its blobs through one `git cat-file --batch-command --buffer` of its own
(verify's `catfile.Stream`, 256 ids a round trip), then per agent the project's own calls,
nothing re-implemented (bench/essential.py, shared with the discover floor): strict parse,
schema and cross-field rules, signature, the profile's parse and schema, sha256(JCS(profile))
against the agent_id, the manifest/profile binding fields.

What it leaves out is everything else `verify` does: the tree walk and the per-blob mode,
depth and size checks before reading, the rule engine's per-file and per-agent glue (path
classes, the secret scan, rotations, policy, prompt/demos bindings), the index entry and the
shard of each piece compared with index/<ab>.json, the head, the pins. Its rate is therefore
"the floor of this design": verify's rate against it says how much is left around the
essential work; its rate against libsodium says how far the essential work alone is.

    python bench/floors.py REPO       # one run: a JSON line {agents, bad, rules, wall}
    python bench/run.py --sizes 10000 --before-sizes '' --only floors --repeat 5
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import AFTER, Bench, Row, signed_parts  # noqa: E402
from essential import check_agent  # noqa: E402

from git_elite.core import fanout  # noqa: E402

BATCH = 128  # agents per round trip to `git cat-file` (2 ids each: one Stream batch)

Agent = tuple[str, str, str]  # (agent_id, manifest blob id, profile blob id)


def listing(repo: Path, rev: str = "HEAD") -> list[Agent]:
    """Every agent with a manifest and a profile under agents/ at `rev`, from one
    `git ls-tree -r` (format 2: agents/<ab>/<agent_id>/<name>)."""
    out = subprocess.run(["git", f"--git-dir={repo}", "ls-tree", "-r", rev, "agents"],
                         check=True, capture_output=True).stdout
    found: dict[str, dict[str, str]] = {}
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        meta, path = line.split("\t", 1)
        parts = path.split("/")
        if len(parts) == 4 and parts[3] in ("manifest.json", "profile.json"):
            found.setdefault(parts[2], {})[parts[3]] = meta.split()[2]
    return [(a, f["manifest.json"], f["profile.json"]) for a, f in sorted(found.items())
            if len(f) == 2]


def check_half(repo: Path, agents: Sequence[Agent]) -> list[tuple[str, str]]:
    """(agent_id, rule) of each problem of `agents`, their blobs read through one `git
    cat-file --batch-command --buffer` of this process (verify's own `catfile.Stream`)."""
    from git_elite.edges.catfile import Stream

    stream = Stream(str(repo))
    found: list[tuple[str, str]] = []
    try:
        for at in range(0, len(agents), BATCH):
            batch = agents[at:at + BATCH]
            blobs = stream.contents([oid for _, m, p in batch for oid in (m, p)])
            for agent_id, manifest, profile in batch:
                for problem in check_agent(agent_id, blobs.get(manifest, b""),
                                           blobs.get(profile, b"")):
                    found.append((agent_id, problem.rule))
    finally:
        stream.close()
    return found


def floor(repo: Path) -> dict[str, object]:
    """One floor run in this process (and its forked half): agents, problems, wall."""
    start = time.perf_counter()
    agents = listing(repo)
    halves = fanout.halves(agents, lambda part: check_half(repo, part))
    problems = [p for half in halves for p in half]
    return {"agents": len(agents), "bad": sorted({a for a, _ in problems}),
            "rules": sorted({r for _, r in problems}), "halves": len(halves),
            "wall": time.perf_counter() - start}


def timed(args: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the command and all its children, its stdout), from a
    fresh small python whose RUSAGE_CHILDREN is the command's own."""
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "p = subprocess.run(sys.argv[1:], check=True, stdout=subprocess.PIPE, "
            "stderr=subprocess.DEVNULL); t = time.perf_counter() - t; "
            "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
            "print(t, r.ru_utime + r.ru_stime); sys.stdout.write(p.stdout.decode())")
    out = subprocess.run([sys.executable, "-c", code, *args], check=True,
                         capture_output=True, text=True).stdout
    first, _, rest = out.partition("\n")
    wall, cpu = first.split()
    return float(wall), float(cpu), rest


def rounds(repo: Path, elite: str, sodium: Callable[[], object], repeat: int, n: int
           ) -> dict[str, list[float]]:
    """`repeat` rounds of verify --no-cache, the floor and `sodium` (libsodium over the
    same signatures), alternated: wall and CPU of each."""
    from reads import _timed

    runs: dict[str, list[float]] = {k: [] for k in ("verify", "verify_cpu", "floor",
                                                    "floor_cpu", "sodium")}
    for _ in range(repeat):
        wall, cpu, _ = timed([elite, "verify", "--no-cache", str(repo)])
        runs["verify"].append(wall)
        runs["verify_cpu"].append(cpu)
        wall, cpu, out = timed([sys.executable, __file__, str(repo)])
        result = json.loads(out)
        if result["bad"] or result["agents"] != n:
            raise SystemExit(f"bench: floors: {repo}: {result}")
        runs["floor"].append(wall)
        runs["floor_cpu"].append(cpu)
        runs["sodium"].append(_timed(sodium))
    return runs


def measure_floors(b: Bench) -> list[Row]:
    """The floor of this Python design beside `verify --no-cache` and libsodium, in the same
    rounds: rates (manifests/s) of the floor against libsodium and of verify against the
    floor, and the CPU per agent of both (user + sys of every process)."""
    import synth
    from reads import _sodium

    rows: list[Row] = []
    sizes = [n for n in b.sizes if b.todo(n) and n <= min(b.verify_max, 100_000)]
    for n in sizes:
        repo = b.repo(n)
        parts = signed_parts(synth.read_blobs(repo))
        runs = rounds(repo, str(AFTER.bin / "git-elite"), _sodium(parts),
                      b.repeat if n < 100_000 else 1, n)
        med = {k: statistics.median(v) for k, v in runs.items()}
        sodium = len(parts) / med["sodium"]
        rows += [
            Row(f"verify floor: essential work alone, 2 processes, {n} agents",
                n / med["floor"], "manifests/s", "libsodium verify, 1 core", sodium,
                "reported (verify's goal: >= 1/2)", True, None, key=f"floor rate {n}"),
            Row(f"git elite verify --no-cache against its floor, {n} agents",
                n / med["verify"], "manifests/s", "the floor, same rounds",
                n / med["floor"], "reported", True, None, key=f"floor verify {n}"),
            Row(f"CPU per agent, verify (all processes) against the floor's, {n} agents",
                med["verify_cpu"] / n * 1e6, "µs", "the floor's, same rounds",
                med["floor_cpu"] / n * 1e6, "reported", False, None,
                key=f"floor cpu {n}"),
        ]
    return rows


def main() -> int:
    result = floor(Path(sys.argv[1]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
