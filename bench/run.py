"""`make bench`: every measurement of SPEC §12 we can take, each against a baseline measured in
the same run, written to bench/RESULTS.md. Medians and ratios only; machines are noisy.

    python bench/run.py [--quick] [--repeat 5] [--sizes 1000,10000,100000,1000000]

A measurement is a function in MEASUREMENTS taking the Bench context and returning Rows; the
end-to-end ones live in bench/e2e.py (hooks, commits, the index rebuild) and bench/reads.py
(discover, verify, publish). Rows of the "before" side (format 1 with the release-1 code,
bench/before.py) go to the before/after table.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import before  # noqa: E402
import e2e  # noqa: E402
import floors  # noqa: E402
import pins_bench  # noqa: E402
import reads  # noqa: E402
import site_bench  # noqa: E402
import synth  # noqa: E402
import witness_bench  # noqa: E402
from common import AFTER as AFTER_SIDE  # noqa: E402
from common import Bench, Row, Side, byte_compile, paired, signed_parts  # noqa: E402

from git_elite.core import canonical, documents  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


# --- (a) verification throughput ------------------------------------------------------

def _binding_ok(manifest: bytes, profile: bytes, path: str) -> bool:
    doc, problems = documents.check(manifest, path, documents.MANIFEST)
    if problems or doc is None:
        return False
    config = documents.parse(profile, path, documents.AGENT_CONFIG)
    digest = hashlib.sha256(canonical.canonicalize(config.body)).hexdigest()
    return bool(digest == doc.body["agent_id"] == path.split("/")[-2])


def measure_check(b: Bench) -> list[Row]:
    """In process: documents.check (and the binding) of 10k manifests vs libsodium."""
    if not b.once():
        return []
    n = b.size(10_000)
    repo = b.repo(n)
    blobs = synth.read_blobs(repo)
    profiles = dict(synth.read_blobs(repo, "/profile.json"))
    parts = signed_parts(blobs)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from nacl.bindings import crypto_sign_open

    ossl = {p: Ed25519PublicKey.from_public_bytes(p) for p, _, _ in parts}

    def sodium() -> None:
        for public, message, sig in parts:
            crypto_sign_open(sig + message, public)

    def openssl() -> None:
        for public, message, sig in parts:
            ossl[public].verify(sig, message)

    def ours() -> None:
        for path, raw in blobs:
            _, problems = documents.check(raw, path, documents.MANIFEST)
            assert not problems, problems

    def ours_bound() -> None:
        for path, raw in blobs:
            assert _binding_ok(raw, profiles[path[:-len("manifest.json")] + "profile.json"],
                               path)

    t_sodium, t_ours = paired(sodium, ours, b.repeat)
    t_sodium2, t_bound = paired(sodium, ours_bound, b.repeat)
    t_sodium3, t_ossl = paired(sodium, openssl, b.repeat)
    rate = len(parts)
    return [
        Row(f"documents.check in process, {n} manifests", rate / t_ours, "manifests/s",
            "libsodium strict verify", rate / t_sodium, "reference", True, None),
        Row(f"check + agent_id binding (profile.json), {n}", rate / t_bound, "manifests/s",
            "libsodium strict verify", rate / t_sodium2, "reference", True, None),
        Row(f"OpenSSL (cryptography) verify, {n}", rate / t_ossl, "sigs/s",
            "libsodium strict verify", rate / t_sodium3, "reference", True, None),
    ]


# --- (b) start-up ---------------------------------------------------------------------

def _run(args: list[str]) -> Callable[[], object]:
    return lambda: subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def measure_startup(b: Bench) -> list[Row]:
    if not b.once():
        return []
    python = sys.executable
    elite = str(Path(python).parent / "git-elite")
    env_path = f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ["PATH"] = env_path
    reps = max(15, 3 * b.repeat)
    base, via_git = paired(_run([python, "-c", "pass"]), _run(["git", "elite", "--version"]),
                           reps)
    base2, direct = paired(_run([python, "-c", "pass"]), _run([elite, "--version"]), reps)
    return [
        Row("git elite --version", via_git * 1e3, "ms", "python -c pass", base * 1e3,
            "ratio <= 3", False, 3.0),
        Row("git-elite --version (no git dispatch)", direct * 1e3, "ms", "python -c pass",
            base2 * 1e3, "ratio <= 3", False, 3.0),
    ]


# --- (c) git's own SSH signature verification as a peer -------------------------------

def _ssh_signed_repo(tmp: Path, commits: int) -> tuple[Path, dict[str, str]]:
    key = tmp / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f",
                    str(key)], check=True)
    signers = tmp / "allowed_signers"
    signers.write_text("bench@example.org " + (tmp / "id_ed25519.pub").read_text())
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(tmp / "gitconfig"),
           "GIT_CONFIG_NOSYSTEM": "1"}
    repo = tmp / "repo"
    for args in (["init", "-q", str(repo)], ["-C", str(repo), "config", "gpg.format", "ssh"],
                 ["-C", str(repo), "config", "user.signingkey", str(key)],
                 ["-C", str(repo), "config", "gpg.ssh.allowedSignersFile", str(signers)],
                 ["-C", str(repo), "config", "user.email", "bench@example.org"],
                 ["-C", str(repo), "config", "user.name", "bench"]):
        subprocess.run(["git", *args], check=True, env=env)
    for i in range(commits):
        subprocess.run(["git", "-C", str(repo), "commit", "-q", "-S", "--allow-empty", "-m",
                        f"c{i}"], check=True, env=env)
    return repo, env


def measure_git_ssh(b: Bench) -> list[Row]:
    if not b.once():
        return []
    blobs = synth.read_blobs(b.repo(b.sizes[0]))[:200]
    with tempfile.TemporaryDirectory() as tmp:
        repo, env = _ssh_signed_repo(Path(tmp), 5)
        revs = [f"HEAD~{i}" for i in range(5)]

        def git_verify() -> None:
            for rev in revs:
                subprocess.run(["git", "-C", str(repo), "verify-commit", rev], check=True,
                               env=env, capture_output=True)

        def ours() -> None:
            for path, raw in blobs:
                documents.check(raw, path, documents.MANIFEST)

        t_git, t_ours = paired(git_verify, ours, b.repeat)
    return [Row("documents.check per manifest", t_ours / len(blobs) * 1e3, "ms",
                "git verify-commit (SSH) per commit", t_git / len(revs) * 1e3,
                "reference", False, None)]


# --- (e) scale: sizes per agent, for docs/scale.md -------------------------------------

def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def _scale(b: Bench, n: int, fmt: int) -> list[Row]:
    repo = b.repo(n, fmt)
    info = synth.build_info(repo)
    sizes = [line.split() for line in _git(repo, "ls-tree", "-r", "-l", "main").splitlines()]
    agents = sum(int(f[3]) for f in sizes if f[4].startswith("agents/"))
    shards = sum(int(f[3]) for f in sizes if f[4].startswith("index/"))
    head = next(int(f[3]) for f in sizes if f[4] == "INDEX.json")
    b.builds.append(f"| {n:,} | {fmt} | {info['build_seconds']:,.0f} s | "
                    f"{info['disk_bytes'] / 2**20:,.0f} MiB | {head / 2**10:,.1f} KiB | "
                    f"{shards / 2**20:,.1f} MiB | {agents / 2**20:,.0f} MiB | "
                    f"{', '.join(str(x) for x in info['load_average'])} |")
    tag = f"format {fmt}"
    return [Row(f"index bytes per agent (head + shards), {n} ({tag})", (head + shards) / n,
                "B", "manifest+profile bytes per agent", agents / n, "reported", False, None),
            Row(f"repository on disk per agent, {n} ({tag})", info["disk_bytes"] / n, "B",
                "manifest+profile bytes per agent", agents / n, "reported", False, None)]


def measure_scale(b: Bench) -> list[Row]:
    """Bytes per agent of the index and of the repository, and each registry's build."""
    rows = []
    for n in filter(b.todo, b.sizes):
        rows += _scale(b, n, 2)
    if b.before is not None and b.before.fmt == 1:
        for n in filter(b.todo, b.sides()[1][1]):
            rows += _scale(b, n, 1)
    return rows


# (the second verify last: at 1M its first, full verify is ~30 min of untimed set-up)
MEASUREMENTS: list[Callable[[Bench], list[Row]]] = [
    measure_check, reads.measure_verify, floors.measure_floors,
    e2e.measure_pre_receive, e2e.measure_push,
    e2e.measure_pre_commit, e2e.measure_index_rebuild, reads.measure_discover,
    reads.measure_publish, site_bench.measure_site, measure_startup, measure_git_ssh,
    measure_scale, witness_bench.measure_witness, pins_bench.measure_pins,
    reads.measure_verify_memory]


# --- report -----------------------------------------------------------------------------

def machine() -> list[str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    libs = ", ".join(f"{name} {metadata.version(name)}" for name in
                     ("pynacl", "cryptography", "jsonschema", "click", "pygit2"))
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return [f"- CPU: {cpu}, nproc {os.cpu_count()}", f"- Python {platform.python_version()} "
            f"({platform.platform()})", f"- {libs}", f"- {git}, libsodium via PyNaCl",
            f"- git elite: {install_kind()}"]


def install_kind() -> str:
    """How the measured `git-elite` is installed: a regular install is what users run; an
    editable one (`pip install -e`, the tests' venv) makes every process ~10 ms slower (its
    .pth imports setuptools' finder in `site`), which flatters ratios to `--version`."""
    import git_elite

    where = Path(git_elite.__file__).resolve().parent
    editable = any(site.name.startswith("__editable__") for site in
                   Path(sysconfig.get_paths()["purelib"]).glob("*.pth"))
    kind = "editable install (`pip install -e`)" if editable else "regular install (`pip install`)"
    return f"{kind}, {where} (run by {sys.executable})"


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def _table(rows: list[Row]) -> list[str]:
    lines = ["| measurement | median | baseline | baseline median | ratio | goal | status |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.name} | {_fmt(r.value)} {r.unit} | {r.baseline_name} | "
                     f"{_fmt(r.baseline)} {r.unit} | {r.ratio:.3f} | {r.goal} | {r.met} |")
    return lines


def _before_after(b: Bench, rows: list[Row]) -> list[str]:
    before = {r.key: r for r in rows if r.side == "before" and r.key}
    pairs = [(r, before[r.key]) for r in rows if r.side == "after" and r.key in before]
    if not pairs or b.before is None:
        return []
    lines = [f"## Before and after: {b.before.label} against format 2, this tree, this run",
             "",
             f"Before: {b.before.label}. After: format 2, this tree. "
             "Same machine, same run, same synthetic agents; each figure is the median of "
             "its runs, and the ratio is to the baseline measured alternately with it.", "",
             "| measurement | before | after | before ratio | after ratio | change |",
             "|---|---|---|---|---|---|"]
    for after, old in pairs:
        change = after.value / old.value if old.value else float("nan")
        lines.append(f"| {after.name.rsplit(' (format', 1)[0]} | {_fmt(old.value)} {old.unit}"
                     f" | {_fmt(after.value)} {after.unit} | {old.ratio:.3f} | "
                     f"{after.ratio:.3f} | {change:.3g}x |")
    return [*lines, ""]


def report(b: Bench, rows: list[Row], elapsed: float) -> str:
    lines = ["# Benchmark results", "",
             "Generated by `make bench` (`python bench/run.py`); every figure is a median of "
             f"{b.repeat}+ runs (a whole-registry `verify` of 100k or more: one run), each "
             "paired with its baseline measured alternately in the same run. "
             f"Registries: {', '.join(map(str, b.sizes))} manifests by "
             f"{synth.OWNERS} owners (bench/synth.py). Run took {elapsed:.0f} s.", "",
             "## Machine", "", *machine(), "",
             "## Results (format 2, this tree)", "",
             *_table([r for r in rows if r.side == "after"]), "",
             *_before_after(b, rows), *pins_bench.report(rows)]
    if b.builds:
        lines += ["## The synthetic registries", "",
                  "Built once by `bench/synth.py` (signed on both cores, streamed into one "
                  "`git fast-import`), cached under bench/out/; the load average is the "
                  "machine's when each build finished.", "",
                  "| agents | format | build time | on disk | INDEX.json | index/ (all "
                  "shards) | agents/ blobs | load average |", "|---|---|---|---|---|---|---|---|",
                  *b.builds, ""]
    if b.notes:
        lines += ["## Notes", "", *[f"- {n}" for n in b.notes], ""]
    return "\n".join(lines)


SIZES = [1000, 10_000, 100_000, 1_000_000]
KEEP = "<!-- written by hand from here on: bench/run.py keeps what follows -->"


def write(path: Path, text: str) -> None:
    """The report, followed by the hand-written part of the file it replaces (the analysis
    of the goals and the history of earlier reports), from the KEEP line on."""
    old = path.read_text() if path.exists() else ""
    tail = old[old.index(KEEP):] if KEEP in old else KEEP + "\n"
    path.write_text(text.rstrip("\n") + "\n\n" + tail)


def _registries(b: Bench, sizes: list[int]) -> None:
    for n in sizes:
        print(f"bench: registry of {n}: {b.repo(n)}", file=sys.stderr)
    for n in sorted({b.sizes[0], *b.before_sizes}) if b.before and b.once() else []:
        print(f"bench: format-{b.before.fmt} registry of {n}: {b.repo(n, b.before.fmt)}",
              file=sys.stderr)


def prepare(b: Bench) -> None:
    """Everything the measurements build once and reuse, untimed: registries, work clones
    with the client hooks, the static site of the largest registry."""
    for side, sizes in [(AFTER_SIDE, sorted({b.size(n) for n in b.commit_sizes})),
                        *([(b.before, b.before_sizes)] if b.before else [])]:
        for n in sizes:
            with e2e.sandbox(side):
                print(f"bench: work clone {e2e.work_clone(b, n, side)}", file=sys.stderr)
    if site_bench.missing() is None:
        n = b.site_size or b.sizes[-1]
        site = b.out / f"site-{n}"
        with e2e.sandbox():
            e2e.sh(["git", "elite", "site", str(b.repo(n)), "-o", str(site), "--rev", "main"])
        print(f"bench: site {site}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1k and 10k only")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="registry sizes (default: %(default)s)")
    parser.add_argument("--before-sizes", default="10000,100000",
                        help="sizes of the before/after table ('' for none)")
    parser.add_argument("--before-rev", default=before.RELEASE_1,
                        help="the code of the before side (default: %(default)s, release 1)")
    parser.add_argument("--before-format", type=int, choices=(1, 2), default=1,
                        help="the registry format the before side reads (default: "
                        "%(default)s; 2 for a before side that reads format 2)")
    parser.add_argument("--verify-1m", action=argparse.BooleanOptionalAction, default=True,
                        help="also verify the 1M registry once (minutes; default: yes)")
    parser.add_argument("--verify-again-1m", action=argparse.BooleanOptionalAction,
                        default=None, help="the second `verify` at 1M (its first, full verify "
                        "is minutes; default: as --verify-1m)")
    parser.add_argument("--publish-sizes", default="100000,1000000",
                        help="sizes of the `publish` measurement (its warm-up fills the cache "
                        "clone, whose first fetch checks the whole history: ~20 min at 1M)")
    parser.add_argument("--commit-sizes", default="10000,100000,1000000",
                        help="sizes of the `git commit` measurement (a work clone of 1M is a "
                        "2M-file checkout)")
    parser.add_argument("--site-size", type=int, default=0,
                        help="registry size of the site measurements (default: the largest)")
    parser.add_argument("--verify-max", type=int, default=100_000,
                        help="the largest registry `verify` is timed on")
    parser.add_argument("--pins-commit", action=argparse.BooleanOptionalAction, default=True,
                        help="issue 24's table: also time the one-agent `git commit` (at 1M a "
                        "full checkout's `git reset` after each commit takes ~1 min here)")
    parser.add_argument("--pins-sites", default="before,after-ts,after",
                        help="issue 24's table: the --url sites to write and read (before: "
                        "1927675's; after-ts: this tree's with a timestamp role; after: "
                        "without one); at 1M each is ~13 GB")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--prepare", action="store_true",
                        help="only build what the measurements reuse (registries, work "
                        "clones, the site), then stop")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only the measurements whose function name contains NAME")
    args = parser.parse_args()
    if shutil.which("ssh-keygen") is None:
        raise SystemExit("bench: ssh-keygen is needed for the git verify-commit peer")
    sizes = [1000, 10_000] if args.quick else [int(x) for x in args.sizes.split(",")]
    b = Bench(args.repeat, args.quick, sizes, verify_1m=args.verify_1m,
              commit_sizes=tuple(int(x) for x in args.commit_sizes.split(",") if x),
              site_size=args.site_size, verify_max=args.verify_max,
              pins_commit=args.pins_commit,
              verify_again_1m=args.verify_1m if args.verify_again_1m is None
              else args.verify_again_1m,
              publish_sizes=tuple(int(x) for x in args.publish_sizes.split(",") if x),
              pins_sites=tuple(x for x in args.pins_sites.split(",") if x))
    b.before_sizes = [int(x) for x in args.before_sizes.split(",") if x and not args.quick]
    if b.before_sizes:
        label = f"format 1, the release-1 code ({args.before_rev})" \
            if args.before_format == 1 else f"format 2, the code at {args.before_rev}"
        b.before = Side("before", args.before_format, before.tree(args.before_rev) / "bin",
                        label)
    byte_compile(before.ROOT / "git_elite",
                 *([b.before.bin.parent / "git_elite"] if b.before is not None else []))
    start = time.perf_counter()
    if args.prepare:
        _registries(b, sizes)
        prepare(b)
        return 0
    found: dict[str, list[Row]] = {m.__name__: [] for m in MEASUREMENTS}
    small, big = [n for n in sizes if n < b.BIG], [n for n in sizes if n >= b.BIG]
    for phase, built in (("small", small), ("big", big)) if small and big else \
            (("all", sizes),):
        b.phase = phase
        _registries(b, built)  # the 1M registry may still be building: waits here
        for measure in MEASUREMENTS:
            if args.only and not any(word in measure.__name__ for word in args.only):
                continue
            print(f"bench: {measure.__name__}, {phase} ({time.strftime('%H:%M:%S')})",
                  file=sys.stderr)
            found[measure.__name__] += measure(b)
            # what is measured so far, beside the output: a run stopped early keeps it
            write(args.output.with_suffix(".partial.md"), report(
                b, [r for m in MEASUREMENTS for r in found[m.__name__]],
                time.perf_counter() - start))
    rows = [row for measure in MEASUREMENTS for row in found[measure.__name__]]
    b.notes.append("Load average (1, 5, 15 min) at the start of the run: " + b.load_start
                   + "; at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
                   + f" on {os.cpu_count()} cores. Absolute goals (ms) are sensitive to it, "
                   "ratios to a baseline taken in the same run much less.")
    write(args.output, report(b, rows, time.perf_counter() - start))
    print(args.output.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
