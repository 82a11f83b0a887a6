"""A real `git elite witness serve` process on 127.0.0.1, and a log in memory to feed it."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from git_elite.core import note, tlog
from git_elite.core.keys import Keypair


class MemoryLog:
    """A log in memory: entries, stored hashes, signed checkpoints and proofs."""

    def __init__(self, origin: str, key: Keypair) -> None:
        self.origin, self.key = origin, key
        self.hashes: list[bytes] = []
        self.size = 0

    def read(self, indexes: Sequence[int]) -> list[bytes]:
        return [self.hashes[i] for i in indexes]

    def append(self, count: int = 1, tag: str = "") -> MemoryLog:
        for _ in range(count):
            entry = b'{"entry": %d, "origin": "%s"}%s' % (self.size, self.origin.encode(),
                                                        tag.encode())
            self.hashes += tlog.stored_hashes_for_record(self.size, entry, self.read)
            self.size += 1
        return self

    def checkpoint(self, size: int | None = None, key: Keypair | None = None) -> bytes:
        size = self.size if size is None else size
        body = note.Checkpoint(self.origin, size, tlog.tree_hash(size, self.read)).body()
        return note.sign_note(body, self.origin, key or self.key)

    def request(self, old: int, size: int | None = None, key: Keypair | None = None) -> bytes:
        size = self.size if size is None else size
        proof = tlog.prove_tree(size, old, self.read) if old else []
        lines = b"".join(note.b64encode(h).encode() + b"\n" for h in proof)
        return b"old %d\n" % old + lines + b"\n" + self.checkpoint(size, key)

    def vkey(self) -> str:
        return note.verifier_key(self.origin, self.key.public)


@dataclass
class WitnessProcess:
    proc: subprocess.Popen[str]
    host: str
    port: int
    lines: list[str] = field(default_factory=list)

    def post(self, body: bytes, path: str = "/add-checkpoint", method: str = "POST",
             headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type") or "", resp.read()
        finally:
            conn.close()

    def wait_line(self, pattern: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            time.sleep(0.02)
        raise AssertionError(f"no witness line matches {pattern!r}: {self.lines[-5:]}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=20)


def start_witness(logs_file: Path, name: str, state: Path, env: dict[str, str] | None = None
                  ) -> WitnessProcess:
    """Start `git elite witness serve` on a free loopback port; its stderr lines are kept."""
    proc = subprocess.Popen(
        ["git-elite", "witness", "serve", "--listen", "127.0.0.1:0", "--logs",
         str(logs_file), "--name", name, "--state", str(state)],
        env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    match = re.search(r"listening on http://([0-9.]+):(\d+)/", first)
    if not match:
        proc.kill()
        raise AssertionError(f"witness did not start: {first}{proc.stderr.read()}")
    started = WitnessProcess(proc, match.group(1), int(match.group(2)), [first])
    stream = proc.stderr

    def drain() -> None:
        for line in stream:
            started.lines.append(line)

    threading.Thread(target=drain, daemon=True).start()
    return started
