"""`git elite witness serve`: a c2sp.org/tlog-witness server and its state (SPEC §15).

State lives in one directory (default `$AGENTD_HOME/witness`):
- `checkpoints/<sha256(origin) hex>`: the latest checkpoint cosigned for that log, as a note
  (the log's signature and ours), written atomically (temp file, fsync, os.replace, fsync of
  the directory) before the 200 answer leaves; read back at start, so a restart resumes it.
  A file that cannot be read stops the start: starting from zero would let a log roll back.
- `evidence/<origin hash>-<size>-<time>.{submitted,cosigned}`: both checkpoints when a log
  signs a second root for a size already cosigned (equivocation), named in the log line.

Each origin has one lock: checking a request against the latest size and writing the new
one happen under it, so two concurrent requests cannot both advance (the C2SP race). The
HTTP server is the standard library's, threaded, with bounded request bodies and a bounded
number of requests in flight.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from git_elite.core import note, witness
from git_elite.core.errors import EliteError
from git_elite.core.keys import Keypair
from git_elite.edges import output, store

MAX_IN_FLIGHT = 64
MAX_EVIDENCE = 1000  # files kept per origin before further equivocations are only logged
READ_SECONDS = 10.0


def default_state_dir() -> Path:
    return store.home() / "witness"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Witness:
    """The witness: its name and key, the logs it knows, and its state on disk."""

    name: str
    key: Keypair
    logs: witness.Logs
    state_dir: Path
    latest: dict[str, note.Checkpoint] = field(default_factory=dict)
    locks: dict[str, threading.Lock] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    say: Callable[[str], None] = output.info

    def __post_init__(self) -> None:
        note.cosigner_vkey(self.name, self.key.public)  # refuses a bad name
        self.checkpoints = store.ensure_dir(self.state_dir / "checkpoints")
        self.evidence = store.ensure_dir(self.state_dir / "evidence")
        for origin in self.logs:
            self.locks[origin] = threading.Lock()
            path = self.checkpoints / witness.origin_hash(origin)
            if path.exists():
                self.latest[origin] = self._load(path, origin)

    def _load(self, path: Path, origin: str) -> note.Checkpoint:
        try:
            checkpoint = note.Checkpoint.parse(note.Note.parse(store.read_bytes(path)).text)
        except note.NoteError as err:
            raise note.NoteError(f"{path}: {err.message} (the witness will not start "
                                 "from zero: move the file away only if you mean it)"
                                 ) from None
        if checkpoint.origin != origin:
            raise note.NoteError(f"{path}: holds a checkpoint of {checkpoint.origin[:80]!r}")
        return checkpoint

    def vkey(self) -> str:
        return note.cosigner_vkey(self.name, self.key.public)

    def add_checkpoint(self, body: bytes) -> bytes:
        """The cosignature line(s) for an add-checkpoint body; WitnessError otherwise."""
        admitted = witness.admit(witness.parse_request(body), self.logs)
        origin = admitted.checkpoint.origin
        with self.locks[origin]:
            try:
                witness.extend(admitted, self.latest.get(origin))
            except witness.WitnessError as err:
                if err.equivocation:
                    err.message += self._keep_evidence(admitted)
                raise
            stamp = max(int(self.clock()), 1)
            line = note.cosign(admitted.checkpoint.body(), self.name, self.key, stamp)
            mine = note.Signature.parse(line.removesuffix("\n"))
            kept = tuple(s for s in admitted.note.signatures if any(
                s.name == v.name and s.key_id == v.key_id for v in self.logs[origin]))
            signed = note.Note(admitted.note.text, (*kept, mine))  # the log's lines and ours
            path = self.checkpoints / witness.origin_hash(origin)
            store.atomic_write(path, signed.to_bytes(), mode=0o644)
            _fsync_dir(self.checkpoints)
            self.latest[origin] = admitted.checkpoint
        self.say(f"witness: 200 {origin} {admitted.old} -> {admitted.checkpoint.size}")
        return line.encode()

    def _keep_evidence(self, admitted: witness.Admitted) -> str:
        origin = admitted.checkpoint.origin
        prefix = witness.origin_hash(origin)
        if len(list(self.evidence.glob(f"{prefix}-*"))) >= 2 * MAX_EVIDENCE:
            return "; evidence not kept (limit reached)"
        base = self.evidence / f"{prefix}-{admitted.checkpoint.size}-{time.time_ns()}"
        ours = self.checkpoints / prefix
        store.atomic_write(base.with_suffix(".submitted"), admitted.note.to_bytes())
        store.atomic_write(base.with_suffix(".cosigned"), store.read_bytes(ours))
        return f"; evidence kept in {base}.submitted and {base.name}.cosigned"

    def monitored(self, digest: str) -> bytes | None:
        """GET <origin hash>/checkpoint: the latest cosigned checkpoint, if any."""
        for origin in self.logs:
            if witness.origin_hash(origin) == digest and origin in self.latest:
                with self.locks[origin]:
                    return store.read_bytes(self.checkpoints / digest)
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as C2SP asks
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed ACK
    server: Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib's name)
        pass  # one line per decision is written by Witness.say

    def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8",
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 (stdlib's name)
        if self.path != "/add-checkpoint":
            self._send(404, b"not found\n")
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.close_connection = True
            self._send(411 if not length else 400, b"a Content-Length is required\n")
            return
        if int(length) > witness.MAX_BODY:
            self.close_connection = True
            self._send(413, b"request too large\n")
            return
        body = self.rfile.read(int(length))
        try:
            lines = self.server.witness.add_checkpoint(body)
        except witness.WitnessError as err:
            self.server.witness.say(f"witness: {err.status} {err.message}")
            if err.latest is not None:
                self._send(err.status, b"%d\n" % err.latest, "text/x.tlog.size")
            else:
                self._send(err.status, err.message.encode() + b"\n")
            return
        except EliteError as err:  # the state could not be written: nothing was cosigned
            self.server.witness.say(f"witness: 500 {err}")
            self._send(500, b"the witness cannot record its state\n")
            return
        self._send(200, lines)

    def do_GET(self) -> None:  # noqa: N802 (stdlib's name)
        parts = self.path.split("/")
        if self.path == "/add-checkpoint":
            self._send(405, b"use POST\n", extra={"Allow": "POST"})
            return
        if len(parts) == 3 and not parts[0] and parts[2] == "checkpoint":
            found = self.server.witness.monitored(parts[1])
            if found is not None:
                self._send(200, found)
                return
        self._send(404, b"not found\n")

    def _not_allowed(self) -> None:
        if self.path == "/add-checkpoint":
            self._send(405, b"use POST\n", extra={"Allow": "POST"})
        else:
            self._send(405 if self.path.endswith("/checkpoint") else 404, b"not allowed\n",
                       extra={"Allow": "GET"})

    do_PUT = do_DELETE = do_PATCH = _not_allowed  # noqa: N815


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], the_witness: Witness) -> None:
        super().__init__(address, Handler)
        self.witness = the_witness
        self.slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.slots.acquire()  # at most MAX_IN_FLIGHT connections served at once
        try:
            request.settimeout(READ_SECONDS)
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()
