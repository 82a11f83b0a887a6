"""The witness's judgement: c2sp.org/tlog-witness `add-checkpoint`, bytes in, verdicts out.

`parse_request` reads the body (`old <size>`, proof lines, a blank line, the checkpoint note)
and `admit` checks it against the logs the witness knows (400, 404, 403); `extend` checks it
against the latest checkpoint the witness cosigned for that origin (409 with the latest size,
422, and 409 with `equivocation` set for a second root at the same size: SPEC §15). Any
failure is a WitnessError carrying its HTTP status. The edge (edges/witness) holds the state,
the per-origin lock and the HTTP server. Pure.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from git_elite.core import note, tlog
from git_elite.core.errors import EliteError

MAX_PROOF_LINES = 63
MAX_BODY = 64 * 1024  # 63 proof lines and a checkpoint with 100 signatures fit easily
_OLD = re.compile(rb"old (0|[1-9][0-9]{0,18})")

Logs = Mapping[str, tuple[note.Verifier, ...]]


class WitnessError(EliteError):
    """A request the witness refuses: `status` is the HTTP status of c2sp.org/tlog-witness."""

    def __init__(self, status: int, message: str, *, latest: int | None = None,
                 equivocation: bool = False) -> None:
        super().__init__(message, rule="split-view" if equivocation else "log")
        self.status = status
        self.latest = latest
        self.equivocation = equivocation


@dataclass(frozen=True)
class Request:
    old: int
    proof: tuple[bytes, ...]
    note: bytes


@dataclass(frozen=True)
class Admitted:
    """A request whose checkpoint is signed by a log the witness knows."""

    old: int
    proof: tuple[bytes, ...]
    checkpoint: note.Checkpoint
    note: note.Note


def origin_hash(origin: str) -> str:
    """The lowercase hex SHA-256 of an origin: its name in the monitoring URL and on disk."""
    return hashlib.sha256(origin.encode()).hexdigest()


def parse_logs(data: bytes, where: str) -> dict[str, tuple[note.Verifier, ...]]:
    """The `--logs` file: `<origin> <verifier key>` per line (a log may have several keys);
    blank lines and `#` comments ignored. NoteError naming the file and line."""
    logs: dict[str, list[note.Verifier]] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise note.NoteError(f"{where}: not UTF-8") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise note.NoteError(f"{where}:{number}: expected '<origin> <verifier key>'")
        try:
            verifier = note.parse_verifier_key(parts[1])
        except note.NoteError as err:
            raise note.NoteError(f"{where}:{number}: {err.message}") from None
        if verifier.alg != note.ALG_ED25519:
            raise note.NoteError(f"{where}:{number}: a log key has type 0x01 (Ed25519)")
        logs.setdefault(parts[0], []).append(verifier)
    if not logs:
        raise note.NoteError(f"{where}: names no log")
    return {origin: tuple(keys) for origin, keys in logs.items()}


def parse_request(body: bytes) -> Request:
    """The add-checkpoint body; WitnessError 400 when it is not one."""
    first, sep, rest = body.partition(b"\n")
    match = _OLD.fullmatch(first)
    if not sep or not match:
        raise WitnessError(400, "request does not start with 'old <size>'")
    proof: list[bytes] = []
    while True:
        line, sep, rest = rest.partition(b"\n")
        if not sep:
            raise WitnessError(400, "request has no blank line before the checkpoint")
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            raise WitnessError(400, f"request has more than {MAX_PROOF_LINES} proof lines")
        try:
            raw = note.b64decode_strict(line.decode("ascii"), "proof line")
        except (note.NoteError, UnicodeDecodeError):
            raise WitnessError(400, f"proof line {len(proof) + 1} is not base64") from None
        if len(raw) != tlog.HASH_SIZE:
            raise WitnessError(400, f"proof line {len(proof) + 1} is not a 32-byte hash")
        proof.append(raw)
    return Request(int(match.group(1)), tuple(proof), rest)


def request_body(old: int, proof: Sequence[bytes], checkpoint_note: bytes) -> bytes:
    """The add-checkpoint body a log sends: the inverse of `parse_request`."""
    if old < 0 or len(proof) > MAX_PROOF_LINES:
        raise WitnessError(400, f"no add-checkpoint request from size {old} with "
                                f"{len(proof)} proof lines")
    lines = b"".join(note.b64encode(h).encode() + b"\n" for h in proof)
    return b"old %d\n" % old + lines + b"\n" + checkpoint_note


def parse_cosignatures(body: bytes) -> tuple[note.Signature, ...]:
    """The signature lines of a 200 answer (at least one, each ending in a newline);
    NoteError when it is not that. Which of them count is the caller's verifiers' say."""
    text = body.decode("utf-8", errors="replace")
    if not text.endswith("\n") or len(body) > MAX_BODY:
        raise note.NoteError("a witness answer is signature lines ending in a newline")
    lines = text[:-1].split("\n")
    if len(lines) > note.MAX_SIGNATURES:
        raise note.NoteError(f"a witness answered {len(lines)} signature lines")
    return tuple(note.Signature.parse(line) for line in lines)


def admit(request: Request, logs: Logs) -> Admitted:
    """400 malformed note or checkpoint, 404 unknown origin, 403 not signed by its log key,
    400 an old size beyond the checkpoint's."""
    try:
        parsed = note.Note.parse(request.note)
        checkpoint = note.Checkpoint.parse(parsed.text)
    except note.NoteError as err:
        raise WitnessError(400, err.message) from None
    verifiers = logs.get(checkpoint.origin)
    if verifiers is None:
        raise WitnessError(404, f"unknown log {checkpoint.origin[:80]!r}")
    known = [v for v in verifiers if any(s.name == v.name and s.key_id == v.key_id
                                         for s in parsed.signatures)]
    if not known or not all(note.verify_note(parsed, v) for v in known):
        raise WitnessError(403, f"checkpoint of {checkpoint.origin[:80]!r} is not signed by "
                                "its log key")
    if request.old > checkpoint.size:
        raise WitnessError(400, f"old size {request.old} is beyond the checkpoint's "
                                f"{checkpoint.size}")
    return Admitted(request.old, request.proof, checkpoint, parsed)


def extend(request: Admitted, latest: note.Checkpoint | None) -> None:
    """Does the checkpoint extend the latest one this witness cosigned? 409 (another old
    size, with the latest), 422 (bad proof or empty-tree root), 409 equivocation (the same
    size with another root)."""
    size = latest.size if latest else 0
    new = request.checkpoint
    if request.old != size:
        raise WitnessError(409, f"old size {request.old} is not the latest cosigned size "
                                f"{size}", latest=size)
    if new.size == 0 and new.root != tlog.EMPTY_ROOT:
        raise WitnessError(422, "a checkpoint of size 0 must have the empty tree's root")
    if latest is None or request.old == 0:
        if request.proof:
            raise WitnessError(422, "a consistency proof from size 0 must be empty")
        return
    if new.size == latest.size and new.root != latest.root:
        raise WitnessError(409, f"size {new.size} was cosigned with another root",
                           latest=size, equivocation=True)
    try:
        tlog.check_tree(request.proof, new.size, new.root, latest.size, latest.root)
    except tlog.TlogError as err:
        raise WitnessError(422, err.message) from None
