"""The IDENTITY.json `log` role (SPEC §15, §5.3): its shape and cross-field rules, `init
--log-key`, and `git elite role set|remove|sign` as signed IDENTITY changes pushed through a
hooked server (one signer, and a threshold of two delegates)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import documents, logrole
from tests.conftest import git, run_cli
from tests.helpers_registry import (
    commit_raw,
    identity,
    key,
    make_identity,
    make_server,
    node_env,
    push,
)

URL = "http://127.0.0.1:9"


def home_of(name: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An AGENTD_HOME holding SEEDS[name]'s identity.json, as an env for run_cli."""
    import os

    home = tmp / f"{name}-home"
    with monkeypatch.context() as mp:
        mp.setenv("AGENTD_HOME", str(home))
        make_identity(name)
    return {**node_env(name), "AGENTD_HOME": str(home), "HOME": os.environ["HOME"]}


def role(**over: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "origin": "example.org/chrysalis-elites", "key": key("dave").did,
        "witnesses": [{"name": "w1.example", "key": key("alice").did, "url": URL},
                      {"name": "w2.example", "key": key("bob").did, "url": URL + "/w2"}],
        "quorum": 2}
    out.update(over)
    return out


def check(log: dict[str, Any]) -> list[str]:
    body = {k: v for k, v in identity().items() if k != "signatures"}
    body["log"] = log
    signed = documents.sign_multi(body, [key("server")])
    return [f"[{p.rule}] {p.message}" for p in
            documents.check(documents.to_bytes(signed), "IDENTITY.json")[1]]


def test_a_valid_log_role_is_accepted() -> None:
    assert check(role()) == []
    parsed = logrole.LogRole.of({"log": role()})
    assert parsed is not None and parsed.quorum == 2 and parsed.witness("w2.example")


W1 = {"name": "w1.example", "key": key("alice").did, "url": URL}
BAD = {
    "quorum-above-witnesses": (role(quorum=3), "log.quorum 3 > 2 witnesses"),
    "quorum-zero": (role(quorum=0), "[schema]"),
    "same-name": (role(witnesses=[W1, {**W1, "key": key("bob").did}]), "same name"),
    "same-key": (role(witnesses=[W1, {**W1, "name": "w2"}]), "same key"),
    "log-key-witnesses-itself": (role(witnesses=[{**W1, "key": key("dave").did}], quorum=1),
                                 "cannot witness its own log"),
    "origin-with-space": (role(origin="example.org/a b"), "[schema]"),
    "origin-with-plus": (role(origin="a+b"), "[schema]"),
    "origin-control-char": (role(origin="a\x1b[31m"), "[schema]"),
    "url-not-http": (role(witnesses=[{**W1, "url": "ftp://x"}], quorum=1), "[schema]"),
    "no-witness": (role(witnesses=[], quorum=1), "[schema]"),
    "bad-did": (role(key="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doX"),
                "log.key"),
    "unknown-field": ({**role(), "extra": 1}, "[schema]"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_log_role_is_refused_naming_the_problem(case: str) -> None:
    log, expected = BAD[case]
    found = check(log)
    assert found and any(expected in f for f in found), found


def test_parse_witness_takes_name_did_url() -> None:
    did = key("alice").did
    assert logrole.parse_witness(f"w1={did}@{URL}") == {"name": "w1", "key": did, "url": URL}
    for bad in (f"w1{did}@{URL}", f"w 1={did}@{URL}", f"w1={did}@ftp://x", "w1=did:key:z@x"):
        with pytest.raises(Exception, match="witness"):
            logrole.parse_witness(bad)


def test_leaf_bytes_are_rfc8785_and_round_trip() -> None:
    data = logrole.leaf("main", "a" * 40, "b" * 64)
    assert data == (b'{"branch":"main","commit":"' + b"a" * 40 + b'","index_sha256":"'
                    + b"b" * 64 + b'","type":"registry-state"}')
    assert logrole.parse_leaf(data) == json.loads(data)
    assert logrole.parse_leaf(data.replace(b":", b": ", 1)) is None


def test_init_declares_the_log_role(tmp_path: Path) -> None:
    make_identity("server")
    w = f"w1.example={key('alice').did}@{URL}"
    run_cli("init", str(tmp_path / "reg"), "--log-key", key("dave").did, "--witness", w,
            "--log-origin", "example.org/elites")
    body = json.loads((tmp_path / "reg" / "IDENTITY.json").read_text())
    assert body["log"] == {"origin": "example.org/elites", "key": key("dave").did,
                           "quorum": 1, "witnesses": [{"name": "w1.example",
                                                       "key": key("alice").did, "url": URL}]}
    bad = run_cli("init", str(tmp_path / "reg2"), "--log-key", key("dave").did, check=2)
    assert "--witness" in bad.stderr


def _witness_args() -> list[str]:
    return ["--witness", f"w1={key('alice').did}@{URL}",
            "--witness", f"w2={key('bob').did}@{URL}/b", "--quorum", "2"]


def test_role_set_and_remove_push_through_the_hooked_server(tmp_path: Path) -> None:
    work, bare = make_server(tmp_path)
    run_cli("role", "set", "log", "--key", key("dave").did, "--origin", "example.org/e",
            *_witness_args(), cwd=work)
    result = push(work)
    assert result.returncode == 0, result.stderr
    served = json.loads(git("show", "main:IDENTITY.json", cwd=bare).stdout)
    assert served["version"] == 2 and served["log"]["quorum"] == 2
    run_cli("role", "set", "timestamp", "--key", key("eve").did, "--max-age", "3600",
            cwd=work)
    run_cli("role", "remove", "log", cwd=work)
    assert push(work).returncode == 0
    served = json.loads(git("show", "main:IDENTITY.json", cwd=bare).stdout)
    assert served["version"] == 4 and "log" not in served
    assert served["timestamp"]["keys"] == [key("eve").did]
    again = run_cli("role", "remove", "log", cwd=work, check=1)
    assert "declares no log role" in again.stderr


def test_a_role_change_by_a_non_delegate_is_refused_by_the_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work, _ = make_server(tmp_path)
    refused = run_cli("role", "set", "log", "--key", key("dave").did, *_witness_args(),
                      cwd=work, env=home_of("mallory", tmp_path, monkeypatch), check=1)
    assert "not a delegate" in refused.stderr
    body = {k: v for k, v in identity().items() if k != "signatures"}
    body.update(version=2, log=role())
    forged = documents.sign_multi(body, [key("mallory")])
    commit_raw(work, {"IDENTITY.json": documents.to_bytes(forged)}, index=True)
    result = push(work)
    assert result.returncode == 1 and "[identity]" in result.stderr, result.stderr


def test_a_threshold_of_two_names_who_must_sign_and_the_second_commits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work, bare = make_server(tmp_path)
    two = identity("server", version=2, delegates=("server", "alice"), threshold=2,
                   signers=("server", "alice"))
    commit_raw(work, {"IDENTITY.json": documents.to_bytes(two)}, index=True)
    assert push(work).returncode == 0
    said = run_cli("role", "set", "log", "--key", key("dave").did, *_witness_args(),
                   cwd=work)
    assert "still needed" in said.stderr and key("alice").did in said.stderr
    assert git("status", "--porcelain", cwd=work).stdout.strip() == "M IDENTITY.json"
    pending = (work / "IDENTITY.json").read_bytes()
    other = tmp_path / "alice-clone"
    git("clone", "-q", str(bare), str(other))
    (other / "IDENTITY.json").write_bytes(pending)
    done = run_cli("role", "sign", cwd=other, env=home_of("alice", tmp_path, monkeypatch))
    assert "committed" in done.stderr, done.stderr
    result = push(other)
    assert result.returncode == 0, result.stderr
    served = json.loads(git("show", "main:IDENTITY.json", cwd=bare).stdout)
    assert served["version"] == 3 and served["log"]["key"] == key("dave").did
    assert len(served["signatures"]) == 2


def test_a_key_whose_base64_holds_a_plus_round_trips_as_a_verifier_key() -> None:
    """A verifier key's base64 may contain '+' (about half of all keys do); the name and key
    ID never do, so only the first two '+' separate (Go's note.NewVerifier cuts twice)."""
    from git_elite.core import note
    from git_elite.core.keys import Keypair

    for seed in range(256):
        k = Keypair.from_seed(bytes([seed]) * 32)
        vkey = note.verifier_key("example.org/log", k.public)
        if vkey.count("+") > 2:
            parsed = note.parse_verifier_key(vkey)
            assert parsed.pub == k.public and parsed.name == "example.org/log"
            return
    raise AssertionError("no seed gave a key whose base64 holds '+'")
