"""core/note: C2SP signed notes, checkpoints and cosignatures against the published vectors
(fixtures/vectors/c2sp-signed-note.json: the C2SP texts' examples, Go's note package tests)."""

from __future__ import annotations

import base64
import json

import pytest

from git_elite.core import note, tlog
from git_elite.core.keys import Keypair
from tests.conftest import ROOT, SEEDS

VECTORS = json.loads((ROOT / "fixtures/vectors/c2sp-signed-note.json").read_text())
LOG = Keypair.from_seed(bytes.fromhex(SEEDS["server"]))
WITNESS = Keypair.from_seed(bytes.fromhex(SEEDS["carol"]))
ORIGIN = "example.org/chrysalis-elites"


def seed_of(skey: str) -> Keypair:
    raw = base64.b64decode(skey.split("+", 4)[4])
    assert raw[0] == 1
    return Keypair.from_seed(raw[1:])


@pytest.mark.parametrize("case", VECTORS["verify"], ids=lambda c: c["name"])
def test_published_notes(case: dict[str, object]) -> None:
    verifier = note.parse_verifier_key(str(case["vkey"]))
    assert verifier.vkey() == case["vkey"]
    assert note.verify_note(str(case["note"]).encode(), verifier) is case["valid"]


MALFORMED = [(c["name"], c["note"].encode()) for c in VECTORS["malformed"]] + [
    (c["name"], bytes.fromhex(c["note_hex"])) for c in VECTORS["malformed_hex"]]


@pytest.mark.parametrize(("name", "data"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_notes_are_refused(name: str, data: bytes) -> None:
    with pytest.raises(note.NoteError) as err:
        note.Note.parse(data)
    assert err.value.rule == "log" and "\n" not in str(err.value)


@pytest.mark.parametrize("case", VECTORS["sign"], ids=lambda c: c["name"])
def test_signing_reproduces_go(case: dict[str, str]) -> None:
    key = seed_of(case["skey"])
    name = case["vkey"].split("+")[0]
    assert note.verifier_key(name, key.public) == case["vkey"]
    assert note.sign_note(case["text"].encode(), name, key) == case["note"].encode()


@pytest.mark.parametrize("case", VECTORS["vkeys_malformed"], ids=lambda c: c["name"])
def test_malformed_verifier_keys(case: dict[str, str]) -> None:
    with pytest.raises(note.NoteError):
        note.parse_verifier_key(case["vkey"])


def _vk(name: str, alg: int, pub: bytes, key_id: str | None = None) -> str:
    """A verifier key built by hand, so each part can be wrong on its own."""
    kid = note.key_id(name, alg, pub).hex() if key_id is None else key_id
    return f"{name}+{kid}+{base64.b64encode(bytes([alg]) + pub).decode()}"


SMALL_ORDER = bytes([1]) + b"\x00" * 31  # the identity point: small order, not a key to trust


def _noncanonical(vkey: str) -> str:
    """The same bytes with a non-zero trailing bit in the last base64 character."""
    head, _, b64 = vkey.rpartition("+")
    data = b64.rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet[alphabet.index(data[-1]) + 1]
    return f"{head}+{data[:-1]}{last}{'=' * (len(b64) - len(data))}"


@pytest.mark.parametrize(("vkey", "problem"), [
    (_vk("a", 1, LOG.public).replace("+", "+A", 1), "8 lowercase hex"),
    (_vk("a", 1, LOG.public, note.key_id("a", 1, LOG.public).hex().upper()), "8 lowercase hex"),
    (_noncanonical(_vk("a", 1, LOG.public[:31])), "not canonical base64"),
    (_vk("a", 1, LOG.public)[:-1] + "!", "not base64"),
    (_vk("a", 1, LOG.public[:31]), "31 key bytes"),
    (_vk("a", 1, LOG.public + b"\x00"), "33 key bytes"),
    ("a+00000000+", "type is not"),
    (_vk("a", 1, SMALL_ORDER), "large order"),
    (_vk("a", 4, LOG.public, note.key_id("a", 1, LOG.public).hex()), "does not match"),
    (_vk("a", 1, LOG.public).replace("a", "a\u00a0b", 1), "empty or has a space"),
])
def test_bad_verifier_keys_name_their_fault(vkey: str, problem: str) -> None:
    with pytest.raises(note.NoteError, match=problem):
        note.parse_verifier_key(vkey)


def test_published_checkpoint_and_cosignature_parse() -> None:
    case = VECTORS["checkpoints"][0]
    cp = note.Checkpoint.parse(case["body"].encode())
    assert (cp.origin, cp.size) == (case["origin"], case["size"])
    assert base64.b64encode(cp.root).decode() == case["root_b64"]
    assert cp.body() == case["body"].encode()
    data = (case["body"] + "\n" + "".join(s + "\n" for s in case["signatures"])).encode()
    parsed = note.Note.parse(data)
    assert parsed.text == case["body"].encode() and parsed.to_bytes() == data
    cosig = parsed.signatures[1]
    assert int.from_bytes(cosig.sig[:8], "big") == case["cosignature_time"]
    assert note._cosigned_message(parsed.text, case["cosignature_time"]) \
        == case["cosigned_message"].encode()


def checkpoint(size: int = 3, root: bytes = b"\x07" * 32) -> note.Checkpoint:
    return note.Checkpoint(ORIGIN, size, root)


def test_checkpoint_signed_and_opened() -> None:
    body = checkpoint().body()
    assert body == ORIGIN.encode() + b"\n3\n" + base64.b64encode(b"\x07" * 32) + b"\n"
    signed = note.sign_note(body, ORIGIN, LOG)
    vkey = note.parse_verifier_key(note.verifier_key(ORIGIN, LOG.public))
    assert vkey.key_id == note.key_id(ORIGIN, 1, LOG.public)
    opened, parsed = note.open_checkpoint(signed, vkey)
    assert opened == checkpoint() and parsed.text == body
    other = note.parse_verifier_key(note.verifier_key(ORIGIN, WITNESS.public))
    with pytest.raises(note.NoteError, match="not signed by"):
        note.open_checkpoint(signed, other)
    # a second, bad line by the same key spoils the note (C2SP: reject the whole note)
    bad = note.Signature(ORIGIN, vkey.key_id, b"\x00" * 64)
    assert not note.verify_note(note.Note.parse(signed).with_signatures((bad,)), vkey)


@pytest.mark.parametrize(("body", "problem"), [
    (b"o\n3\n", "fewer than three lines"),
    (b"o\n03\n" + base64.b64encode(b"\x00" * 32) + b"\n", "leading zeros"),
    (b"o\n-1\n" + base64.b64encode(b"\x00" * 32) + b"\n", "decimal"),
    (b"o\n3\n" + base64.b64encode(b"\x00" * 31) + b"\n", "not 32"),
    (b"o\n3\nAAAA\n", "not 32"),
    (b"o\n3\n" + base64.b64encode(b"\x00" * 32) + b"\n\nx\n", "extension line is empty"),
    (b"\n3\n" + base64.b64encode(b"\x00" * 32) + b"\n", "origin is empty"),
    (b"o\n3\n" + base64.b64encode(b"\x00" * 32), "newline"),
    (b"o\n3\n" + base64.b64encode(b"\x00" * 32)[:-2] + b"B=\n", "canonical"),
    (b"o\t\n3\n" + base64.b64encode(b"\x00" * 32) + b"\n", "control"),
    (b"o\n99999999999999999999\n" + base64.b64encode(b"\x00" * 32) + b"\n", "decimal"),
])
def test_checkpoint_parse_is_strict(body: bytes, problem: str) -> None:
    with pytest.raises(note.NoteError, match=problem):
        note.Checkpoint.parse(body)


def test_checkpoint_extension_lines_round_trip() -> None:
    cp = note.Checkpoint(ORIGIN, 0, tlog.EMPTY_ROOT, ("ext one", "ext two"))
    assert note.Checkpoint.parse(cp.body()) == cp


def test_cosignature_v1() -> None:
    body = checkpoint().body()
    line = note.cosign(body, "w1.example.net", WITNESS, 1712345678)
    assert line.startswith("— w1.example.net ") and line.endswith("\n")
    raw = base64.b64decode(line.split(" ")[2])
    assert raw[:4] == note.key_id("w1.example.net", 4, WITNESS.public)
    assert raw[4:12] == (1712345678).to_bytes(8, "big") and len(raw) == 76
    assert note.verify_cosignature(line, body, "w1.example.net", WITNESS.public) == 1712345678
    assert note.verify_cosignature(raw, body, "w1.example.net", WITNESS.public) == 1712345678
    # another body, name, key, or time does not verify
    assert note.verify_cosignature(line, checkpoint(4).body(), "w1.example.net",
                                   WITNESS.public) is None
    assert note.verify_cosignature(line, body, "w2.example.net", WITNESS.public) is None
    assert note.verify_cosignature(line, body, "w1.example.net", LOG.public) is None
    moved = raw[:11] + bytes([raw[11] ^ 1]) + raw[12:]
    assert note.verify_cosignature(moved, body, "w1.example.net", WITNESS.public) is None
    # a cosignature is not a note signature by the same key (domain separation)
    signed = note.sign_note(body, ORIGIN, LOG) + line.encode()
    cosigner = note.parse_verifier_key(note.cosigner_vkey("w1.example.net", WITNESS.public))
    assert cosigner.alg == 4 and note.verify_note(signed, cosigner)
    plain = note.parse_verifier_key(note.verifier_key("w1.example.net", WITNESS.public))
    assert not note.verify_note(signed, plain)


def test_cosign_refuses_bad_input() -> None:
    with pytest.raises(note.NoteError):
        note.cosign(b"not a checkpoint\n", "w1", WITNESS, 1)
    with pytest.raises(note.NoteError):
        note.cosign(checkpoint().body(), "w1", WITNESS, 0)
    with pytest.raises(note.NoteError):
        note.cosign(checkpoint().body(), "bad name", WITNESS, 1)
    with pytest.raises(note.NoteError):
        note.sign_note(b"no newline", ORIGIN, LOG)
    with pytest.raises(note.NoteError):
        note.sign_note(b"x\n", "a+b", LOG)


def test_note_limits() -> None:
    body = checkpoint().body()
    line = note.cosign(body, "w", WITNESS, 5)
    many = body + b"\n" + line.encode() * note.MAX_SIGNATURES
    assert len(note.Note.parse(many).signatures) == note.MAX_SIGNATURES
    with pytest.raises(note.NoteError, match="more than 100"):
        note.Note.parse(many + line.encode())
    with pytest.raises(note.NoteError, match="more than"):
        note.Note.parse(b"x" * (note.MAX_NOTE + 1))
