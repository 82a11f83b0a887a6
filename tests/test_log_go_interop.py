"""The witnessed log against an implementation nobody here wrote (SPEC §15, issue 25 item 6).

tests/go/logcheck is a small Go program built here, offline, from Debian's sources of
golang.org/x/mod/sumdb/note and sumdb/tlog (packages golang-go, golang-golang-x-mod-dev). It
builds its own stored hashes from the same entries, then: its roots must equal ours, it must
accept our inclusion and consistency proofs (and refuse tampered ones), its proofs and tiles
must equal ours, note.Open must open our checkpoints with our verifier key, and a
cosignature/v1 verifier written in Go from the C2SP text must accept our cosignatures. The
other way, our verifier must open what Go's note.Sign writes. Skips, saying why, without Go.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import note, tlog
from git_elite.core.keys import Keypair
from tests.conftest import ROOT, SEEDS

GO_SOURCES = Path("/usr/share/gocode")
SUMDB = GO_SOURCES / "src/golang.org/x/mod/sumdb"
ORIGIN = "example.org/chrysalis-elites"
LOG_KEY = Keypair.from_seed(bytes.fromhex(SEEDS["server"]))
WITNESS = Keypair.from_seed(bytes.fromhex(SEEDS["carol"]))


def go_missing() -> str | None:
    if shutil.which("go") is None:
        return "go is not installed (Debian package golang-go; .ci/run installs it)"
    if not (SUMDB / "tlog").is_dir() or not (SUMDB / "note").is_dir():
        return (f"Go's sumdb sources are not under {SUMDB} (Debian package "
                "golang-golang-x-mod-dev; .ci/run installs it)")
    return None


pytestmark = pytest.mark.skipif(go_missing() is not None, reason=str(go_missing()))


@pytest.fixture(scope="session")
def logcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build tests/go/logcheck once, offline: GOPATH = Debian's Go sources, no modules."""
    tmp = tmp_path_factory.mktemp("go")
    binary = tmp / "logcheck"
    env = {**os.environ, "GOPATH": str(GO_SOURCES), "GO111MODULE": "off", "GOFLAGS": "",
           "GOPROXY": "off", "GOCACHE": str(tmp / "cache"), "CGO_ENABLED": "0",
           "HOME": str(tmp)}
    proc = subprocess.run(["go", "build", "-o", str(binary), "./tests/go/logcheck"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"go build failed:\n{proc.stderr}"
    return binary


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def go(binary: Path, entries: Sequence[bytes], checks: list[dict[str, Any]]
       ) -> list[dict[str, Any]]:
    request = json.dumps({"entries": [b64(e) for e in entries], "checks": checks})
    proc = subprocess.run([str(binary)], input=request, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    assert len(results) == len(checks)
    return results


class Log:
    def __init__(self, entries: Sequence[bytes]) -> None:
        self.hashes: list[bytes] = []
        for n, entry in enumerate(entries):
            self.hashes += tlog.stored_hashes_for_record(n, entry, self.read)

    def read(self, indexes: Sequence[int]) -> list[bytes]:
        return [self.hashes[i] for i in indexes]


ENTRIES = [json.dumps({"branch": "main", "commit": f"{i:040x}", "type": "registry-state"}
                      ).encode() for i in range(4100)]
SIZES = list(range(1, 301)) + [511, 512, 513, 1000, 2048, 2049, 4095, 4096, 4100]


@pytest.fixture(scope="module")
def ours() -> Log:
    return Log(ENTRIES)


def assert_all_ok(results: list[dict[str, Any]], checks: list[dict[str, Any]]) -> None:
    bad = [(c, r["err"]) for c, r in zip(checks, results, strict=True) if not r["ok"]]
    assert not bad, f"{len(bad)} of {len(checks)} refused by Go, first: {bad[0]}"


def test_go_computes_our_roots(logcheck: Path, ours: Log) -> None:
    checks = [{"op": "root", "n": n, "root": b64(tlog.tree_hash(n, ours.read))} for n in SIZES]
    assert_all_ok(go(logcheck, ENTRIES, checks), checks)


def pairs(t: int) -> list[int]:
    return sorted({0, 1, t // 3, t // 2, t - 2, t - 1} & set(range(t)))


def test_go_accepts_our_inclusion_and_consistency_proofs(logcheck: Path, ours: Log) -> None:
    checks: list[dict[str, Any]] = []
    for t in SIZES:
        root_t = tlog.tree_hash(t, ours.read)
        for n in pairs(t):
            checks.append({"op": "record", "t": t, "n": n, "root": b64(root_t),
                           "proof": [b64(h) for h in tlog.prove_record(t, n, ours.read)]})
            if n:  # Go's CheckTree starts at size 1 (size 0 needs no proof)
                checks.append({"op": "tree", "t": t, "n": n, "root_t": b64(root_t),
                               "root_n": b64(tlog.tree_hash(n, ours.read)),
                               "proof": [b64(h) for h in tlog.prove_tree(t, n, ours.read)]})
    assert len(checks) > 2500
    assert_all_ok(go(logcheck, ENTRIES, checks), checks)


def flip(raw: bytes) -> bytes:
    return raw[:-1] + bytes([raw[-1] ^ 1])


def test_go_refuses_tampered_roots_and_proofs(logcheck: Path, ours: Log) -> None:
    checks: list[dict[str, Any]] = []
    for t, n in [(7, 3), (300, 17), (4100, 4000), (4096, 1)]:
        root_t = tlog.tree_hash(t, ours.read)
        record = [b64(h) for h in tlog.prove_record(t, n, ours.read)]
        tree = [b64(h) for h in tlog.prove_tree(t, n, ours.read)]
        root_n = b64(tlog.tree_hash(n, ours.read))
        checks += [
            {"op": "root", "n": t, "root": b64(flip(root_t))},
            {"op": "record", "t": t, "n": n, "root": b64(flip(root_t)), "proof": record},
            {"op": "record", "t": t, "n": n + 1, "root": b64(root_t), "proof": record},
            {"op": "record", "t": t, "n": n, "root": b64(root_t),
             "proof": [b64(flip(base64.b64decode(record[0]))), *record[1:]]},
            {"op": "tree", "t": t, "n": n, "root_t": b64(flip(root_t)), "root_n": root_n,
             "proof": tree},
            {"op": "tree", "t": t, "n": n, "root_t": b64(root_t),
             "root_n": b64(flip(base64.b64decode(root_n))), "proof": tree},
            {"op": "tree", "t": t, "n": n, "root_t": b64(root_t), "root_n": root_n,
             "proof": tree[:-1]},
        ]
    results = go(logcheck, ENTRIES, checks)
    accepted = [c for c, r in zip(checks, results, strict=True) if r["ok"]]
    assert not accepted, f"Go accepted a tampered input: {accepted[0]}"
    # and ours refuses the same (the root check is Go's TreeHash against ours)
    for c in checks:
        proof = [base64.b64decode(h) for h in c.get("proof", [])]
        with pytest.raises(tlog.TlogError):
            if c["op"] == "record":
                tlog.check_record(proof, c["t"], base64.b64decode(c["root"]), c["n"],
                                  tlog.leaf_hash(ENTRIES[c["n"]]))
            elif c["op"] == "tree":
                tlog.check_tree(proof, c["t"], base64.b64decode(c["root_t"]), c["n"],
                                base64.b64decode(c["root_n"]))
            else:
                raise tlog.TlogError("a root is compared by Go")


def test_go_proves_what_we_prove(logcheck: Path, ours: Log) -> None:
    cases = [(t, n) for t in (2, 3, 9, 100, 257, 4100) for n in pairs(t) if n]
    checks = [{"op": "prove", "t": t, "n": n} for t, n in cases]
    results = go(logcheck, ENTRIES, checks)
    assert_all_ok(results, checks)
    for (t, n), result in zip(cases, results, strict=True):
        record = " ".join(b64(h) for h in tlog.prove_record(t, n, ours.read))
        tree = " ".join(b64(h) for h in tlog.prove_tree(t, n, ours.read))
        assert result["out"] == f"{record}|{tree}", (t, n)


def test_go_reads_our_tiles(logcheck: Path, ours: Log) -> None:
    tiles: dict[str, bytes] = {}
    sizes = [0, 3, 255, 256, 300, 4096, 4100]
    for old, new in zip(sizes, sizes[1:], strict=False):
        tiles.update(tlog.new_tiles(old, new, ours.read))
    checks = []
    for path, data in tiles.items():
        where, _, width = path.partition(".p/")
        _, level, *groups = where.split("/")
        index = int("".join(g.removeprefix("x") for g in groups))
        checks.append({"op": "tile", "level": int(level), "index": index,
                       "width": int(width or 256), "data": b64(data)})
        assert tlog.tile_path(int(level), index, int(width or 256)) == path
    assert {c["level"] for c in checks} == {0, 1}
    assert_all_ok(go(logcheck, ENTRIES, checks), checks)


def test_go_opens_our_checkpoints_and_cosignatures(logcheck: Path, ours: Log) -> None:
    vkey = note.verifier_key(ORIGIN, LOG_KEY.public)
    wkey = note.cosigner_vkey("w1.example.net", WITNESS.public)
    checks: list[dict[str, Any]] = []
    notes = []
    for size in (0, 1, 300, 4100):
        body = note.Checkpoint(ORIGIN, size, tlog.tree_hash(size, ours.read)).body()
        signed = note.sign_note(body, ORIGIN, LOG_KEY)
        cosigned = signed + note.cosign(body, "w1.example.net", WITNESS, 1712345678 + size
                                        ).encode()
        notes.append((body, cosigned))
        checks += [{"op": "open", "vkey": vkey, "note": cosigned.decode()},
                   {"op": "cosig", "vkey": wkey, "note": cosigned.decode()}]
    results = go(logcheck, ENTRIES, checks)
    assert_all_ok(results, checks)
    for (body, _), opened, cosig, size in zip(notes, results[::2], results[1::2],
                                               (0, 1, 300, 4100), strict=True):
        assert opened["out"] == body.decode() and cosig["out"] == str(1712345678 + size)
    # a tampered root, a key that did not sign, a cosignature moved to another time: refused
    body, cosigned = notes[2]
    forged = cosigned.replace(body.split(b"\n")[2], b64(flip(tlog.tree_hash(300, ours.read)))
                              .encode())
    stranger = note.verifier_key(ORIGIN, WITNESS.public)
    raw = base64.b64decode(cosigned.decode().rsplit(" ", 1)[1])
    moved = cosigned.decode().rsplit(" ", 1)[0] + " " + b64(raw[:11] + b"\x01" + raw[12:]) + "\n"
    bad = [{"op": "open", "vkey": vkey, "note": forged.decode()},
           {"op": "open", "vkey": stranger, "note": cosigned.decode()},
           {"op": "cosig", "vkey": wkey, "note": forged.decode()},
           {"op": "cosig", "vkey": wkey, "note": moved}]
    assert not any(r["ok"] for r in go(logcheck, [], bad))
    verifier, cosigner = note.parse_verifier_key(vkey), note.parse_verifier_key(wkey)
    assert not note.verify_note(forged, verifier) and not note.verify_note(forged, cosigner)
    assert not note.verify_note(moved.encode(), cosigner)


def test_we_open_what_go_signs(logcheck: Path) -> None:
    skey = "PRIVATE+KEY+{}+{}+{}".format(ORIGIN, note.key_id(ORIGIN, 1, LOG_KEY.public).hex(),
                                         b64(b"\x01" + LOG_KEY.seed))
    bodies = [note.Checkpoint(ORIGIN, n, bytes([n % 256]) * 32).body() for n in (0, 5, 70000)]
    bodies.append("any text, ünïcode\n\nwith an empty line\n".encode())
    checks = [{"op": "sign", "skey": skey, "text": b.decode()} for b in bodies]
    results = go(logcheck, [], checks)
    assert_all_ok(results, checks)
    verifier = note.parse_verifier_key(note.verifier_key(ORIGIN, LOG_KEY.public))
    for body, result in zip(bodies, results, strict=True):
        signed = result["out"].encode()
        assert note.verify_note(signed, verifier)
        assert note.Note.parse(signed).text == body
        assert signed == note.sign_note(body, ORIGIN, LOG_KEY)  # Ed25519 is deterministic
