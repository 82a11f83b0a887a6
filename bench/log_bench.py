"""The post-receive cost of the witnessed log (SPEC §15, docs/log.md).

1. A `git push` of one manifest into a hooked bare copy of a synthetic registry of N agents,
   paired (alternately) with the same push into a copy with the same hook but no log key —
   what the server did before — and with a log whose only witness is down (the log's own
   work: append, tiles, sign, store). The log role is added to the registry by a signed
   IDENTITY change; the witness is a real `git-elite witness serve` on loopback. Each push
   brings a new commit, so each one appends a leaf.
2. The log's own cost at 1M leaves: a registry of a few agents whose refs/elite/log was built
   directly with L leaves (tiles, bundles and a checkpoint signed by the log key, written in
   one commit: building a 1M-agent registry takes ~2 hours, building a 1M-leaf log takes
   seconds, and the log's work depends on the number of leaves, not of agents). The
   post-receive hook alone (`git-elite hook post-receive`, as git runs it) appends one leaf
   for a new tip per run, against the same hook on a server without a log key.

Usage: python bench/log_bench.py [--agents 1000,10000] [--leaves 0,1000,1000000] [--repeat 7]
Prints a Markdown table (medians of runs paired with their baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # noqa: E402
from e2e import bare_copy, index_files, new_agent_files, rev, sandbox, sh  # noqa: E402

from git_elite.core import documents, layout, logrole, note, tlog  # noqa: E402
from git_elite.core.keys import Keypair  # noqa: E402
from git_elite.edges import git, tlogstore  # noqa: E402

BIN = Path(sys.executable).parent
LOG_SEED = bytes([0x4C]) * 32
WITNESS_SEED = "57" * 32
ORIGIN = "bench.example.org/elites"
WITNESS = "w1.bench.example"


def key_file(path: Path, key: Keypair) -> Path:
    import base58

    body = {"did": key.did, "publicKeyBase58": base58.b58encode(key.public).decode(),
            "secretKeyBase58": base58.b58encode(key.secret64).decode(),
            "publicKeyMultibase": key.did.removeprefix("did:key:"), "createdAt": 0,
            "alias": path.stem}
    path.write_text(json.dumps(body))
    path.chmod(0o600)
    return path


@contextmanager
def witness(tmp: Path, state: str) -> Iterator[str]:
    """A real witness on loopback knowing the bench log; yields its URL."""
    home = tmp / "witness-home"
    env = {**os.environ, "AGENTD_HOME": str(home)}
    if not (home / "identity.json").exists():
        subprocess.run([str(BIN / "git-elite"), "id", "init", "--alias", "w"], check=True,
                       capture_output=True, env={**env, "AGENTD_KEYGEN_SEED": WITNESS_SEED})
    logs = tmp / "witness-logs.txt"
    logs.write_text(f"{ORIGIN} {note.verifier_key(ORIGIN, Keypair.from_seed(LOG_SEED).public)}\n")
    proc = subprocess.Popen([str(BIN / "git-elite"), "witness", "serve", "--listen",
                             "127.0.0.1:0", "--logs", str(logs), "--name", WITNESS, "--state",
                             str(tmp / state)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    match = re.search(r"http://([0-9.]+):(\d+)/", first)
    if not match:
        proc.kill()
        raise RuntimeError(f"witness did not start: {first}")
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    try:
        yield f"http://{match.group(1)}:{match.group(2)}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def add_log_role(repo: Path, url: str) -> None:
    """IDENTITY.json version + 1 declaring the log role, signed by the synthetic owner, on
    main (with its rebuilt index): what `git elite role set log` commits."""
    from git_elite.core.state import Change, Overlay
    from git_elite.edges import gitcheck

    handle = git.open_repo(repo)
    parent = git.state_at(handle, "refs/heads/main")
    old = gitcheck.identity_body(parent)
    assert old is not None
    body = {k: v for k, v in old.items() if k != "signatures"}
    witness_key = Keypair.from_seed(bytes.fromhex(WITNESS_SEED))
    body.update(version=old["version"] + 1, log={
        "origin": ORIGIN, "key": Keypair.from_seed(LOG_SEED).did, "quorum": 1,
        "witnesses": [{"name": WITNESS, "key": witness_key.did, "url": url}]})
    data = documents.to_bytes(documents.sign_multi(body, [synth.registry_key()]))
    changes = [Change(layout.IDENTITY, parent.read(layout.IDENTITY), data)]
    files: dict[str, bytes | None] = {layout.IDENTITY: data}
    files.update(gitcheck.rebuild_index(parent, changes, Overlay(parent, changes)))
    commit = git.build_commit(handle, "refs/heads/main", files, "log role\n")
    sh(["git", "update-ref", "refs/heads/main", commit], cwd=repo)


def prebuilt_log(repo: Path, leaves: int) -> None:
    """refs/elite/log of `leaves` leaves, built directly (tiles, bundles, signed checkpoint)."""
    if leaves == 0:
        return
    data = [logrole.leaf("main", f"{i:040x}", f"{i:064x}") for i in range(leaves)]
    added = tlog.append_leaf_hashes(0, [tlog.leaf_hash(d) for d in data], lambda i: [])
    read = tlog.overlay_reader(lambda i: [], added)
    files: dict[str, bytes | None] = dict(tlog.new_tiles(0, leaves, read))
    for start in range(0, leaves, 256):
        chunk = data[start:start + 256]
        files[tlog.entries_path(start // 256, len(chunk))] = tlog.entry_bundle(chunk)
    body = note.Checkpoint(ORIGIN, leaves, tlog.tree_hash(leaves, read)).body()
    files[tlogstore.CHECKPOINT] = note.sign_note(body, ORIGIN, Keypair.from_seed(LOG_SEED))
    commit = git.build_commit(git.open_repo(repo), None, files, f"log size {leaves}\n")
    sh(["git", "update-ref", logrole.REF, commit], cwd=repo)


def server(src: Path, dst: Path, keyf: Path | None) -> Path:
    """A hooked bare copy; with `keyf`, also post-receive logging with that key."""
    bare_copy(src, dst, hook=True)
    args = ["git", "elite", "hooks", "install", "--server"]
    if keyf is not None:
        sh([*args, "--log-key", str(keyf)], cwd=dst)
        sh(["git", "config", "elite.witnessTimeout", "5"], cwd=dst)
    return dst


def timed_push(work: Path, srv: Path, commits: Iterator[str], old: str) -> Callable[[], float]:
    def once() -> float:
        commit = next(commits)
        start = time.perf_counter()
        sh(["git", "push", "-q", str(srv), f"{commit}:refs/heads/main"], cwd=work)
        took = time.perf_counter() - start
        sh(["git", "update-ref", "refs/heads/main", old], cwd=srv)
        return took
    return once


def pushes(agents: int, repeat: int) -> list[str]:
    src = synth.build(agents)
    with sandbox() as tmp:
        keyf = key_file(tmp / "log.json", Keypair.from_seed(LOG_SEED))
        with witness(tmp, "state") as url:
            live = tmp / "base-live.git"
            sh(["git", "clone", "-q", "--bare", str(src), str(live)])
            add_log_role(live, url)
            dead = tmp / "base-dead.git"
            sh(["git", "clone", "-q", "--bare", str(live), str(dead)])
            _point_witness_at(dead, "http://127.0.0.1:9")
            runs = [_pusher(server(base, tmp / f"{name}.git", k), base, tmp / f"{name}-work",
                            agents, 2 * repeat + 2)
                    for name, base, k in (("logged", live, keyf), ("down", dead, keyf),
                                          ("plain", live, None))]
            for run in runs:
                run()
            t: list[list[float]] = [[], [], []]
            for _ in range(repeat):
                for i, run in enumerate(runs):
                    t[i].append(run())
    med = [statistics.median(x) * 1e3 for x in t]
    return [f"| push of 1 manifest into {agents:,} agents, log + 1 live witness | "
            f"{med[0]:.0f} ms | {med[2]:.0f} ms | {med[0] / med[2]:.2f} |",
            f"| push of 1 manifest into {agents:,} agents, log, witness down | "
            f"{med[1]:.0f} ms | {med[2]:.0f} ms | {med[1] / med[2]:.2f} |"]


def _pusher(srv: Path, base: Path, work: Path, agents: int, count: int
            ) -> Callable[[], float]:
    """Pushes of one new manifest each (built on `base`'s main) into `srv`, main reset after
    each (untimed)."""
    sh(["git", "clone", "-q", "--bare", str(base), str(work)])
    old = rev(work)
    handle = git.open_repo(work)
    commits = []
    for i in range(count):
        files = new_agent_files(agents + i)
        commits.append(git.build_commit(handle, "refs/heads/main",
                                        {**files, **index_files(handle, files)},
                                        "publish one agent"))
    return timed_push(work, srv, iter(commits), old)


def _point_witness_at(repo: Path, url: str) -> None:
    """A server whose registry declares the witness at a dead port (another signed IDENTITY
    change), so its post-receive does the log's own work and one refused connection."""
    handle = git.open_repo(repo)
    from git_elite.core.state import Change, Overlay
    from git_elite.edges import gitcheck

    parent = git.state_at(handle, "refs/heads/main")
    old = gitcheck.identity_body(parent)
    assert old is not None
    body = {k: v for k, v in old.items() if k != "signatures"}
    body["version"] = old["version"] + 1
    body["log"] = {**old["log"], "witnesses": [{**old["log"]["witnesses"][0], "url": url}]}
    data = documents.to_bytes(documents.sign_multi(body, [synth.registry_key()]))
    changes = [Change(layout.IDENTITY, parent.read(layout.IDENTITY), data)]
    files: dict[str, bytes | None] = {layout.IDENTITY: data}
    files.update(gitcheck.rebuild_index(parent, changes, Overlay(parent, changes)))
    commit = git.build_commit(handle, "refs/heads/main", files, "witness moved\n")
    sh(["git", "update-ref", "refs/heads/main", commit], cwd=repo)


def post_receive(srv: Path) -> Callable[[], float]:
    """The hook alone, as git runs it, for a new tip each run (made untimed)."""
    def once() -> float:
        old = rev(srv)
        tree = sh(["git", "rev-parse", "HEAD^{tree}"], cwd=srv).decode().strip()
        new = sh(["git", "commit-tree", tree, "-p", old, "-m", "tip"], cwd=srv).decode().strip()
        sh(["git", "update-ref", "refs/heads/main", new], cwd=srv)
        start = time.perf_counter()
        subprocess.run([str(BIN / "git-elite"), "hook", "post-receive"], cwd=srv, check=True,
                       input=f"{old} {new} refs/heads/main\n".encode(), capture_output=True,
                       env={**os.environ, "GIT_DIR": str(srv)})
        return time.perf_counter() - start
    return once


def log_sizes(leaves: list[int], repeat: int) -> list[str]:
    rows = []
    src = synth.build(1000)
    for size in leaves:
        with sandbox() as tmp:
            keyf = key_file(tmp / "log.json", Keypair.from_seed(LOG_SEED))
            with witness(tmp, f"state-{size}") as url:
                base = tmp / "base.git"
                sh(["git", "clone", "-q", "--bare", str(src), str(base)])
                add_log_role(base, url)
                start = time.perf_counter()
                live = server(base, tmp / "live.git", keyf)
                prebuilt_log(live, size)
                built = time.perf_counter() - start
                down = server(base, tmp / "down.git", keyf)
                _point_witness_at(down, "http://127.0.0.1:9")
                prebuilt_log(down, size)
                plain = server(base, tmp / "plain.git", None)
                runs = [post_receive(s) for s in (live, down, plain)]
                for run in runs:
                    run()
                t = [[], [], []]  # type: list[list[float]]
                for _ in range(repeat):
                    for i, run in enumerate(runs):
                        t[i].append(run())
        med = [statistics.median(x) * 1e3 for x in t]
        rows.append(f"| post-receive alone, log of {size:,} leaves + 1 live witness | "
                    f"{med[0]:.0f} ms | {med[2]:.0f} ms | {med[0] / med[2]:.2f} |")
        rows.append(f"| post-receive alone, log of {size:,} leaves, witness down | "
                    f"{med[1]:.0f} ms | {med[2]:.0f} ms | {med[1] / med[2]:.2f} |")
        print(f"(log of {size:,} leaves built in {built:.1f} s)", file=sys.stderr)
    return rows


def in_process(leaves: list[int], repeat: int) -> list[str]:
    """The log's own work in the hook's process, without the interpreter's start and imports:
    `logserver.sign_in_place` (append one leaf, tiles, sign, one refused witness, store)."""
    from git_elite.edges import logserver, stamping

    rows = []
    src = synth.build(1000)
    for size in leaves:
        with sandbox() as tmp:
            keyf = key_file(tmp / "log.json", Keypair.from_seed(LOG_SEED))
            base = tmp / "base.git"
            sh(["git", "clone", "-q", "--bare", str(src), str(base)])
            add_log_role(base, "http://127.0.0.1:9")
            srv = server(base, tmp / "srv.git", keyf)
            prebuilt_log(srv, size)
            key = stamping.load_key(keyf, srv, what="log key")
            times = []
            for _ in range(repeat + 1):
                old = rev(srv)
                tree = sh(["git", "rev-parse", "HEAD^{tree}"], cwd=srv).decode().strip()
                new = sh(["git", "commit-tree", tree, "-p", old, "-m", "tip"],
                         cwd=srv).decode().strip()
                sh(["git", "update-ref", "refs/heads/main", new], cwd=srv)
                start = time.perf_counter()
                logserver.sign_in_place(srv, branch="refs/heads/main", key=key, now=0)
                times.append(time.perf_counter() - start)
        med = statistics.median(times[1:]) * 1e3
        rows.append(f"| the log's work in process (append, tiles, sign, store), log of "
                    f"{size:,} leaves | {med:.0f} ms | — | — |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", default="1000,10000")
    parser.add_argument("--leaves", default="0,1000,1000000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--in-process", default="1000,1000000",
                        help="log sizes of the in-process measurement")
    args = parser.parse_args()
    print("| what | with the log | before (no log key) | ratio |")
    print("|---|---|---|---|")
    for n in [int(x) for x in args.agents.split(",") if x]:
        for row in pushes(n, args.repeat):
            print(row, flush=True)
    for row in log_sizes([int(x) for x in args.leaves.split(",") if x], args.repeat):
        print(row, flush=True)
    for row in in_process([int(x) for x in args.in_process.split(",") if x], args.repeat):
        print(row, flush=True)


if __name__ == "__main__":
    main()
