"""Shared helpers for the generate / trust / registry tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import base58

from git_elite.core import keys
from tests.conftest import ROOT, SEEDS

FIXTURES = ROOT / "fixtures" / "evals"
NOW = 1767225600  # 2026-01-01T00:00:00Z, the fixtures' "now"


def keypair(name: str) -> keys.Keypair:
    return keys.Keypair.from_seed(bytes.fromhex(SEEDS[name]))


def write_identity(name: str, home: Path | None = None) -> keys.Keypair:
    """identity.json (SPEC §2) for a seeded test key, in $AGENTD_HOME (or `home`)."""
    key = keypair(name)
    target = home or Path(os.environ["AGENTD_HOME"])
    target.mkdir(parents=True, exist_ok=True)
    body = {"did": key.did, "publicKeyBase58": base58.b58encode(key.public).decode(),
            "secretKeyBase58": base58.b58encode(key.secret64).decode(),
            "publicKeyMultibase": keys.nid_from_did(key.did), "createdAt": NOW, "alias": name}
    (target / "identity.json").write_text(json.dumps(body))
    (target / "identity.json").chmod(0o600)
    return key


def fixture_args() -> list[str]:
    """Both eval formats and the agents file, at the fixtures' fixed now."""
    return ["--evals", str(FIXTURES / "racket" / "evals.jsonl"), "--evals", str(FIXTURES / "ts"),
            "--agents", str(FIXTURES / "agents.yaml"), "--now", str(NOW)]
