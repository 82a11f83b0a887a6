"""`git elite witness serve` as a process on 127.0.0.1: every c2sp.org/tlog-witness status,
state kept across a restart, equivocation evidence, concurrent adds (SPEC §15)."""

from __future__ import annotations

import base64
import concurrent.futures
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from git_elite.core import note, tlog, witness
from git_elite.core.keys import Keypair
from tests.conftest import SEEDS, run_cli
from tests.helpers_registry import isolated_module_env
from tests.helpers_witness import MemoryLog, WitnessProcess, start_witness

LOG_KEY = Keypair.from_seed(bytes.fromhex(SEEDS["server"]))
OTHER_KEY = Keypair.from_seed(bytes.fromhex(SEEDS["mallory"]))
WITNESS_KEY = Keypair.from_seed(bytes.fromhex(SEEDS["carol"]))
NAME = "w1.example.net"
ORIGINS = [f"example.org/log{i}" for i in range(12)]


class Env:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.logs_file = tmp / "logs.txt"
        self.logs_file.write_text("# origin vkey\n\n" + "".join(
            f"{o} {note.verifier_key(o, LOG_KEY.public)}\n" for o in ORIGINS))
        self.state = tmp / "state"
        self.env = {k: os.environ[k] for k in ("HOME", "AGENTD_HOME", "PATH")}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("witness")
    with isolated_module_env(tmp):
        run_cli("id", "init", "--alias", "witness", env={"AGENTD_KEYGEN_SEED": SEEDS["carol"]})
        yield Env(tmp)


@pytest.fixture(scope="module")
def server(env: Env) -> Iterator[WitnessProcess]:
    started = start_witness(env.logs_file, NAME, env.state, env.env)
    yield started
    started.stop()


def log(i: int) -> MemoryLog:
    return MemoryLog(ORIGINS[i], LOG_KEY)


def cosigned(body: bytes, log_: MemoryLog, size: int | None = None) -> int | None:
    cp = note.Checkpoint.parse(note.Note.parse(log_.checkpoint(size)).text)
    return note.verify_cosignature(body.decode(), cp.body(), NAME, WITNESS_KEY.public)


def test_vkey_is_the_identity_as_cosigner(env: Env) -> None:
    out = run_cli("witness", "vkey", "--name", NAME, env=env.env).stdout.strip()
    assert out == note.cosigner_vkey(NAME, WITNESS_KEY.public)
    assert note.parse_verifier_key(out).alg == note.ALG_COSIGNATURE_V1
    default = run_cli("witness", "vkey", env=env.env).stdout.strip()
    assert default.startswith("did:key:z6Mk") and "+" in default


def test_first_checkpoint_then_extensions(server: WitnessProcess) -> None:
    a = log(0).append(5)
    status, ctype, body = server.post(a.request(0))
    assert status == 200 and body.startswith("— w1.example.net ".encode()) \
        and body.endswith(b"\n")
    assert cosigned(body, a) is not None
    for grow in (1, 7, 300):
        old = a.size
        a.append(grow)
        status, _, body = server.post(a.request(old))
        assert status == 200 and cosigned(body, a) is not None, body
    # the same checkpoint again: cosigned again (fresh time), nothing moves
    status, _, body = server.post(a.request(a.size))
    assert status == 200 and cosigned(body, a) is not None
    server.wait_line(rf"200 {ORIGINS[0]} 313 -> 313")


def test_monitoring_endpoint_serves_the_cosigned_checkpoint(server: WitnessProcess) -> None:
    a = log(1).append(3)
    assert server.post(b"", path=f"/{witness.origin_hash(a.origin)}/checkpoint",
                       method="GET")[0] == 404
    other = note.cosign(note.Note.parse(a.checkpoint()).text, "w9.example.net", OTHER_KEY, 5)
    assert server.post(a.request(0) + other.encode())[0] == 200
    status, _, body = server.post(b"", path=f"/{witness.origin_hash(a.origin)}/checkpoint",
                                  method="GET")
    assert status == 200
    cosigner = note.parse_verifier_key(note.cosigner_vkey(NAME, WITNESS_KEY.public))
    assert note.verify_note(body, cosigner)
    # kept: the log's line and ours, not the lines of keys the witness does not know
    assert [sig.name for sig in note.Note.parse(body).signatures] == [a.origin, NAME]
    assert note.open_checkpoint(body, note.parse_verifier_key(a.vkey()))[0].size == 3


def test_409_wrong_old_size_says_the_latest(server: WitnessProcess) -> None:
    a = log(2).append(4)
    assert server.post(a.request(0))[0] == 200
    a.append(2)
    for old in (0, 2, 5):
        status, ctype, body = server.post(a.request(old))
        assert (status, ctype, body) == (409, "text/x.tlog.size", b"4\n")


def test_equivocation_is_refused_and_kept_as_evidence(server: WitnessProcess,
                                                      env: Env) -> None:
    a = log(3).append(6)
    assert server.post(a.request(0))[0] == 200
    fork = MemoryLog(a.origin, LOG_KEY)
    fork.hashes = list(a.hashes[:tlog.stored_hash_count(5)])
    fork.size = 5
    fork.append(tag="forked")  # the same log key signs another sixth entry
    status, ctype, body = server.post(fork.request(6))
    assert (status, ctype, body) == (409, "text/x.tlog.size", b"6\n")
    line = server.wait_line(r"409 .*another root.*evidence kept in ")
    submitted = Path(line.split("evidence kept in ")[1].split(" and ")[0])
    assert submitted.read_bytes() == fork.checkpoint()
    assert submitted.with_suffix(".cosigned").read_bytes().startswith(
        note.Note.parse(a.checkpoint()).text)
    assert submitted.parent == env.state / "evidence"
    # the honest log goes on
    old = a.size
    assert server.post(a.append(1).request(old))[0] == 200


def test_422_bad_proofs_and_empty_tree(server: WitnessProcess) -> None:
    a = log(4).append(9)
    assert server.post(a.request(0))[0] == 200
    old = a.size
    a.append(20)
    good = a.request(old)
    lines = good.split(b"\n")
    lines[1] = base64.b64encode(bytes(32)).decode().encode()
    assert server.post(b"\n".join(lines))[0] == 422
    assert server.post(good.replace(lines[2] + b"\n", b"", 1))[0] == 422  # a line missing
    empty = log(5)
    body = note.Checkpoint(empty.origin, 0, bytes(32)).body()
    assert server.post(b"old 0\n\n" + note.sign_note(body, empty.origin, LOG_KEY))[0] == 422
    fresh = log(6).append(3)
    proof_from_zero = b"old 0\n" + base64.b64encode(bytes(32)) + b"\n" + fresh.request(0)[6:]
    assert server.post(proof_from_zero)[0] == 422
    assert server.post(fresh.request(0))[0] == 200  # nothing was recorded by the refusals
    assert server.post(good)[0] == 200


def test_403_not_signed_by_the_log_key(server: WitnessProcess) -> None:
    a = log(7).append(2)
    assert server.post(a.request(0, key=OTHER_KEY))[0] == 403
    signed = a.checkpoint()
    bad_line = note.Signature(a.origin, note.key_id(a.origin, 1, LOG_KEY.public), bytes(64))
    spoiled = note.Note.parse(signed).with_signatures((bad_line,)).to_bytes()
    assert server.post(b"old 0\n\n" + spoiled)[0] == 403
    assert server.post(a.request(0))[0] == 200


def test_404_unknown_origin_and_paths(server: WitnessProcess) -> None:
    stranger = MemoryLog("example.org/unknown", LOG_KEY).append(2)
    assert server.post(stranger.request(0))[0] == 404
    assert server.post(b"", path="/nothing", method="GET")[0] == 404
    assert server.post(b"x", path="/add-checkpoint/x")[0] == 404
    status, _, _ = server.post(b"", path="/add-checkpoint", method="GET")
    assert status == 405
    assert server.post(b"", path="/add-checkpoint", method="PUT")[0] == 405


@pytest.mark.parametrize("body", [
    b"", b"garbage", b"old 01\n\n", b"old 1", b"old 0\nnot base64\n\n",
    b"old 0\n" + base64.b64encode(b"short") + b"\n\n", b"old 0\n\nnot a note\n",
], ids=["empty", "garbage", "leading zero", "no newline", "proof not base64",
        "proof not a hash", "not a note"])
def test_400_malformed(server: WitnessProcess, body: bytes) -> None:
    assert server.post(body)[0] == 400


def test_400_old_beyond_size_and_too_many_proof_lines(server: WitnessProcess) -> None:
    a = log(8).append(3)
    assert server.post(a.request(0).replace(b"old 0", b"old 4", 1))[0] == 400
    lines = b"".join(base64.b64encode(bytes(32)) + b"\n" for _ in range(64))
    assert server.post(b"old 1\n" + lines + b"\n" + a.checkpoint())[0] == 400


def test_413_and_411_bounded_bodies(server: WitnessProcess) -> None:
    assert server.post(b"x" * (witness.MAX_BODY + 1))[0] == 413
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        raw.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 411")


def test_concurrent_adds_advance_once(server: WitnessProcess) -> None:
    a = log(9).append(10)
    assert server.post(a.request(0))[0] == 200
    a.append(16)
    bodies = [a.request(10, size) for size in range(11, 27)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = [s for s, _, _ in pool.map(server.post, bodies)]
    assert statuses.count(200) == 1 and statuses.count(409) == 15
    winner = 11 + statuses.index(200)
    assert server.post(a.request(0)) [2] == b"%d\n" % winner


def test_restart_resumes_from_the_state(env: Env) -> None:
    state = env.tmp / "restart-state"
    first = start_witness(env.logs_file, NAME, state, env.env)
    a = log(10).append(8)
    try:
        assert first.post(a.request(0))[0] == 200
    finally:
        assert first.stop() == 0
    assert any("witness stopped" in line for line in first.lines)
    second = start_witness(env.logs_file, NAME, state, env.env)
    try:
        assert second.post(a.request(0))[2] == b"8\n"
        old = a.size
        assert second.post(a.append(3).request(old))[0] == 200
    finally:
        if second.proc.poll() is None:
            second.proc.send_signal(signal.SIGINT)  # Ctrl-C stops it as cleanly
        assert second.proc.wait(timeout=20) == 0


def test_unreadable_state_stops_the_start(env: Env) -> None:
    state = env.tmp / "broken-state"
    (state / "checkpoints").mkdir(parents=True)
    broken = state / "checkpoints" / witness.origin_hash(ORIGINS[11])
    broken.write_bytes(b"not a note")
    proc = run_cli("witness", "serve", "--listen", "127.0.0.1:0", "--logs", str(env.logs_file),
                   "--state", str(state), env=env.env, check=1)
    assert str(broken) in proc.stderr and "[log]" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_logs_file_names_the_line(env: Env) -> None:
    bad = env.tmp / "bad-logs.txt"
    bad.write_text(f"{ORIGINS[0]} {note.verifier_key(ORIGINS[0], LOG_KEY.public)}\n"
                   "example.org/x not-a-vkey\n")
    proc = run_cli("witness", "serve", "--listen", "127.0.0.1:0", "--logs", str(bad),
                   env=env.env, check=1)
    assert f"{bad}:2: " in proc.stderr and "[log]" in proc.stderr
    proc = run_cli("witness", "serve", "--listen", "nowhere", "--logs", str(env.logs_file),
                   env=env.env, check=2)
    assert "HOST:PORT" in proc.stderr


def test_port_in_use_is_one_line(env: Env, server: WitnessProcess) -> None:
    proc = run_cli("witness", "serve", "--listen", f"127.0.0.1:{server.port}", "--logs",
                   str(env.logs_file), "--state", str(env.tmp / "other"), env=env.env, check=1)
    assert proc.stderr.startswith("git-elite: ") and len(proc.stderr.splitlines()) == 1


def test_500_when_the_state_cannot_be_written(server: WitnessProcess, env: Env) -> None:
    a = log(11).append(2)
    blocker = env.state / "checkpoints" / witness.origin_hash(a.origin)
    blocker.mkdir()  # the state file's place is taken: os.replace fails
    try:
        status, _, body = server.post(a.request(0))
        assert status == 500 and b"cannot record" in body
        server.wait_line(r"witness: 500 .*cannot write")
    finally:
        blocker.rmdir()
    assert server.post(a.request(0))[0] == 200  # nothing was recorded by the failure
