"""The pure timestamp check (git_elite/core/timestamp.py, SPEC §6.1): the reader's verdict
(`assess`) and the server's `timestamp` rule (`check_update`) as tables with readable ids;
and the document through `sign` / `verify-file`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import documents, timestamp
from git_elite.core.timestamp import FREEZE, FRESH, INVALID, ROLLBACK, UNDECLARED, WITHHOLDING, Role
from tests.conftest import run_cli
from tests.helpers_registry import identity, key, make_identity

NOW = 1_800_000_000
TIP, OLD, OTHER = "a" * 40, "b" * 40, "c" * 40
INDEX = b'{"schema_version": 2}\n'
ROLE = Role(frozenset({key("dave").did}), 1, 86400)
HISTORY = {TIP: {TIP, OLD}}  # TIP descends from OLD; OTHER is not in this copy


def body(**change: Any) -> dict[str, Any]:
    base = timestamp.body(registry="chrysalis-elites", owner_did=key("server").did,
                          branch="main", tip=TIP, index=INDEX, version=5, now=NOW - 60,
                          lifetime=3600)
    return {**base, **change}


def raw(signers: tuple[str, ...] = ("dave",), **change: Any) -> bytes:
    signed = documents.sign_multi(body(**change), [key(s) for s in signers],
                                  documents.TIMESTAMP)
    return documents.to_bytes(signed)


def index_at(commit: str) -> bytes | None:
    return INDEX if commit in (TIP, OLD) else None


def assess(data: bytes | None, role: Role | None = ROLE, seen: int = 0, tip: str = TIP
           ) -> timestamp.Freshness:
    return timestamp.assess(data, role, registry="chrysalis-elites",
                            owner_did=key("server").did, branch="main", tip=tip, now=NOW,
                            seen=seen, contains=lambda c: c in HISTORY.get(tip, {tip}),
                            index_at=index_at)


def tampered() -> bytes:
    value = json.loads(raw())
    value["version"] = 99
    return json.dumps(value).encode()


READER_CASES = [
    pytest.param(lambda: raw(), {}, FRESH, "signed fresh until", id="fresh"),
    pytest.param(lambda: raw(tip=OLD), {}, FRESH, "", id="signed-tip-is-an-ancestor"),
    pytest.param(lambda: raw(), {"role": None}, UNDECLARED, "", id="no-role-declared"),
    pytest.param(lambda: None, {}, FREEZE, "missing", id="missing"),
    pytest.param(lambda: raw(created_at=NOW - 601, expires_at=NOW - 1), {}, FREEZE,
                 "expired", id="expired-a-second-ago"),
    pytest.param(lambda: raw(created_at=NOW - 600, expires_at=NOW), {}, FREEZE, "expired",
                 id="expires-now"),
    pytest.param(lambda: raw(tip=OTHER), {}, WITHHOLDING, "does not contain",
                 id="signed-tip-not-in-copy"),
    pytest.param(lambda: raw(), {"seen": 5}, FRESH, "", id="same-version-as-seen"),
    pytest.param(lambda: raw(version=4), {"seen": 6}, ROLLBACK, "older than version 6",
                 id="older-than-seen"),
    pytest.param(lambda: raw(("mallory",)), {}, INVALID, "threshold 1",
                 id="non-declared-key"),
    pytest.param(lambda: raw(("mallory", "dave")), {}, FRESH, "",
                 id="extra-non-declared-signature-ignored"),
    pytest.param(tampered, {}, INVALID, "does not verify", id="altered-after-signing"),
    pytest.param(lambda: raw(index_sha256="0" * 64), {}, INVALID, "index_sha256",
                 id="index-sha256-mismatch"),
    pytest.param(lambda: raw(expires_at=NOW + 86400), {}, INVALID, "max_age",
                 id="lifetime-over-max-age"),
    pytest.param(lambda: raw(registry="other"), {}, INVALID, "registry",
                 id="other-registry"),
    pytest.param(lambda: raw(branch="dev"), {}, INVALID, "branch", id="other-branch"),
    pytest.param(lambda: raw()[:-30], {}, INVALID, "[json]", id="truncated"),
]


@pytest.mark.parametrize(("make", "kw", "case", "words"), READER_CASES)
def test_reader_verdict(make: Any, kw: dict[str, Any], case: str, words: str) -> None:
    result = assess(make(), **kw)
    assert result.case == case, result.message
    assert words in result.message
    assert result.ok == (case in (FRESH, UNDECLARED))
    if not result.ok:
        assert result.line("reg").startswith(f"reg: [timestamp] {case}: ")


def test_freeze_message_names_the_dates() -> None:
    result = assess(raw(created_at=NOW - 601, expires_at=NOW - 1))
    assert timestamp.when(NOW - 1) in result.message
    assert timestamp.when(NOW - 601) in result.message
    assert timestamp.when(NOW) in result.message


def test_threshold_two_needs_two_declared_keys() -> None:
    role = Role(frozenset({key("dave").did, key("eve").did}), 2, 86400)
    assert assess(raw(), role).case == INVALID
    assert assess(raw(("dave", "eve")), role).case == FRESH
    assert assess(raw(("dave", "dave")), role).case == INVALID  # duplicates count once


def update(new: bytes, old: bytes | None = None, role: Role | None = ROLE, now: int = NOW
           ) -> list[str]:
    problems = timestamp.check_update(old, new, role, registry="chrysalis-elites",
                                      owner_did=key("server").did, branch="main", now=now,
                                      max_skew=300, contains=lambda c: c in (TIP, OLD),
                                      index_at=index_at)
    assert all(p.rule == "timestamp" for p in problems)
    return [p.message for p in problems]


SERVER_CASES = [
    pytest.param(lambda: (raw(), raw(version=4)), "", id="next-version"),
    pytest.param(lambda: (raw(), None), "", id="first"),
    pytest.param(lambda: (raw(version=4), raw(version=4)), "not greater", id="same-version"),
    pytest.param(lambda: (raw(version=3), raw(version=4)), "not greater", id="older-version"),
    pytest.param(lambda: (raw(("mallory",)), None), "threshold", id="non-declared-key"),
    pytest.param(lambda: (raw(created_at=NOW - 601, expires_at=NOW - 1), None),
                 "already expired", id="expired"),
    pytest.param(lambda: (raw(created_at=NOW + 3600, expires_at=NOW + 7200), None),
                 "ahead of the server's clock", id="dated-ahead"),
    pytest.param(lambda: (raw(tip=OTHER), None), "not the registry branch's tip",
                 id="tip-not-an-ancestor"),
    pytest.param(lambda: (raw(index_sha256=hashlib.sha256(b"x").hexdigest()), None),
                 "index_sha256", id="index-mismatch"),
    pytest.param(lambda: (raw(expires_at=NOW + 90000), None), "max_age", id="too-long"),
]


@pytest.mark.parametrize(("make", "words"), SERVER_CASES)
def test_server_rule(make: Any, words: str) -> None:
    new, old = make()
    messages = update(new, old)
    if not words:
        assert messages == []
    else:
        assert any(words in m for m in messages), messages


def test_server_rule_without_a_role() -> None:
    assert "declares no timestamp role" in update(raw(), role=None)[0]


def test_role_of_identity() -> None:
    assert Role.of(identity()) is None
    body = {**identity(), "timestamp": {"keys": [key("dave").did], "threshold": 1,
                                        "max_age": 600}}
    assert Role.of(body) == Role(frozenset({key("dave").did}), 1, 600)


@pytest.mark.parametrize(("role", "rule_words"), [
    pytest.param({"keys": [], "threshold": 1, "max_age": 600}, "keys", id="no-keys"),
    pytest.param({"keys": ["did:key:z6Mkxx"], "threshold": 1, "max_age": 600}, "keys",
                 id="bad-did"),
    pytest.param({"keys": [key("dave").did], "threshold": 2, "max_age": 600},
                 "threshold 2 > 1", id="threshold-over-keys"),
    pytest.param({"keys": [key("dave").did], "threshold": 1, "max_age": 599}, "max_age",
                 id="max-age-under-600"),
    pytest.param({"keys": [key("dave").did], "threshold": 1, "max_age": 30 * 86400 + 1},
                 "max_age", id="max-age-over-30-days"),
    pytest.param({"keys": [key("dave").did], "threshold": 1, "max_age": 600, "x": 1},
                 "x", id="unknown-field"),
])
def test_identity_role_is_strict(role: dict[str, Any], rule_words: str) -> None:
    body = {k: v for k, v in identity().items() if k != "signatures"}
    signed = documents.sign_multi({**body, "timestamp": role}, [key("server")])
    _, problems = documents.check(documents.to_bytes(signed), "IDENTITY.json")
    assert problems and problems[0].rule == "schema", problems
    assert any(rule_words in p.message for p in problems), problems


def test_sign_and_verify_file(tmp_path: Path) -> None:
    """`sign` adds this node's signature to a timestamp (multi-signer: others are kept);
    `verify-file` checks every signature (the role is the registry's, not the file's)."""
    make_identity("dave")
    path = tmp_path / "timestamp.json"
    path.write_bytes(documents.to_bytes(body()))
    run_cli("sign", str(path))
    signed = json.loads(path.read_bytes())
    assert [s["did"] for s in signed["signatures"]] == [key("dave").did]
    assert run_cli("verify-file", str(path)).returncode == 0
    signed["version"] = 6
    path.write_text(json.dumps(signed))
    bad = run_cli("verify-file", "--json", str(path), check=1)
    assert json.loads(bad.stdout)["problems"][0]["rule"] == "signature"
    path.write_text(json.dumps({**signed, "surprise": 1}))
    assert "[schema]" in run_cli("verify-file", str(path), check=1).stdout + \
        run_cli("verify-file", str(path), check=1).stderr
