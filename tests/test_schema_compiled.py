"""The compiled schema validator agrees with jsonschema; the fast paths of canonical and
jsonstrict agree with their exact paths (and with the rfc8785 reference)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, ValidationError, validators

from git_elite.core import canonical, jsonstrict, schema
from git_elite.core.errors import JsonError

DID_A = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
DID_B = "did:key:z6MknSLrJoTcukLrE435hVNQT4JUhbvWLX4kUzqkEStBU8Vi"
SIG = "A" * 86
HEX = "0123456789abcdef" * 4

VALID: dict[str, dict[str, Any]] = {
    "manifest": {
        "schema_version": 1, "agent_id": HEX, "owner_did": DID_A,
        "repo_ref": {"type": "git", "url": "https://x/y.git", "commit": HEX[:40], "path": "a"},
        "signature": "OptSig", "module": "ChainOfThought", "profile": "editor",
        "system_prompt_fingerprint": "sha256:" + HEX, "demos_fingerprint": "sha256:" + HEX,
        "metrics": {"success_rate": 0.91, "total_tasks": 143, "avg_duration_ms": 5320,
                    "recent_tasks_7d": 37, "critical_failures_24h": 0},
        "task_type_stats": {"file-edit": {"success_rate": 0.94, "count": 92}},
        "provenance": {"chrysalis_version": "0.3.0", "model": "gpt-4.1", "extra": None},
        "created_at": 1712345678, "eval_window": {"from_ts": 1712000000, "to_ts": 1712345678},
        "signature_ed25519": SIG},
    "agent-config": {
        "signature": "OptSig", "signature_schema": {"inputs": ["task", {"name": "ctx"}],
                                                    "outputs": ["answer"]},
        "module": "ChainOfThought", "profile": "editor", "system_prompt_hash": "sha256:" + HEX,
        "demos_hash": "sha256:" + HEX, "tools_enabled": ["read"], "model": None},
    "registry-identity": {
        "type": "registry-identity", "schema_version": 1, "version": 1, "name": "elites",
        "owner_did": DID_A, "delegates": [DID_A, DID_B], "threshold": 1,
        "policy": {"publish": "open", "publishers": [], "min_total_tasks": 0,
                   "min_success_rate": 0.0, "max_manifest_bytes": 65536},
        "created_at": 1712345678, "signatures": [{"did": DID_A, "sig": SIG}]},
    "tombstone": {"type": "tombstone", "schema_version": 1, "agent_id": HEX, "owner_did": DID_A,
                  "created_at": 5, "reason": "gone", "signature_ed25519": SIG},
    "endorsement": {"type": "endorsement", "schema_version": 1, "from": DID_A, "to": DID_B,
                    "task_types": ["*", "file-edit"], "created_at": 5, "expires_at": 9,
                    "revoked": False, "signature_ed25519": SIG},
    "key-rotation": {"type": "key-rotation", "schema_version": 1, "from": DID_A, "to": DID_B,
                     "created_at": 5, "signature_ed25519": SIG, "to_signature": SIG},
    "training-job": {"job_id": "j1", "owner_did": DID_A, "created_at": 5, "job_type": "eval",
                     "base_model": "m", "objective": "o", "data": {}, "artifacts": [],
                     "signature_ed25519": SIG},
}
KINDS = sorted(VALID)
# values that sit on the edges of JSON Schema's type rules
TRICKY = [None, True, False, 0, 1, -1, 1.0, 0.5, 1.5, 2**53 - 1, 2**53, 1e300, "", "*", "x",
          "git", "open", HEX, "sha256:" + HEX, DID_A, DID_A + "\n", SIG, "a" * 300, [], [1],
          ["*", "*"], [1, 1.0], [True, 1], {}, {"name": "n"}, {"success_rate": 1, "count": 2}]


def _ecma_pattern(validator: Any, pattern: str, instance: Any, _: Any) -> Any:
    """JSON Schema `pattern` as ECMA-262 reads it: our patterns' `$` (no multiline flag)
    matches only at the end of input, never before a trailing newline (issue 17.9)."""
    if isinstance(instance, str) and not re.search(pattern.replace("$", r"\Z"), instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_ECMA = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})


def _reference(kind: str) -> Draft202012Validator:
    return _ECMA(schema.load(kind))  # type: ignore[no-any-return]


def _agree(kind: str, body: Any) -> None:
    assert schema.is_valid(kind, body) == _reference(kind).is_valid(body), json.dumps(body)[:300]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
    | st.sampled_from(TRICKY),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=12)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    body = copy.deepcopy(VALID[kind])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(body)))
        if not path:
            continue
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        value = copy.deepcopy(draw(st.sampled_from(TRICKY) | json_values))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=6) | st.sampled_from(["type", "x-extra"]))] = value
        elif action == "add":
            parent.append(value)
        else:
            parent[path[-1]] = value
    return kind, body


@pytest.mark.parametrize("kind", KINDS)
def test_valid_examples_pass_both(kind: str) -> None:
    assert schema.is_valid(kind, VALID[kind])
    assert _reference(kind).is_valid(VALID[kind])
    assert schema.validate(kind, VALID[kind], "x.json") == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("value", TRICKY, ids=[json.dumps(v)[:20] for v in TRICKY])
def test_tricky_values_agree_at_every_path(kind: str, value: Any) -> None:
    for path in _paths(VALID[kind])[1:]:
        body = copy.deepcopy(VALID[kind])
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = copy.deepcopy(value)
        _agree(kind, body)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_documents_agree(case: tuple[str, Any]) -> None:
    _agree(*case)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(KINDS), json_values)
def test_arbitrary_values_agree(kind: str, value: Any) -> None:
    _agree(kind, value)


def test_bad_document_gets_jsonschema_messages() -> None:
    body = copy.deepcopy(VALID["manifest"])
    body["metrics"]["success_rate"] = True
    problems = schema.validate("manifest", body, "agents/x/manifest.json")
    assert [p.rule for p in problems] == ["schema"]
    assert problems[0].message.startswith("metrics.success_rate: True is not of type")


@pytest.mark.parametrize("bad", [{"format": "date"}, {"$ref": "#/x"}, {"oneOf": [True]},
                                 {"properties": {"a": {"exclusiveMinimum": 0}}},
                                 {"type": "decimal"}, {"items": [True]}, 5],
                         ids=["format", "ref", "oneOf", "nested-exclusiveMinimum",
                              "unknown-type", "tuple-items", "not-a-schema"])
def test_unknown_keywords_are_refused_when_compiling(bad: Any) -> None:
    with pytest.raises(schema.SchemaCompileError):
        schema.compile_schema(bad)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_canonical_fast_path_matches_reference(value: Any) -> None:
    try:
        expected: bytes | None = rfc8785.dumps(value)
    except Exception:  # noqa: BLE001 - the reference refuses: so must we
        expected = None
    try:
        got: bytes | None = canonical.canonicalize(value)
    except JsonError:
        got = None
    assert got == expected


def _exact_loads(data: bytes) -> Any:
    value = jsonstrict._DECODER.decode(data.decode("utf-8"))
    jsonstrict._depth_ok(value, 1, True)
    return value


@settings(max_examples=300, deadline=None)
@given(json_values | st.integers() | st.floats(allow_nan=False)
       | st.recursive(st.just(0), lambda x: st.lists(x, max_size=1), max_leaves=40))
def test_strict_loads_fast_path_matches_exact_path(value: Any) -> None:
    data = json.dumps(value).encode()
    try:
        expected = ("ok", _exact_loads(data))
    except (ValueError, RecursionError) as err:
        expected = ("err", type(err).__name__)
    try:
        got: tuple[str, Any] = ("ok", jsonstrict.loads(data, name="x", max_bytes=10**6))
    except JsonError:
        got = ("err", "_Reject")
    assert got[0] == expected[0]
    if got[0] == "ok":
        assert got == expected


def test_signature_fast_path_equals_the_general_decoder() -> None:
    """keys.decode_signature's 86-character fast path agrees with its general path (reached
    here by padding the same text), and refuses non-zero trailing bits like it."""
    from git_elite.core import keys
    from git_elite.core.errors import SignatureError

    for sig in [SIG, "_" * 85 + "w", "-" * 85 + "A", "A" * 85 + "Q"]:
        assert keys.decode_signature(sig) == keys.decode_signature(sig + "==")
    for sig in ["A" * 85 + "B", "_" * 86]:
        with pytest.raises(SignatureError):
            keys.decode_signature(sig)
