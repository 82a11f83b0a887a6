"""Property tests (hypothesis) over the core: strict parser, canonicalizer, signed documents.

(a) `jsonstrict.loads` raises nothing but JsonError, and refuses every non-conforming input
    class of SPEC §3, each generated deliberately;
(b) `canonical.canonicalize` equals the `rfc8785` reference, and parse(canonical(x)) == x;
(c) a single-byte mutation of a signed document is refused unless the JSON value is
    unchanged (whitespace, e/E); any field-level mutation of the signed body is refused;
(d) Ed25519 edge cases (S+L, non-canonical R/A, small-order A) are refused by keys.verify
    and by the whole document check.

Example counts are modest so the file runs in well under a minute on 2 cores; the heavier
variants are marked `slow` (still run by `make test`).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from git_elite.core import canonical, documents, jsonstrict, keys
from git_elite.core.errors import JsonError
from tests.conftest import SEEDS

ROOT = Path(__file__).resolve().parent.parent
SAFE = 2**53 - 1
L = 2**252 + 27742317777372353535851937790883648493
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEAVY = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
WHITESPACE = set(b" \t\n\r")


# ---------------------------------------------------------------- strategies
_chars = st.one_of(
    st.characters(codec="utf-8"),
    st.characters(min_codepoint=0, max_codepoint=0x1F),
    st.characters(min_codepoint=0xE000, max_codepoint=0xFFFF, codec="utf-8"),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF, codec="utf-8"),
)
texts = st.text(_chars, max_size=8)
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e21, 1e-7,
                     9.999999999999999e20, 1e-6, 123456789012345.6, -0.0, 0.1, 1e300]),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-SAFE, SAFE), floats, texts)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=24)


def _roundtrip_safe(value: Any) -> bool:
    """JCS writes an integral float ≥ 2^53 as digits without exponent (1e20 ->
    100000000000000000000), which the strict parser then refuses as an unsafe integer."""
    if isinstance(value, float):
        return not (value.is_integer() and abs(value) > SAFE)
    if isinstance(value, list):
        return all(_roundtrip_safe(v) for v in value)
    if isinstance(value, dict):
        return all(_roundtrip_safe(v) for v in value.values())
    return True


def _loads(data: bytes, max_bytes: int = jsonstrict.DEFAULT_MAX_BYTES) -> Any:
    return jsonstrict.loads(data, name="doc.json", max_bytes=max_bytes)


def _refused(data: bytes, max_bytes: int = 1 << 20) -> JsonError:
    with pytest.raises(JsonError) as info:
        _loads(data, max_bytes)
    assert info.value.rule == "json" and info.value.path == "doc.json"
    return info.value


@st.composite
def nest(draw: st.DrawFn, inner: bytes, min_depth: int = 0, max_depth: int = 6) -> bytes:
    """Wrap `inner` (JSON text) in `depth` random arrays/objects with random siblings."""
    out = inner
    for _ in range(draw(st.integers(min_depth, max_depth))):
        sibling = json.dumps(draw(scalars)).encode()
        if draw(st.booleans()):
            out = b"[" + sibling + b"," + out + b"]" if draw(st.booleans()) else b"[" + out + b"]"
        else:
            key = json.dumps(draw(texts), ensure_ascii=draw(st.booleans())).encode()
            out = b'{"sib":' + sibling + b"," + key + b":" + out + b"}"
    return out


# ---------------------------------------------------------------- (a) strict parser
def _never_crashes(data: bytes) -> None:
    with contextlib.suppress(JsonError):
        _loads(data)


@FAST
@given(st.binary(max_size=300))
def test_parser_arbitrary_bytes_only_jsonerror(data: bytes) -> None:
    _never_crashes(data)


@st.composite
def mutated_json(draw: st.DrawFn) -> bytes:
    data = bytearray(json.dumps(draw(json_values), ensure_ascii=draw(st.booleans())).encode())
    for _ in range(draw(st.integers(1, 4))):
        op, pos = draw(st.sampled_from("rid")), draw(st.integers(0, len(data)))
        byte = draw(st.sampled_from(list(b'{}[],:"\\-+.eE0159 tnfu') + [0, 0x80, 0xFF, 0xED]))
        if op == "i":
            data.insert(pos, byte)
        elif pos < len(data):
            data[pos:pos + 1] = bytes([byte]) if op == "r" else b""
    return bytes(data)


@FAST
@given(mutated_json())
def test_parser_mutated_json_only_jsonerror(data: bytes) -> None:
    _never_crashes(data)


@FAST
@given(st.data())
def test_parser_refuses_duplicate_keys_at_any_depth(data: st.DataObject) -> None:
    key = data.draw(texts)
    spelled = json.dumps(key, ensure_ascii=True).encode()  # same key, maybe escaped
    first = json.dumps(key, ensure_ascii=False).encode()
    values = [json.dumps(data.draw(scalars)).encode() for _ in range(2)]
    dup = b"{" + first + b":" + values[0] + b"," + spelled + b":" + values[1] + b"}"
    assert "duplicate key" in _refused(data.draw(nest(dup))).message


@FAST
@given(st.data(), st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999"]))
def test_parser_refuses_nan_and_infinity(data: st.DataObject, token: bytes) -> None:
    _refused(data.draw(nest(token)))


@FAST
@given(json_values)
def test_parser_refuses_bom(value: Any) -> None:
    body = json.dumps(value, ensure_ascii=False).encode()
    assert "BOM" in _refused(b"\xef\xbb\xbf" + body).message


_BAD_UTF8 = [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80", b"\x80"]


@FAST
@given(st.data(), st.sampled_from(_BAD_UTF8), texts)
def test_parser_refuses_invalid_utf8(data: st.DataObject, bad: bytes, text: str) -> None:
    raw = json.dumps(text, ensure_ascii=False).encode()
    at = data.draw(st.integers(1, len(raw) - 1))
    assert "UTF-8" in _refused(data.draw(nest(raw[:at] + bad + raw[at:]))).message


@FAST
@given(st.data(), st.integers(0xD800, 0xDFFF), st.sampled_from(["", "x", "\\u0041", "\\ud800"]),
       st.booleans())
def test_parser_refuses_lone_surrogates(data: st.DataObject, unit: int, after: str,
                                        as_key: bool) -> None:
    if 0xD800 <= unit <= 0xDBFF and after == "\\ud800":
        after = "\\ud801"  # high followed by high: still lone
    text = f'"a\\u{unit:04x}{after}"'.encode()
    inner = b"{" + text + b":1}" if as_key else text
    assert "surrogate" in _refused(data.draw(nest(inner))).message


@FAST
@given(st.data(), st.one_of(st.integers(SAFE + 1, 10**400), st.integers(-(10**400), -SAFE - 1)))
def test_parser_refuses_unsafe_integers(data: st.DataObject, number: int) -> None:
    _refused(data.draw(nest(str(number).encode())))


def test_parser_refuses_5000_digit_integer_as_jsonerror() -> None:
    """Regression: int() refuses > 4300 digits with ValueError, which escaped as a crash."""
    _refused(b"1" * 5000)
    _refused(b'{"a": [-' + b"9" * 5000 + b"]}")


@FAST
@given(st.integers(33, 400), st.lists(st.booleans(), min_size=1, max_size=8))
def test_parser_refuses_depth_over_32(depth: int, kinds: list[bool]) -> None:
    opens = [b"[" if kinds[i % len(kinds)] else b'{"k":' for i in range(depth)]
    closes = [b"]" if o == b"[" else b"}" for o in reversed(opens)]
    assert "nesting" in _refused(b"".join(opens) + b"1" + b"".join(closes)).message


@pytest.mark.parametrize("depth", [1, 31, 32])
def test_parser_accepts_depth_up_to_32(depth: int) -> None:
    assert _loads(b"[" * (depth - 1) + b"[]" + b"]" * (depth - 1)) is not None


@FAST
@given(json_values)
def test_parser_refuses_oversize(value: Any) -> None:
    raw = json.dumps(value).encode()
    assert "exceeds the limit" in _refused(raw, max_bytes=len(raw) - 1).message
    assert _roundtrip_safe(value) is False or _loads(raw, max_bytes=len(raw)) == value


def test_parser_refuses_oversize_default_limit() -> None:
    raw = b'{"a": "' + b"x" * jsonstrict.DEFAULT_MAX_BYTES + b'"}'
    with pytest.raises(JsonError, match="exceeds the limit"):
        _loads(raw)


# ---------------------------------------------------------------- (b) canonical form
@FAST
@given(json_values)
def test_canonical_equals_rfc8785_reference(value: Any) -> None:
    assert canonical.canonicalize(value) == rfc8785.dumps(value)


@FAST
@given(json_values.filter(_roundtrip_safe))
def test_parse_of_canonical_is_identity(value: Any) -> None:
    assert _loads(canonical.canonicalize(value), max_bytes=1 << 20) == value


@FAST
@given(floats)
def test_number_format_equals_reference(number: float) -> None:
    assert canonical.format_number(number).encode() == rfc8785.dumps(number)


@pytest.mark.slow
@HEAVY
@given(json_values)
def test_canonical_equals_reference_heavy(value: Any) -> None:
    assert canonical.canonicalize(value) == rfc8785.dumps(value)
    if _roundtrip_safe(value):
        assert _loads(canonical.canonicalize(value), max_bytes=1 << 20) == value


# ---------------------------------------------------------------- signed documents
def _key(name: str) -> keys.Keypair:
    return keys.Keypair.from_seed(bytes.fromhex(SEEDS[name]))


def _manifest() -> dict[str, Any]:
    return {"schema_version": 1, "agent_id": "ab" * 32,
            "repo_ref": {"type": "git", "url": "https://example.invalid/r.git",
                         "commit": "cd" * 20, "path": "agents/x"},
            "signature": "OptSig", "module": "ChainOfThought", "profile": "editor",
            "system_prompt_fingerprint": "sha256:" + "01" * 32,
            "demos_fingerprint": "sha256:" + "02" * 32,
            "metrics": {"success_rate": 0.91, "total_tasks": 143, "avg_duration_ms": 5320.5,
                        "recent_tasks_7d": 37, "critical_failures_24h": 0, "p95": 1e-07},
            "task_type_stats": {"file-edit": {"success_rate": 0.94, "count": 92}},
            "provenance": {"chrysalis_version": "0.3.0", "model": "gpt-4.1 ✓ 𝄞"},
            "created_at": 1712345678, "eval_window": {"from_ts": 1712000000, "to_ts": 1712345678}}


def _signed_documents() -> dict[str, dict[str, Any]]:
    alice, bob = _key("alice"), _key("bob")
    identity = {"type": "registry-identity", "schema_version": 1, "version": 1,
                "name": "chrysalis-elites", "owner_did": alice.did,
                "delegates": [alice.did, bob.did], "threshold": 2,
                "policy": {"publish": "open", "publishers": [], "min_total_tasks": 0,
                           "min_success_rate": 0.0, "max_manifest_bytes": 65536},
                "created_at": 1712345678}
    job = {"job_id": "job-1", "created_at": 1712345678, "job_type": "finetune",
           "base_model": "gpt-4.1", "objective": "editing", "data": {"train": "s3://x/t.jsonl"},
           "hyperparameters": {"lr": 0.0001, "epochs": 3}}
    return {
        "manifest": documents.sign(_manifest(), alice, documents.MANIFEST),
        "endorsement": documents.sign(
            {"type": "endorsement", "schema_version": 1, "to": bob.did, "task_types": ["*"],
             "created_at": 1712345678, "expires_at": 1812345678, "revoked": False}, alice),
        "tombstone": documents.sign(
            {"type": "tombstone", "schema_version": 1, "agent_id": "ab" * 32,
             "created_at": 1712345679, "reason": "superseded"}, alice),
        "key-rotation": documents.sign_rotation(alice, _key("rotated"), 1712345680),
        "registry-identity": documents.sign_multi(identity, [alice, bob]),
        "training-job": documents.sign(job, alice, documents.TRAINING_JOB),
    }


SIGNED = _signed_documents()
KIND_HINT = {"manifest": documents.MANIFEST, "training-job": documents.TRAINING_JOB}
SIGNATURE_FIELDS = ("signature_ed25519", "to_signature", "signatures")


def _check(raw: bytes, name: str) -> tuple[documents.Document | None, list[Any]]:
    return documents.check(raw, f"{name}.json", KIND_HINT.get(name))


@pytest.mark.parametrize("name", sorted(SIGNED))
def test_signed_fixture_documents_verify(name: str) -> None:
    doc, problems = _check(documents.to_bytes(SIGNED[name]), name)
    assert problems == [] and doc is not None and doc.body == SIGNED[name]


def _same_value(a: Any, b: Any) -> bool:
    return a == b and canonical.canonicalize(a) == canonical.canonicalize(b)


def _assert_byte_mutation(name: str, pos: int, byte: int) -> None:
    raw = documents.to_bytes(SIGNED[name])
    if raw[pos] == byte:
        return
    mutated = raw[:pos] + bytes([byte]) + raw[pos + 1:]
    doc, problems = _check(mutated, name)
    if problems:
        return
    assert doc is not None and _same_value(doc.body, SIGNED[name]), (name, pos, byte)
    assert _value_preserving(raw, pos, byte), f"{name}: byte {pos} {raw[pos]:#x}->{byte:#x}"


def _value_preserving(raw: bytes, pos: int, byte: int) -> bool:
    """The only single-byte edits that keep a JSON value: whitespace for whitespace, e for E
    in an exponent, and a `0` appended to a fraction in place of the whitespace after it."""
    old = raw[pos]
    if {old, byte} <= WHITESPACE or {old, byte} == {ord("e"), ord("E")}:
        return True
    head = raw[:pos].rsplit(b" ", 1)[-1]
    return old in WHITESPACE and byte == ord("0") and b"." in head and head[-1:].isdigit()


@pytest.mark.parametrize("name", sorted(SIGNED))
@FAST
@given(data=st.data())
def test_single_byte_mutation_refused_or_value_identical(name: str, data: st.DataObject) -> None:
    size = len(documents.to_bytes(SIGNED[name]))
    _assert_byte_mutation(name, data.draw(st.integers(0, size - 1)),
                          data.draw(st.integers(0, 255)))


@pytest.mark.parametrize("name", sorted(SIGNED))
def test_every_position_flipped_is_refused(name: str) -> None:
    """Deterministic sweep: each byte xor 0x01 and replaced by a tab."""
    raw = documents.to_bytes(SIGNED[name])
    for pos in range(len(raw)):
        _assert_byte_mutation(name, pos, raw[pos] ^ 0x01)
        _assert_byte_mutation(name, pos, 0x09)


B64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.mark.parametrize("name", sorted(SIGNED))
def test_signature_text_last_characters_not_malleable(name: str) -> None:
    """86 base64 characters carry 4 spare bits: another last character naming the same
    64 bytes must not verify (regression: decode_signature ignored the trailing bits)."""
    raw, body = documents.to_bytes(SIGNED[name]), SIGNED[name]
    texts = [body.get("signature_ed25519"), body.get("to_signature"),
             *(s["sig"] for s in body.get("signatures", []))]
    ends = [raw.index(t.encode()) + len(t) - 1 for t in texts if t]
    assert ends, "no signature found"
    for end in ends:
        for pos in (end, end - 1):
            for byte in B64URL:
                _assert_byte_mutation(name, pos, byte)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SIGNED))
def test_every_single_byte_mutation_heavy(name: str) -> None:
    raw = documents.to_bytes(SIGNED[name])
    for pos in range(len(raw)):
        for byte in (0x20, 0x22, 0x30, 0x41, 0xC3, raw[pos] ^ 0x20, raw[pos] ^ 0x02,
                     (raw[pos] + 1) % 256):
            _assert_byte_mutation(name, pos, byte)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            if not (prefix == () and key in SIGNATURE_FIELDS):
                out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _container(body: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        body = body[part]
    return body


def _mutate(body: dict[str, Any], path: tuple[Any, ...], op: str, new: Any, key: str
            ) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(body))
    parent, last = _container(out, path[:-1]), path[-1]
    if op == "change":
        parent[last] = new
    elif op == "remove":
        del parent[last]
    else:  # add: a new key (objects) or element (arrays) at the path itself, or beside it
        target = _container(out, path)
        if isinstance(target, dict):
            target[key if key not in target else key + "_"] = new
        elif isinstance(target, list):
            target.append(new)
        elif isinstance(parent, dict):
            parent[key if key not in parent else key + "_"] = new
        else:
            parent.insert(last, new)
    return out


def _assert_field_mutation_refused(name: str, path: tuple[Any, ...], op: str, new: Any,
                                   key: str) -> None:
    body = SIGNED[name]
    mutated = _mutate(body, path, op, new, key)
    if canonical.canonicalize(mutated) == canonical.canonicalize(body):
        return  # e.g. 1 -> 1.0: the same JSON number, not a mutation
    _, problems = _check(documents.to_bytes(mutated), name)
    assert problems, f"{name}: {op} at {path} -> {new!r} verified"
    assert {p.rule for p in problems} <= {"json", "schema", "signature", "identity"}


@pytest.mark.parametrize("name", sorted(SIGNED))
@FAST
@given(data=st.data())
def test_field_mutation_refused(name: str, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(_paths(SIGNED[name])))
    op = data.draw(st.sampled_from(["change", "remove", "add"]))
    _assert_field_mutation_refused(name, path, op, data.draw(scalars | json_values),
                                   data.draw(texts))


@pytest.mark.parametrize("name", sorted(SIGNED))
def test_every_field_removed_or_changed_is_refused(name: str) -> None:
    for path in _paths(SIGNED[name]):
        old = _container(SIGNED[name], path)
        for op, new in (("remove", None), ("change", None), ("change", "x"), ("change", 0),
                        ("change", [old]), ("add", 7)):
            _assert_field_mutation_refused(name, path, op, new, "extra")


@pytest.mark.parametrize("name", sorted(SIGNED))
def test_signature_replaced_by_another_valid_signature_is_refused(name: str) -> None:
    other = keys.encode_signature(_key("mallory").sign(b"another message"))
    body = json.loads(json.dumps(SIGNED[name]))
    if "signatures" in body:
        body["signatures"][0]["sig"] = other
    else:
        body["signature_ed25519"] = other
    _, problems = _check(documents.to_bytes(body), name)
    assert problems and {p.rule for p in problems} <= {"signature", "identity"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SIGNED))
@HEAVY
@given(data=st.data())
def test_field_mutation_refused_heavy(name: str, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(_paths(SIGNED[name])))
    op = data.draw(st.sampled_from(["change", "remove", "add"]))
    _assert_field_mutation_refused(name, path, op, data.draw(json_values), data.draw(texts))


# ---------------------------------------------------------------- (d) Ed25519 edge cases
SPECCHECK = json.loads((ROOT / "fixtures/vectors/ed25519-speccheck.json").read_text())


def _case_id(case: dict[str, Any]) -> str:
    return str(case.get("name") or f"{case['index']}: {case['condition']}")


@pytest.mark.parametrize("case", SPECCHECK["cases"] + SPECCHECK["extra_cases"], ids=_case_id)
def test_speccheck_vectors_strict_verdicts(case: dict[str, Any]) -> None:
    public, sig = bytes.fromhex(case["pub_key"]), bytes.fromhex(case["signature"])
    assert keys.verify(public, bytes.fromhex(case["message"]), sig) is (case["pynacl"] == "V")


def _manifest_with(owner: str, signature: bytes) -> bytes:
    body = {**_manifest(), "owner_did": owner,
            "signature_ed25519": keys.encode_signature(signature)}
    return documents.to_bytes(body)


def _refused_doc(raw: bytes) -> set[str]:
    _, problems = documents.check(raw, "agents/x/manifest.json", documents.MANIFEST)
    assert problems, "document accepted"
    return {p.rule for p in problems}


def test_s_plus_l_signature_refused_by_verify_and_document_check() -> None:
    signed = SIGNED["manifest"]
    sig = keys.decode_signature(signed["signature_ed25519"])
    s = int.from_bytes(sig[32:], "little") + L
    assert s < 2**256
    malleated = sig[:32] + s.to_bytes(32, "little")
    public = keys.public_from_did(signed["owner_did"])
    message = documents.signing_input(documents.MANIFEST, signed)
    assert keys.verify(public, message, sig) and not keys.verify(public, message, malleated)
    assert _refused_doc(_manifest_with(signed["owner_did"], malleated)) == {"signature"}


SMALL_ORDER = sorted({bytes.fromhex(c["pub_key"]) for c in SPECCHECK["extra_cases"]
                      if "small-order" in c["name"]} | {bytes.fromhex(
                          SPECCHECK["cases"][0]["pub_key"])})
UNIVERSAL = b"\x01" + b"\x00" * 63  # R = identity, S = 0: valid for every message under A small


@pytest.mark.parametrize("public", SMALL_ORDER, ids=lambda p: p.hex()[:8])
def test_small_order_key_universal_signature_refused(public: bytes) -> None:
    assert not keys.verify(public, b"any manifest", UNIVERSAL)
    assert _refused_doc(_manifest_with(keys.did_from_public(public), UNIVERSAL)) & {
        "schema", "signature"}


@pytest.mark.parametrize("index", [8, 9, 10, 11], ids=lambda i: f"speccheck-{i}")
def test_non_canonical_r_or_a_refused_in_documents(index: int) -> None:
    case = SPECCHECK["cases"][index]
    public, sig = bytes.fromhex(case["pub_key"]), bytes.fromhex(case["signature"])
    assert not keys.verify(public, bytes.fromhex(case["message"]), sig)
    assert _refused_doc(_manifest_with(keys.did_from_public(public), sig)) & {
        "schema", "signature"}


# ---------------------------------------------------------------- fixtures/attacks
ATTACKS = ROOT / "fixtures" / "attacks"
ATTACK_CASES: dict[str, dict[str, str]] = json.loads((ATTACKS / "cases.json").read_text())


def test_attack_fixtures_are_reproducible() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(ATTACKS / "make.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", sorted(ATTACK_CASES))
def test_attack_fixture_refused_by_the_expected_rule(name: str) -> None:
    case = ATTACK_CASES[name]
    _, problems = documents.check((ATTACKS / case["file"]).read_bytes(), case["path"],
                                  documents.MANIFEST)
    assert {p.rule for p in problems} == (set() if case["expect"] == "ok" else {case["expect"]})
    assert all("\n" not in p.message for p in problems)
