"""`make bench`: every measurement of SPEC §12 we can take, each against a baseline measured in
the same run, written to bench/RESULTS.md. Medians and ratios only; machines are noisy.

    python bench/run.py [--quick] [--repeat 5]

A measurement is a function in MEASUREMENTS taking the Bench context and returning Rows; the
end-to-end ones (hooks, discover, verify, publish) live in bench/e2e.py.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e  # noqa: E402
import synth  # noqa: E402
from common import Bench, Row, paired, signed_parts  # noqa: E402

from git_elite import canonical, documents  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


# --- (a) verification throughput ------------------------------------------------------

def _binding_ok(manifest: bytes, profile: bytes, path: str) -> bool:
    doc, problems = documents.check(manifest, path, documents.MANIFEST)
    if problems or doc is None:
        return False
    config = documents.parse(profile, path, documents.AGENT_CONFIG)
    digest = hashlib.sha256(canonical.canonicalize(config.body)).hexdigest()
    return bool(digest == doc.body["agent_id"] == path.split("/")[1])


def measure_verify(b: Bench) -> list[Row]:
    n = 10_000 if 10_000 in b.sizes else b.sizes[-1]
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
        Row(f"documents.check, {n} manifests", rate / t_ours, "manifests/s",
            "libsodium strict verify", rate / t_sodium, "rate ratio >= 1/3", True, 1 / 3),
        Row(f"check + agent_id binding (profile.json), {n}", rate / t_bound, "manifests/s",
            "libsodium strict verify", rate / t_sodium2, "rate ratio >= 1/3", True, 1 / 3),
        Row(f"OpenSSL (cryptography) verify, {n}", rate / t_ossl, "sigs/s",
            "libsodium strict verify", rate / t_sodium3, "reference", True, None),
    ]


# --- (b) start-up ---------------------------------------------------------------------

def _run(args: list[str]) -> Callable[[], object]:
    return lambda: subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def measure_startup(b: Bench) -> list[Row]:
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


# --- (d) peak memory --------------------------------------------------------------------

CHILD = """
import sys
sys.path.insert(0, {bench!r})
import synth
from git_elite import documents
blobs = synth.read_blobs(synth.Path({repo!r})) if {check} else []
for path, raw in blobs:
    assert not documents.check(raw, path, documents.MANIFEST)[1]
# VmHWM: this process's own high-water mark. (ru_maxrss is not: Linux carries the parent's
# RSS at fork across exec, so a child of the big bench process would report the parent's.)
print(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
"""


def _peak_kib(repo: Path, check: bool) -> int:
    """Peak RSS (KiB) of a fresh python that reads and checks every manifest (or not)."""
    code = CHILD.format(bench=str(Path(__file__).parent), repo=str(repo), check=check)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    return int(out.split()[-1])


def measure_memory(b: Bench) -> list[Row]:
    n = b.sizes[-1]
    repo = b.repo(n)
    base, peak = _peak_kib(repo, False), _peak_kib(repo, True)
    b.notes.append(f"Peak memory reads all {n} manifest blobs into memory at once (one `git "
                   "cat-file --batch`), then checks each; the verifier can stream instead.")
    return [Row(f"read + check all manifests of {n} (peak RSS)", peak / 1024, "MiB",
                "python + git_elite imported", base / 1024, "reported", False, None)]


# --- (e) scale: sizes per agent, for docs/scale.md -------------------------------------

def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def measure_scale(b: Bench) -> list[Row]:
    rows = []
    for n in b.sizes:
        repo = b.repo(n)
        tree = int(_git(repo, "cat-file", "-s", "main:agents"))
        index = int(_git(repo, "cat-file", "-s", "main:INDEX.json"))
        blobs = sum(int(line.split()[3]) for line in
                    _git(repo, "ls-tree", "-r", "-l", "main", "agents").splitlines())
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            _git(repo, "clone", "-q", "--bare", "--no-local", str(repo), f"{tmp}/c.git")
            took = time.perf_counter() - start
            pack = sum(f.stat().st_size for f in Path(tmp, "c.git", "objects").rglob("*.pack"))
        b.notes.append(f"{n} agents: clone (--no-local) {took:.1f} s, pack {pack / 2**20:.1f} "
                       f"MiB; flat agents/ tree object {tree / 2**10:.0f} KiB; INDEX.json "
                       f"{index / 2**20:.2f} MiB")
        rows += [Row(f"INDEX.json bytes per agent, {n}", index / n, "B", "manifest+profile "
                     "bytes per agent", blobs / n, "reported", False, None),
                 Row(f"clone pack bytes per agent, {n}", pack / n, "B", "manifest+profile "
                     "bytes per agent", blobs / n, "reported", False, None)]
    return rows


MEASUREMENTS: list[Callable[[Bench], list[Row]]] = [
    measure_verify, e2e.measure_verify_throughput, e2e.measure_pre_receive,
    e2e.measure_pre_commit, e2e.measure_index_rebuild, e2e.measure_discover,
    e2e.measure_publish,
    measure_startup, measure_git_ssh, measure_memory, e2e.measure_verify_memory,
    measure_scale]


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
            f"({platform.platform()})", f"- {libs}", f"- {git}, libsodium via PyNaCl"]


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def report(b: Bench, rows: list[Row], elapsed: float) -> str:
    lines = ["# Benchmark results", "",
             "Generated by `make bench` (`python bench/run.py`); every figure is a median of "
             f"{b.repeat}+ runs, each paired with its baseline measured alternately in the "
             f"same run. Registries: {', '.join(map(str, b.sizes))} manifests by "
             f"{synth.OWNERS} owners (bench/synth.py). Run took {elapsed:.0f} s.", "",
             "## Machine", "", *machine(), "",
             "## Results", "",
             "| measurement | median | baseline | baseline median | ratio | goal | status |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.name} | {_fmt(r.value)} {r.unit} | {r.baseline_name} | "
                     f"{_fmt(r.baseline)} {r.unit if r.unit != 'MiB' else 'MiB'} | "
                     f"{r.ratio:.3f} | {r.goal} | {r.met} |")
    lines.append("")
    if b.notes:
        lines += ["## Notes", "", *[f"- {n}" for n in b.notes], ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1k and 10k only (no 100k)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only the measurements whose function name contains NAME")
    args = parser.parse_args()
    if shutil.which("ssh-keygen") is None:
        raise SystemExit("bench: ssh-keygen is needed for the git verify-commit peer")
    sizes = [1000, 10_000] if args.quick else [1000, 10_000, 100_000]
    b = Bench(args.repeat, args.quick, sizes)
    start = time.perf_counter()
    for n in sizes:
        print(f"bench: registry of {n}: {b.repo(n)}", file=sys.stderr)
    rows: list[Row] = []
    for measure in MEASUREMENTS:
        if args.only and not any(word in measure.__name__ for word in args.only):
            continue
        print(f"bench: {measure.__name__}", file=sys.stderr)
        rows += measure(b)
    b.notes.append("Load average (1, 5, 15 min) at the end of the run: "
                   + ", ".join(f"{x:.1f}" for x in os.getloadavg())
                   + f" on {os.cpu_count()} cores; absolute goals (ms) are sensitive to it, "
                   "ratios to a baseline taken in the same run much less.")
    args.output.write_text(report(b, rows, time.perf_counter() - start))
    print(args.output.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
