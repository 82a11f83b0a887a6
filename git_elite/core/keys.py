"""Ed25519 keys, did:key identifiers and strict signatures (SPEC §2, §3).

Signing and verification use libsodium through PyNaCl. libsodium's verifier is strict in
exactly the ways SPEC §3 asks (S < L, canonical R and A, small-order A and R refused), where
OpenSSL's (used by `cryptography`) accepts a small-order public key with R = identity, S = 0
for every message. It is also about twice as fast here. See docs/design.md.
"""

from __future__ import annotations

import binascii
import os

from git_elite.core.errors import IdentityError, SignatureError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

ED25519_PUB_MULTICODEC = b"\xed\x01"
DID_PREFIX = "did:key:"
_SCALAR_ONE = b"\x01" + b"\x00" * 31
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# (character classes are tested with `not text.strip(chars)`, at C speed: no `re` to import
# on the hooks' path, docs/scale.md "The hooks, round 7")


def check_public_key(public: bytes) -> None:
    """Refuse a non-canonical, invalid or small-order Ed25519 point (libsodium's checks)."""
    if len(public) != 32:
        raise IdentityError(f"an Ed25519 public key has 32 bytes, not {len(public)}")
    ffi, lib = _libsodium()
    if lib.crypto_scalarmult_ed25519_noclamp(ffi.new("unsigned char[]", 32), _SCALAR_ONE,
                                             public) != 0:
        raise IdentityError("public key is not a canonical Ed25519 point of large order")


_SODIUM: list[tuple[Any, Any]] = []


def _libsodium() -> tuple[Any, Any]:
    """PyNaCl's cffi binding of libsodium (ffi, lib), initialised once, for the two calls a
    reader makes (the point check, `crypto_sign_open`) exactly as `nacl.bindings` makes
    them: importing nacl.bindings loads its 16 wrapper modules, ~9 ms of CPU on every
    `discover` (docs/scale.md, "Start-up"). Signing, which readers never do, uses it."""
    if _SODIUM:
        return _SODIUM[0]
    from nacl._sodium import ffi, lib

    if lib.sodium_init() == -1:
        raise RuntimeError("libsodium could not be initialised")
    _SODIUM.append((ffi, lib))
    return ffi, lib


def _bindings() -> Any:
    import nacl.bindings

    return nacl.bindings


B58_DIGITS = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"  # Bitcoin's
# an ed25519-pub did:key is 34 bytes, 47 or 48 digits; room for a few leading `1`s (zero bytes,
# refused as a wrong multicodec) before a hostile 64 KiB "did" costs a quadratic decode
DID_KEY_DIGITS_MAX = 64


def b58encode(raw: bytes) -> str:
    """base58btc (the `base58` package's b58encode, as text): each leading zero byte is a
    `1`, the rest the big-endian number in base 58. Here, not the package, so that a check
    of a did:key loads neither it nor the hashlib it imports (docs/scale.md, "The hooks,
    round 5"); tests/test_base58btc.py holds it to the W3C did:key vectors and the package."""
    number = int.from_bytes(raw, "big")
    digits = []
    while number:
        number, digit = divmod(number, 58)
        digits.append(B58_DIGITS[digit])
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """The bytes of base58btc `text` (each leading `1` a zero byte); ValueError for a
    character outside the alphabet."""
    number = 0
    for char in text:
        digit = B58_DIGITS.find(char)
        if digit < 0:
            raise ValueError(f"{char!r} is not a base58btc digit")
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def did_from_public(public: bytes) -> str:
    return DID_PREFIX + "z" + b58encode(ED25519_PUB_MULTICODEC + public)


def nid_from_did(did: str) -> str:
    """The did:key suffix (`z6Mk…`): Radicle's Node ID."""
    public_from_did(did)
    return did[len(DID_PREFIX):]


def did_from_nid(nid: str) -> str:
    did = DID_PREFIX + nid
    public_from_did(did)
    return did


def public_from_did(did: str) -> bytes:
    """The 32-byte key of an Ed25519 did:key; IdentityError for anything else."""
    if not isinstance(did, str):  # checked before the cache: a list or dict is unhashable
        raise IdentityError(f"{str(did)[:80]!r} is not a did:key with a base58btc (z) key")
    public = _DIDS.get(did)
    if public is None:
        public = _public_from_did(did)
        if len(_DIDS) >= _DIDS_MAX:
            _DIDS.clear()
        _DIDS[did] = public
    return public


_DIDS: dict[str, bytes] = {}  # did -> key, of the dids decoded (a registry repeats its few)
_DIDS_MAX = 65536


def _public_from_did(did: str) -> bytes:
    if not did.startswith(DID_PREFIX + "z"):
        raise IdentityError(f"{str(did)[:80]!r} is not a did:key with a base58btc (z) key")
    encoded = did[len(DID_PREFIX) + 1:]
    if len(encoded) > DID_KEY_DIGITS_MAX:  # (decoding is quadratic in the length)
        raise IdentityError(f"{did[:80]!r} is too long for an ed25519-pub did:key "
                            f"({len(encoded)} base58btc digits; one has 47 or 48)")
    if not encoded or encoded.strip(B58_DIGITS):
        raise IdentityError(f"{did[:80]!r} has characters outside base58btc")
    raw = b58decode(encoded)
    if raw[:2] != ED25519_PUB_MULTICODEC:
        raise IdentityError(f"{did[:80]!r} is not an ed25519-pub did:key (multicodec 0xed01)")
    public = raw[2:]
    if len(public) != 32:
        raise IdentityError(f"{did[:80]!r} holds a {len(public)}-byte key, not 32")
    if did_from_public(public) != did:
        raise IdentityError(f"{did[:80]!r} is not the canonical base58btc encoding")
    try:
        check_public_key(public)
    except IdentityError as err:
        raise IdentityError(f"{did[:80]!r}: {err.message}") from None
    return public


class Keypair(NamedTuple):
    """An Ed25519 key pair; the seed never appears in repr or messages."""

    seed: bytes
    public: bytes

    def __repr__(self) -> str:
        return f"Keypair(public={self.public!r})"

    @classmethod
    def from_seed(cls, seed: bytes) -> Keypair:
        if len(seed) != 32:
            raise IdentityError("an Ed25519 seed has 32 bytes")
        public, _ = _bindings().crypto_sign_seed_keypair(seed)
        return cls(seed, public)

    @classmethod
    def generate(cls) -> Keypair:
        """A new random key, or the test-only deterministic one of `AGENTD_KEYGEN_SEED`."""
        forced = os.environ.get("AGENTD_KEYGEN_SEED")
        if forced:
            try:
                seed = bytes.fromhex(forced)
            except ValueError:
                seed = b""
            if len(seed) != 32:
                raise IdentityError("AGENTD_KEYGEN_SEED must be 64 hex characters (test only)")
            return cls.from_seed(seed)
        return cls.from_seed(os.urandom(32))

    @property
    def did(self) -> str:
        return did_from_public(self.public)

    @property
    def secret64(self) -> bytes:
        """libsodium/tweetnacl layout: seed || public."""
        return self.seed + self.public

    def sign(self, message: bytes) -> bytes:
        return bytes(_bindings().crypto_sign(message, self.secret64)[:64])


def parse_secret_key(raw: bytes) -> tuple[Keypair, str | None]:
    """Read a 32-byte seed or a 64-byte secret key; returns the key and a warning, if any.

    64 bytes: seed||pub is accepted when pub derives from seed; pub||seed (naive
    concatenation of Racket crypto's datum) is accepted with a warning; anything else refused.
    """
    if len(raw) == 32:
        return Keypair.from_seed(raw), None
    if len(raw) != 64:
        raise IdentityError(f"a secret key has 32 or 64 bytes, not {len(raw)}")
    first, second = raw[:32], raw[32:]
    key = Keypair.from_seed(first)
    if key.public == second:
        return key, None
    swapped = Keypair.from_seed(second)
    if swapped.public == first:
        return swapped, ("secret key is in public||seed order (naive Racket layout); "
                         "accepted, but rewrite it as seed||public")
    raise IdentityError("64-byte secret key: neither half is the public key of the other")


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Strict Ed25519 verification (libsodium); False on any failure."""
    if len(signature) != 64 or len(public) != 32:
        return False
    ffi, lib = _libsodium()
    signed = signature + message  # nacl.bindings.crypto_sign_open's call, without its import
    opened = ffi.new("unsigned char[]", len(signed))
    rc: int = lib.crypto_sign_open(opened, ffi.new("unsigned long long *"), signed,
                                   len(signed), public)
    return rc == 0


def encode_signature(signature: bytes) -> str:
    """base64url without padding (86 characters): the only form this tool emits."""
    text = binascii.b2a_base64(signature, newline=False).rstrip(b"=").decode()
    return text.replace("+", "-").replace("/", "_")


def decode_signature(text: object) -> bytes:
    """Accept base64url or standard base64, padded or not, ignoring ASCII whitespace."""
    if type(text) is str and len(text) == 86 and text[85] in "AQgw" \
            and not text[:85].strip(_B64URL):
        # the form this tool emits (fast path): 86 base64url characters, the last one
        # carrying 2 data bits and 4 zero bits (A, Q, g or w)
        return binascii.a2b_base64(text.replace("-", "+").replace("_", "/") + "==")
    if not isinstance(text, str):
        raise SignatureError("signature is not a string", rule="signature")
    import base64
    import re

    compact = re.sub(r"[ \t\r\n\f\v]+", "", text)
    if not re.fullmatch(r"[A-Za-z0-9+/_-]*={0,2}", compact):
        raise SignatureError("signature is not base64/base64url", rule="signature")
    compact = compact.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("signature is not base64/base64url", rule="signature") from None
    if len(raw) != 64:
        raise SignatureError(f"signature has {len(raw)} bytes, not 64", rule="signature")
    if base64.b64encode(raw).rstrip(b"=").decode() != compact:
        # 86 characters carry 516 bits: the last 4 must be zero, or 16 texts give one signature
        raise SignatureError("signature is not canonical base64 (non-zero trailing bits)",
                             rule="signature")
    return raw
