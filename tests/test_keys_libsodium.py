"""core/keys calls libsodium through PyNaCl's cffi module (`nacl._sodium`) for the two
calls a reader makes, without importing `nacl.bindings` (~9 ms of CPU at every start-up:
docs/scale.md). The answers must be nacl.bindings' own, strictness included (SPEC §3:
S < L, canonical points, small-order keys refused): each case below is asked of both."""

from __future__ import annotations

import nacl.bindings as sodium
import pytest
from nacl.exceptions import BadSignatureError
from nacl.exceptions import RuntimeError as SodiumRuntimeError

from git_elite.core import keys
from git_elite.core.errors import IdentityError

PAIR = keys.Keypair.from_seed(bytes(range(32)))
MESSAGE = b"a manifest's signing input"
GOOD = PAIR.sign(MESSAGE)
L = 2**252 + 27742317777372353535851937790883648493
IDENTITY_POINT = b"\x01" + b"\x00" * 31  # small order (the neutral element)
NON_CANONICAL_Y = b"\xed" + b"\xff" * 30 + b"\x7f"  # y = p: not reduced
S_PLUS_L = GOOD[:32] + ((int.from_bytes(GOOD[32:], "little") + L) % 2**256).to_bytes(32,
                                                                                     "little")

CASES = {
    "valid": (PAIR.public, MESSAGE, GOOD),
    "other message": (PAIR.public, MESSAGE + b"!", GOOD),
    "flipped bit in R": (PAIR.public, MESSAGE, bytes([GOOD[0] ^ 1]) + GOOD[1:]),
    "S + L (malleable)": (PAIR.public, MESSAGE, S_PLUS_L),
    "small-order key, R = identity, S = 0": (IDENTITY_POINT, b"anything",
                                             IDENTITY_POINT + b"\x00" * 32),
    "non-canonical key": (NON_CANONICAL_Y, MESSAGE, GOOD),
    "short signature": (PAIR.public, MESSAGE, GOOD[:63]),
    "short key": (PAIR.public[:31], MESSAGE, GOOD),
}


def _nacl_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(signature) != 64 or len(public) != 32:
        return False
    try:
        sodium.crypto_sign_open(signature + message, public)
    except (BadSignatureError, SodiumRuntimeError, ValueError):
        return False
    return True


@pytest.mark.parametrize("case", sorted(CASES))
def test_verify_answers_as_nacl_bindings(case: str) -> None:
    public, message, signature = CASES[case]
    assert keys.verify(public, message, signature) is _nacl_verify(public, message, signature)
    assert keys.verify(public, message, signature) is (case == "valid")


@pytest.mark.parametrize("public", [PAIR.public, IDENTITY_POINT, NON_CANONICAL_Y,
                                    bytes(32), b"\xff" * 32],
                         ids=["key", "identity", "non-canonical", "zero", "all-ones"])
def test_point_check_answers_as_nacl_bindings(public: bytes) -> None:
    try:
        sodium.crypto_scalarmult_ed25519_noclamp(b"\x01" + b"\x00" * 31, public)
        expected = True
    except SodiumRuntimeError:
        expected = False
    try:
        keys.check_public_key(public)
        found = True
    except IdentityError:
        found = False
    assert found is expected
    assert found is (public == PAIR.public)
