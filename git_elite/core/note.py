"""C2SP signed notes, checkpoints and Ed25519 cosignatures, byte for byte (SPEC §15).

- c2sp.org/signed-note: text ending in a newline, a blank line, then lines
  `— <key name> base64(key ID ‖ signature)`; key ID = SHA-256(name ‖ "\\n" ‖ type ‖ key)[:4];
  type 0x01 signs the text with Ed25519. A verifier key is `<name>+<hex key ID>+<base64(type ‖
  key)>`, the form of Go's golang.org/x/mod/sumdb/note.
- c2sp.org/tlog-checkpoint: the text `<origin>\\n<size>\\n<base64 root>\\n[extension lines]`.
- c2sp.org/tlog-cosignature v1: type 0x04, signature = u64 big-endian timestamp ‖ Ed25519 over
  `cosignature/v1\\ntime <t>\\n` + the checkpoint text.

Parsing is strict (valid UTF-8, no control character but newline, canonical base64, at most
`MAX_SIGNATURES` lines, at most `MAX_NOTE` bytes); anything else is a NoteError naming the
problem. Keys are the project's own (`core/keys.Keypair`): a log key and a witness key are
ordinary identity.json keys. Pure: bytes in, values out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

from git_elite.core import keys
from git_elite.core.errors import EliteError, IdentityError
from git_elite.core.tlog import HASH_SIZE

SecretKey = keys.Keypair
ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
MAX_SIGNATURES = 100  # Go's note.Open limit; C2SP asks for at least 16
MAX_NOTE = 1 << 20
MAX_TIMESTAMP = (1 << 63) - 1
SIG_PREFIX = "— "  # em dash U+2014, space
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_SPACE = re.compile(r"\s")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
_HEX8 = re.compile(r"[0-9a-f]{8}")


class NoteError(EliteError):
    """A note, checkpoint, verifier key or cosignature that is malformed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, rule="log")


def valid_name(name: str) -> bool:
    """A key name: non-empty, no Unicode space, no `+` (c2sp.org/signed-note)."""
    return bool(name) and not _SPACE.search(name) and "+" not in name \
        and not _CONTROL.search(name)


def key_id(name: str, alg: int, pub: bytes) -> bytes:
    """SHA-256(name ‖ "\\n" ‖ alg ‖ pub)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + pub).digest()[:4]


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def b64decode_strict(text: str, what: str) -> bytes:
    """Standard base64, padded, canonical (one text per value)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise NoteError(f"{what} is not base64") from None
    if b64encode(raw) != text:
        raise NoteError(f"{what} is not canonical base64")
    return raw


@dataclass(frozen=True)
class Verifier:
    """A parsed verifier key: who (name, key ID), which algorithm, which Ed25519 key."""

    name: str
    key_id: bytes
    pub: bytes
    alg: int = ALG_ED25519

    def vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{b64encode(bytes([self.alg]) + self.pub)}"


def _vkey(name: str, alg: int, pub: bytes) -> str:
    if not valid_name(name):
        raise NoteError(f"{name[:80]!r} is not a key name (empty, a space or a '+')")
    if len(pub) != 32:
        raise NoteError(f"an Ed25519 key has 32 bytes, not {len(pub)}")
    return Verifier(name, key_id(name, alg, pub), pub, alg).vkey()


def verifier_key(name: str, pub: bytes) -> str:
    """`<name>+<8 hex>+<base64(0x01 ‖ pub)>`: what note.Open and witnesses are given."""
    return _vkey(name, ALG_ED25519, pub)


def cosigner_vkey(name: str, pub: bytes) -> str:
    """The same form with type 0x04: a witness's cosignature/v1 key."""
    return _vkey(name, ALG_COSIGNATURE_V1, pub)


def parse_verifier_key(text: str) -> Verifier:
    """A vkey of type 0x01 or 0x04 with an Ed25519 key; NoteError naming what is wrong."""
    parts = text.split("+", 2)  # name and key ID hold no "+"; base64 may (Go: two cuts)
    if len(parts) != 3:
        raise NoteError("a verifier key is <name>+<key id>+<key>, three parts")
    name, hex_id, b64 = parts
    if not valid_name(name):
        raise NoteError(f"verifier key name {name[:80]!r} is empty or has a space")
    if not _HEX8.fullmatch(hex_id):
        raise NoteError(f"verifier key id {hex_id[:20]!r} is not 8 lowercase hex digits")
    raw = b64decode_strict(b64, "verifier key")
    if not raw or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise NoteError("verifier key type is not 0x01 (Ed25519) or 0x04 (cosignature/v1)")
    if len(raw) != 33:
        raise NoteError(f"verifier key holds {len(raw) - 1} key bytes, not 32")
    alg, pub = raw[0], raw[1:]
    if key_id(name, alg, pub).hex() != hex_id:
        raise NoteError(f"verifier key id {hex_id} does not match its name and key")
    try:
        keys.check_public_key(pub)
    except IdentityError as err:
        raise NoteError(f"verifier key: {err.message}") from None
    return Verifier(name, bytes.fromhex(hex_id), pub, alg)


@dataclass(frozen=True)
class Signature:
    """One signature line: the key name, the key ID and the bytes after it."""

    name: str
    key_id: bytes
    sig: bytes

    def line(self) -> str:
        return f"{SIG_PREFIX}{self.name} {b64encode(self.key_id + self.sig)}\n"

    @classmethod
    def parse(cls, line: str) -> Signature:
        """A line without its newline."""
        if not line.startswith(SIG_PREFIX):
            raise NoteError("a signature line starts with '— ' (em dash, space)")
        name, _, b64 = line[len(SIG_PREFIX):].partition(" ")
        if not valid_name(name):
            raise NoteError(f"signature key name {name[:80]!r} is empty or has a space")
        raw = b64decode_strict(b64, f"signature of {name[:80]!r}")
        if len(raw) < 5:
            raise NoteError(f"signature of {name[:80]!r} is shorter than 5 bytes")
        return cls(name, raw[:4], raw[4:])


def _check_text(text: str, what: str) -> None:
    if _CONTROL.search(text):
        raise NoteError(f"{what} holds a control character")


def _decode(data: bytes, what: str) -> str:
    if len(data) > MAX_NOTE:
        raise NoteError(f"{what} has {len(data)} bytes, more than {MAX_NOTE}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError(f"{what} is not UTF-8") from None
    _check_text(text, what)
    return text


@dataclass(frozen=True)
class Note:
    """A signed note: the signed text (with its final newline) and its signature lines."""

    text: bytes
    signatures: tuple[Signature, ...]

    @classmethod
    def parse(cls, data: bytes) -> Note:
        whole = _decode(data, "note")
        split = whole.rfind("\n\n")
        if split < 0:
            raise NoteError("note has no blank line before its signatures")
        text, sigs = whole[:split + 1], whole[split + 2:]
        if not sigs.endswith("\n"):
            raise NoteError("note has no signature line, or its last line has no newline")
        lines = sigs[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise NoteError(f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
        return cls(text.encode(), tuple(Signature.parse(line) for line in lines))

    @property
    def body(self) -> bytes:
        """The signed text (a checkpoint's body): the same bytes as `text`."""
        return self.text

    def to_bytes(self) -> bytes:
        return self.text + b"\n" + "".join(s.line() for s in self.signatures).encode()

    def with_signatures(self, extra: tuple[Signature, ...]) -> Note:
        """This note with the lines of `extra` it does not already carry."""
        kept = list(self.signatures)
        kept += [s for s in extra if s not in kept]
        if len(kept) > MAX_SIGNATURES:
            raise NoteError(f"note would have {len(kept)} signatures, more than "
                            f"{MAX_SIGNATURES}")
        return Note(self.text, tuple(kept))


def _as_note(note: Note | bytes) -> Note:
    return note if isinstance(note, Note) else Note.parse(note)


def sign_note(body: bytes, name: str, secret: SecretKey) -> bytes:
    """The note `body` signed by `secret` under key name `name` (type 0x01)."""
    text = _decode(body, "note text")
    if not text.endswith("\n"):
        raise NoteError("note text must end in a newline")
    line = Signature(name, key_id(name, ALG_ED25519, secret.public), secret.sign(body))
    _vkey(name, ALG_ED25519, secret.public)  # refuses a bad name
    return Note(body, (line,)).to_bytes()


def _cosigned_message(body: bytes, timestamp: int) -> bytes:
    return b"cosignature/v1\ntime %d\n" % timestamp + body


def _verifies(verifier: Verifier, text: bytes, sig: bytes) -> bool:
    if verifier.alg == ALG_COSIGNATURE_V1:
        return verify_cosignature(verifier.key_id + sig, text, verifier.name,
                                  verifier.pub) is not None
    return keys.verify(verifier.pub, text, sig)


def verify_note(note: Note | bytes, verifier: Verifier) -> bool:
    """True when a signature by `verifier` (name and key ID) is present and every one of its
    lines verifies; other keys' lines are ignored (c2sp.org/signed-note). A verifier of type
    0x04 checks cosignature/v1 lines."""
    parsed = _as_note(note)
    mine = [s for s in parsed.signatures
            if s.name == verifier.name and s.key_id == verifier.key_id]
    return bool(mine) and all(_verifies(verifier, parsed.text, s.sig) for s in mine)


def cosign(body: bytes, name: str, secret: SecretKey, timestamp: int) -> str:
    """A cosignature/v1 line (ending in a newline) by the witness `name` over checkpoint text
    `body` at `timestamp` (POSIX seconds)."""
    Checkpoint.parse(body)
    if not 0 < timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"cosignature time {timestamp} is out of range")
    kid = key_id(name, ALG_COSIGNATURE_V1, secret.public)
    cosigner_vkey(name, secret.public)  # refuses a bad name
    sig = struct.pack(">Q", timestamp) + secret.sign(_cosigned_message(body, timestamp))
    return Signature(name, kid, sig).line()


def _cosig_time(sig: bytes) -> int | None:
    (stamp,) = struct.unpack(">Q", sig[:8])
    return stamp if stamp <= MAX_TIMESTAMP else None


def verify_cosignature(line_or_sig: str | bytes, body: bytes, name: str,
                       pub: bytes) -> int | None:
    """The timestamp of a valid cosignature/v1 by (name, pub) over `body`, else None.

    `line_or_sig` is a signature line (with or without its newline) or the decoded bytes
    key ID ‖ timestamp ‖ signature."""
    if isinstance(line_or_sig, str):
        try:
            parsed = Signature.parse(line_or_sig.removesuffix("\n"))
        except NoteError:
            return None
        if parsed.name != name:
            return None
        raw = parsed.key_id + parsed.sig
    else:
        raw = line_or_sig
    if len(raw) != 4 + 8 + 64 or raw[:4] != key_id(name, ALG_COSIGNATURE_V1, pub):
        return None
    stamp = _cosig_time(raw[4:])
    if stamp is None or not keys.verify(pub, _cosigned_message(body, stamp), raw[12:]):
        return None
    return stamp


@dataclass(frozen=True)
class Checkpoint:
    """A tlog checkpoint's text: origin, tree size, root hash, optional extension lines."""

    origin: str
    size: int
    root: bytes
    extension: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise NoteError("checkpoint origin is empty or spans lines")
        _check_text(self.origin, "checkpoint origin")
        if not 0 <= self.size <= MAX_TIMESTAMP:
            raise NoteError(f"checkpoint size {self.size} is out of range")
        if len(self.root) != HASH_SIZE:
            raise NoteError(f"checkpoint root has {len(self.root)} bytes, not {HASH_SIZE}")
        for line in self.extension:
            if not line or "\n" in line:
                raise NoteError("checkpoint extension line is empty or spans lines")
            _check_text(line, "checkpoint extension line")

    def body(self) -> bytes:
        lines = [self.origin, str(self.size), b64encode(self.root), *self.extension]
        return ("\n".join(lines) + "\n").encode()

    @classmethod
    def parse(cls, body: bytes) -> Checkpoint:
        text = _decode(body, "checkpoint")
        if not text.endswith("\n"):
            raise NoteError("checkpoint text does not end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("checkpoint has fewer than three lines")
        origin, size, root, *extension = lines
        if not _DECIMAL.fullmatch(size):
            raise NoteError(f"checkpoint size {size[:30]!r} is not a decimal without "
                            "leading zeros")
        return cls(origin, int(size), b64decode_strict(root, "checkpoint root"), tuple(extension))


def open_checkpoint(data: bytes, verifier: Verifier) -> tuple[Checkpoint, Note]:
    """A checkpoint note signed by `verifier`; NoteError if malformed or not signed by it."""
    parsed = Note.parse(data)
    checkpoint = Checkpoint.parse(parsed.text)
    if not verify_note(parsed, verifier):
        raise NoteError(f"checkpoint of {checkpoint.origin[:80]!r} is not signed by "
                        f"{verifier.name[:80]}+{verifier.key_id.hex()}")
    return checkpoint, parsed
