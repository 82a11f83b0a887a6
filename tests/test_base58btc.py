"""keys' own base58btc (hooks5: a did:key is read without the `base58` package and the
OpenSSL hashlib it imports): the W3C did:key vectors, the package's bytes for any input
(leading zeros included), and its refusals: a character outside the alphabet, a did:key
whose text is not the canonical encoding of its key."""

from __future__ import annotations

import json
from pathlib import Path

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_elite.core import keys
from git_elite.core.errors import IdentityError

VECTORS = json.loads((Path(__file__).parent.parent / "fixtures" / "vectors" /
                      "did-key-w3c-ccg.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["did"][-8:])
def test_the_w3c_did_key_vectors(vector: dict[str, str]) -> None:
    public = bytes.fromhex(vector["public_key_hex"])
    assert keys.did_from_public(public) == vector["did"]
    assert keys.public_from_did(vector["did"]) == public
    assert keys.b58encode(public) == vector["publicKeyBase58"]
    assert keys.b58decode(vector["publicKeyBase58"]) == public
    secret = bytes.fromhex(vector["nacl_secret_key_64_hex"])
    assert keys.b58decode(vector["nacl_secret_key_64_base58"]) == secret


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.integers(min_value=0, max_value=4))
def test_the_same_text_and_bytes_as_the_package(raw: bytes, zeros: int) -> None:
    raw = b"\0" * zeros + raw
    text = keys.b58encode(raw)
    assert text == base58.b58encode(raw).decode()
    assert keys.b58decode(text) == raw == base58.b58decode(text)


def test_empty_and_zero_only_inputs() -> None:
    for raw in (b"", b"\0", b"\0\0\0"):
        assert keys.b58encode(raw) == base58.b58encode(raw).decode()
        assert keys.b58decode(keys.b58encode(raw)) == raw


@pytest.mark.parametrize("char", ["0", "O", "I", "l", "+", "/", " ", "é"])
def test_a_character_outside_the_alphabet_is_refused(char: str) -> None:
    with pytest.raises(ValueError, match="not a base58btc digit"):
        keys.b58decode("6Mk" + char + "iTBz")
    did = VECTORS[0]["did"]
    with pytest.raises(IdentityError, match="outside base58btc"):
        keys.public_from_did(did[:12] + char + did[13:])


def test_a_did_key_not_in_its_canonical_text_is_refused() -> None:
    """A leading `1` is one more zero byte: the multicodec no longer comes first."""
    did = VECTORS[0]["did"]
    with pytest.raises(IdentityError, match="not an ed25519-pub did:key"):
        keys.public_from_did("did:key:z1" + did[len("did:key:z"):])
    with pytest.raises(IdentityError, match="holds a 33-byte key"):
        keys.public_from_did("did:key:z" + keys.b58encode(keys.ED25519_PUB_MULTICODEC +
                                                          bytes(33)))


def test_a_did_too_long_for_a_key_is_refused_before_decoding() -> None:
    """A hostile "did:key" of 60,000 base58 digits is refused by its length (decoding it
    would be quadratic); one of 48 digits, and one with leading `1`s within the bound,
    still reach the multicodec check."""
    with pytest.raises(IdentityError, match="too long for an ed25519-pub did:key"):
        keys.public_from_did("did:key:z" + "2" * 60_000)
    with pytest.raises(IdentityError, match="multicodec"):
        keys.public_from_did("did:key:z" + "1" * 10 + "2" * 40)
    from nacl.signing import SigningKey

    public = bytes(SigningKey(b"\x01" * 32).verify_key)
    did = keys.did_from_public(public)
    assert len(did) - len("did:key:z") in (47, 48) and keys.public_from_did(did) == public
