"""Every public vector in fixtures/vectors/: RFC 8032, did:key, JCS, speccheck, key formats."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import base58
import pytest

from git_elite.core import canonical, jsonstrict, keys
from git_elite.core.errors import EliteError

VECTORS = Path(__file__).resolve().parent.parent / "fixtures" / "vectors"


def load(name: str) -> Any:
    return json.loads((VECTORS / f"{name}.json").read_text())


RFC8032 = load("rfc8032-7.1-ed25519")["vectors"]
DIDKEY = load("did-key-w3c-ccg")["vectors"]
CYBERPHONE = load("jcs-cyberphone-testdata")["vectors"]
NUMBERS = load("jcs-rfc8785-appendixB-numbers")["rows"]
SPECCHECK = load("ed25519-speccheck")
FORMATS = load("ed25519-secret-key-formats")["keys"]


@pytest.mark.parametrize("v", RFC8032, ids=[v["name"] for v in RFC8032])
def test_rfc8032_sign_and_verify(v: dict[str, Any]) -> None:
    key = keys.Keypair.from_seed(bytes.fromhex(v["secret_key_hex"]))
    message = bytes.fromhex(v["message_hex"])
    assert key.public.hex() == v["public_key_hex"]
    assert key.secret64.hex() == v["nacl_secret_key_64_hex"]
    assert key.sign(message).hex() == v["signature_hex"]
    assert keys.verify(key.public, message, bytes.fromhex(v["signature_hex"]))
    assert not keys.verify(key.public, message + b"x", bytes.fromhex(v["signature_hex"]))


@pytest.mark.parametrize("v", DIDKEY, ids=[v["did"][-8:] for v in DIDKEY])
def test_w3c_did_key(v: dict[str, Any]) -> None:
    key = keys.Keypair.from_seed(bytes.fromhex(v["seed_hex"]))
    assert key.did == v["did"]
    assert keys.public_from_did(v["did"]).hex() == v["public_key_hex"]
    assert base58.b58encode(key.public).decode() == v["publicKeyBase58"]
    assert base58.b58encode(key.secret64).decode() == v["nacl_secret_key_64_base58"]
    assert key.sign(b"").hex() == v["derived_signature_of_empty_message_hex"]
    assert keys.did_from_nid(keys.nid_from_did(v["did"])) == v["did"]


@pytest.mark.parametrize("v", CYBERPHONE, ids=[v["name"] for v in CYBERPHONE])
def test_jcs_cyberphone(v: dict[str, Any]) -> None:
    value = jsonstrict.loads(v["input"].encode(), name=v["name"])
    assert canonical.canonicalize(value) == bytes.fromhex(v["expected_output_hex"])


@pytest.mark.parametrize("row", NUMBERS, ids=[r["ieee754_hex"] for r in NUMBERS])
def test_jcs_rfc8785_numbers(row: dict[str, Any]) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(row["ieee754_hex"]))
    if row["expected"] is None:
        assert not math.isfinite(value)
        with pytest.raises(EliteError):
            canonical.format_number(value)
    else:
        assert canonical.format_number(value) == row["expected"]


SPEC_CASES = [(f"case-{c['index']}", c) for c in SPECCHECK["cases"]] + [
    (c["name"], c) for c in SPECCHECK["extra_cases"]]


@pytest.mark.parametrize("case", [c for _, c in SPEC_CASES], ids=[n for n, _ in SPEC_CASES])
def test_speccheck_matches_libsodium(case: dict[str, Any]) -> None:
    accepted = keys.verify(bytes.fromhex(case["pub_key"]), bytes.fromhex(case["message"]),
                           bytes.fromhex(case["signature"]))
    assert accepted == (case["pynacl"] == "V")


def test_speccheck_refuses_what_openssl_accepts() -> None:
    """At least one case is the universal forgery OpenSSL accepts and we must refuse."""
    lax = [c for _, c in SPEC_CASES if c["pyca"] == "V" and c["pynacl"] == "X"]
    assert lax
    for case in lax:
        with pytest.raises(EliteError):
            keys.public_from_did(keys.did_from_public(bytes.fromhex(case["pub_key"])))


@pytest.mark.parametrize("k", FORMATS, ids=[k["label"] for k in FORMATS])
def test_secret_key_formats(k: dict[str, Any]) -> None:
    seed, public = bytes.fromhex(k["seed_32_hex"]), bytes.fromhex(k["public_32_hex"])
    for raw in (seed, base58.b58decode(k["nacl_64_base58"])):
        key, warning = keys.parse_secret_key(raw)
        assert (key.public, key.did, warning) == (public, k["did_key"], None)
    wrong = next(v for name, v in k.items() if name.startswith("WRONG_ORDER"))
    key, warning = keys.parse_secret_key(base58.b58decode(wrong))
    assert key.did == k["did_key"] and warning and "public||seed" in warning
    assert k["publicKeyMultibase_ed25519-pub_0xed"] == keys.nid_from_did(k["did_key"])
    with pytest.raises(EliteError):
        keys.parse_secret_key(seed + seed)
    with pytest.raises(EliteError):
        keys.parse_secret_key(seed[:31])


def test_radicle_vector() -> None:
    assert keys.Keypair.from_seed(b"\xff" * 32).did == \
        "did:key:z6MknSLrJoTcukLrE435hVNQT4JUhbvWLX4kUzqkEStBU8Vi"
