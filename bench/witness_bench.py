"""SPEC §12's witness target (§15): >= 200 `add-checkpoint` requests/s on loopback with the
server on one core. The real `git-elite witness serve` process is pinned to one CPU
(os.sched_setaffinity) with a fresh state directory per run; LOGS client threads (this
process, on the other CPU when there is one) each walk their own log forward one checkpoint
at a time over a keep-alive connection, so every request is a real extension: a signed
checkpoint, a consistency proof, the witness's state written and fsynced, a cosignature.
The requests are built before the clock starts. Baseline, same run, same client and pinning:
a bare standard-library HTTP/1.1 server answering 200 to the same POSTs."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import AFTER, Bench, Row, paired_timed

from git_elite.core import note, tlog
from git_elite.core.keys import Keypair

LOG_SEED = bytes([7]) * 32
WITNESS_SEED = "08" * 32
GOAL = 200.0
BARE_SERVER = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Bare(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *args):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = "\u2014 w1.example.net ".encode() + b"A" * 100 + b"==\n"  # a cosignature's size
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

server = ThreadingHTTPServer(("127.0.0.1", 0), Bare)
server.daemon_threads = True
print(f"listening on http://127.0.0.1:{server.server_address[1]}/", file=sys.stderr, flush=True)
server.serve_forever()
"""


def chains(logs: int, steps: int) -> tuple[list[list[bytes]], str]:
    """Per log, the add-checkpoint bodies 0→1, 1→2, … (signed, with proofs), and the
    witness's --logs file."""
    key = Keypair.from_seed(LOG_SEED)
    out, lines = [], []
    for i in range(logs):
        origin = f"bench.example.org/log{i}"
        lines.append(f"{origin} {note.verifier_key(origin, key.public)}\n")
        hashes: list[bytes] = []

        def read(indexes: list[int] | tuple[int, ...], hashes: list[bytes] = hashes
                 ) -> list[bytes]:
            return [hashes[x] for x in indexes]

        bodies = []
        for size in range(1, steps + 1):
            hashes += tlog.stored_hashes_for_record(size - 1, b"state %d" % size, read)
            proof = tlog.prove_tree(size, size - 1, read) if size > 1 else []
            cp = note.Checkpoint(origin, size, tlog.tree_hash(size, read)).body()
            bodies.append(b"old %d\n" % (size - 1) + b"".join(
                note.b64encode(h).encode() + b"\n" for h in proof) + b"\n"
                + note.sign_note(cp, origin, key))
        out.append(bodies)
    return out, "".join(lines)


def _pin(cpu: int) -> None:
    os.sched_setaffinity(0, {cpu})


@contextmanager
def server(args: list[str], env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """A server process pinned to CPU 0; yields (host, port) from its first stderr line."""
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: _pin(0))
    assert proc.stderr is not None
    first = proc.stderr.readline()
    match = re.search(r"http://([0-9.]+):(\d+)/", first)
    if not match:
        proc.kill()
        raise RuntimeError(f"server did not start: {first}{proc.stderr.read()}")
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # drain its log lines
    try:
        yield match.group(1), int(match.group(2))
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def drive(host: str, port: int, work: list[list[bytes]]) -> float:
    """Send every chain (one thread and keep-alive connection per log); requests/s."""
    failures: list[str] = []

    def walk(bodies: list[bytes]) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        for body in bodies:
            conn.request("POST", "/add-checkpoint", body=body)
            resp = conn.getresponse()
            answer = resp.read()
            if resp.status != 200:
                failures.append(f"{resp.status} {answer[:80]!r}")
                break
        conn.close()

    threads = [threading.Thread(target=walk, args=(bodies,)) for bodies in work]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"witness refused a request: {failures[0]}")
    return sum(len(bodies) for bodies in work) / elapsed


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "AGENTD_HOME": str(home), "HOME": str(home), "NO_COLOR": "1"}


def measure_witness(b: Bench, logs: int = 8, steps: int = 0) -> list[Row]:
    if not b.once():
        return []
    steps = steps or (25 if b.quick else 100)
    work, logs_text = chains(logs, steps)
    cpus = sorted(os.sched_getaffinity(0))
    before = set(cpus)
    if len(cpus) > 1:
        _pin(cpus[-1])  # the clients on another CPU than the server
    try:
        with tempfile.TemporaryDirectory(prefix="witness-bench-", dir=b.out) as tmp_name:
            tmp = Path(tmp_name)
            home = tmp / "home"
            env = _env(home)
            subprocess.run([str(AFTER.bin / "git-elite"), "id", "init", "--alias", "w"],
                           env={**env, "AGENTD_KEYGEN_SEED": WITNESS_SEED}, check=True,
                           capture_output=True)
            (tmp / "logs.txt").write_text(logs_text)
            runs = iter(range(10_000))

            def witness() -> float:
                state = tmp / f"state{next(runs)}"
                args = [str(AFTER.bin / "git-elite"), "witness", "serve", "--listen",
                        "127.0.0.1:0", "--logs", str(tmp / "logs.txt"), "--name",
                        "w1.example.net", "--state", str(state)]
                with server(args, env) as (host, port):
                    return -drive(host, port, work)  # paired_timed keeps medians: negate

            def bare() -> float:
                with server([sys.executable, "-c", BARE_SERVER], env) as (host, port):
                    return -drive(host, port, work)

            ours, base = paired_timed(witness, bare, max(1, b.repeat))
    finally:
        os.sched_setaffinity(0, before)
    b.notes.append(f"Witness: {logs} logs x {steps} checkpoints a run, one keep-alive client "
                   f"thread per log; server pinned to CPU 0 of {len(cpus)}; state fsynced "
                   "before each 200.")
    return [Row(f"witness add-checkpoint ({logs} logs, server on 1 core)", -ours, "req/s",
                "bare stdlib HTTP server, same POSTs", -base, f">= {GOAL:.0f} req/s", True,
                None, absolute=GOAL)]
