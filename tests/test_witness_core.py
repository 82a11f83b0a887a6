"""core/witness: the add-checkpoint judgement as a pure function (the server process is
tests/test_witness_server.py): request bytes both ways, the logs file, every refusal with
its status and rule."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest

from git_elite.core import note, tlog, witness
from git_elite.core.keys import Keypair
from tests.conftest import SEEDS
from tests.helpers_witness import MemoryLog

KEY = Keypair.from_seed(bytes.fromhex(SEEDS["server"]))
ORIGIN = "example.org/log"
LOGS = {ORIGIN: (note.parse_verifier_key(note.verifier_key(ORIGIN, KEY.public)),)}


def admitted(log: MemoryLog, old: int, size: int | None = None) -> witness.Admitted:
    return witness.admit(witness.parse_request(log.request(old, size)), LOGS)


def latest(log: MemoryLog, size: int) -> note.Checkpoint:
    return note.Checkpoint(ORIGIN, size, tlog.tree_hash(size, log.read))


def test_request_body_round_trips() -> None:
    log = MemoryLog(ORIGIN, KEY).append(9)
    proof = tlog.prove_tree(9, 4, log.read)
    body = witness.request_body(4, proof, log.checkpoint())
    assert body == log.request(4)
    parsed = witness.parse_request(body)
    assert (parsed.old, parsed.proof, parsed.note) == (4, tuple(proof), log.checkpoint())
    with pytest.raises(witness.WitnessError):
        witness.request_body(4, [bytes(32)] * 64, log.checkpoint())


HASH_LINE = base64.b64encode(bytes(32)) + b"\n"


@pytest.mark.parametrize(("body", "problem"), [
    (b"", "does not start with 'old <size>'"),
    (b"old -1\n\n", "does not start with 'old <size>'"),
    (b"old 0", "does not start with 'old <size>'"),
    (b"old 0\n" + HASH_LINE, "no blank line"),
    (b"old 0\n" + HASH_LINE * (witness.MAX_PROOF_LINES + 1) + b"\n", "more than"),
    (b"old 0\n!!!!\n\n", "proof line 1 is not base64"),
    (b"old 0\n" + HASH_LINE + "é".encode() + b"\n\n", "proof line 2 is not base64"),
    (b"old 0\n" + HASH_LINE[:-3] + b"B=\n\n", "proof line 1 is not base64"),
    (b"old 0\n" + base64.b64encode(bytes(31)) + b"\n\n", "not a 32-byte hash"),
])
def test_request_refusals(body: bytes, problem: str) -> None:
    with pytest.raises(witness.WitnessError, match=problem) as err:
        witness.parse_request(body)
    assert err.value.status == 400


def test_logs_file_not_utf8() -> None:
    with pytest.raises(note.NoteError, match="logs.txt: not UTF-8"):
        witness.parse_logs(b"\xff\n", "logs.txt")


def test_cosignature_answers() -> None:
    body = note.Checkpoint(ORIGIN, 1, bytes(32)).body()
    lines = note.cosign(body, "w1", KEY, 7) + note.cosign(body, "w2", KEY, 8)
    assert [s.name for s in witness.parse_cosignatures(lines.encode())] == ["w1", "w2"]
    for bad in (b"", b"garbage\n", lines.encode()[:-1], b"\n"):
        with pytest.raises(note.NoteError):
            witness.parse_cosignatures(bad)


@pytest.mark.parametrize(("text", "problem"), [
    ("", "names no log"),
    ("# only a comment\n", "names no log"),
    ("example.org/log\n", ":1: expected"),
    ("a b c\n", ":1: expected"),
    (f"{ORIGIN} {note.cosigner_vkey(ORIGIN, KEY.public)}\n", ":1: a log key has type 0x01"),
    (f"{ORIGIN} {note.verifier_key(ORIGIN, KEY.public)[:-2]}AA\n", ":1: "),
])
def test_logs_file_refusals(text: str, problem: str) -> None:
    with pytest.raises(note.NoteError, match=problem) as err:
        witness.parse_logs(text.encode(), "logs.txt")
    assert str(err.value).startswith("[log] logs.txt")


def test_logs_file_with_two_keys_for_one_log() -> None:
    other = Keypair.from_seed(bytes.fromhex(SEEDS["dave"]))
    text = (f"{ORIGIN} {note.verifier_key(ORIGIN, KEY.public)}\n  # rotation\n"
            f"{ORIGIN} {note.verifier_key(ORIGIN, other.public)}\n")
    logs = witness.parse_logs(text.encode(), "logs.txt")
    assert [v.pub for v in logs[ORIGIN]] == [KEY.public, other.public]
    log = MemoryLog(ORIGIN, KEY).append(2)
    assert witness.admit(witness.parse_request(log.request(0, key=other)), logs)


def test_extend_decisions() -> None:
    log = MemoryLog(ORIGIN, KEY).append(12)
    witness.extend(admitted(log, 0, 5), None)  # first sight: no proof needed
    witness.extend(admitted(log, 5, 12), latest(log, 5))
    witness.extend(admitted(log, 12), latest(log, 12))  # the same again
    cases = [
        (admitted(log, 0, 5), latest(log, 3), 409, "log"),
        (admitted(log, 3, 12), None, 409, "log"),
    ]
    fork = MemoryLog(ORIGIN, KEY)
    fork.hashes, fork.size = list(log.hashes[:tlog.stored_hash_count(11)]), 11
    fork.append(tag="other")
    cases.append((admitted(fork, 12), latest(log, 12), 409, "split-view"))
    bad_proof = admitted(log, 5, 12)
    cases.append((witness.Admitted(5, (bytes(32),) + bad_proof.proof[1:],
                                   bad_proof.checkpoint, bad_proof.note),
                  latest(log, 5), 422, "log"))
    cases.append((witness.Admitted(0, (bytes(32),), bad_proof.checkpoint, bad_proof.note),
                  None, 422, "log"))
    for request, last, status, rule in cases:
        with pytest.raises(witness.WitnessError) as err:
            witness.extend(request, last)
        assert (err.value.status, err.value.rule) == (status, rule), err.value
        assert err.value.equivocation is (rule == "split-view")
        if status == 409:
            assert err.value.latest == (last.size if last else 0)


@pytest.mark.parametrize(("mutate", "status"), [
    (lambda b: b.replace(b"old 0\n", b"old 00\n"), 400),
    (lambda b: b.replace(b"old 0\n", b"old 0\nAAAA\n"), 400),
    (lambda b: b.replace(ORIGIN.encode(), b"example.org/other"), 404),
    (lambda b: b.replace(b"\n2\n", b"\n3\n", 1), 403),
    (lambda b: b.replace(b"old 0\n", b"old 3\n"), 400),
    (lambda b: b.replace("—".encode(), b"-"), 400),
], ids=["leading zero", "short proof line", "unknown origin", "altered size",
        "old beyond size", "not a signature line"])
def test_admit_refusals(mutate: Callable[[bytes], bytes], status: int) -> None:
    body = MemoryLog(ORIGIN, KEY).append(2).request(0)
    with pytest.raises(witness.WitnessError) as err:
        witness.admit(witness.parse_request(mutate(body)), LOGS)
    assert err.value.status == status


def test_origin_hash_is_the_monitoring_name() -> None:
    """c2sp.org/tlog-witness: the SHA-256 of the origin, lowercase hex."""
    digest = witness.origin_hash("example.com/behind-the-sofa")
    assert digest == hashlib.sha256(b"example.com/behind-the-sofa").hexdigest()
    assert len(digest) == 64 and digest == digest.lower()
