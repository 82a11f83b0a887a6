"""Local inputs are never fatal or explosive (issue 17, item 10; f10.sh): one eval line with
a pre-1970 date or `duration_ms: 1e308` is a malformed line, counted (SPEC §9); odd
agents.yaml shapes are one-line errors, exit 1; a 408-byte YAML alias bomb is refused at
once. Through the real `git elite generate` and `registry list`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from git_elite.core import yamlsafe
from tests.conftest import run_cli
from tests.helpers_pipeline import write_identity

NOW = 1767225600


def _log(tmp: Path, extra: list[dict[str, object]]) -> Path:
    lines = [{"ts": NOW - i, "success": True, "profile": "p"} for i in range(60)] + extra
    path = tmp / "e.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.mark.parametrize("extra", [
    {"ts": "1969-12-31T00:00:00", "success": True, "profile": "p"},
    {"ts": -5, "success": True, "profile": "p"},
    {"ts": 1e300, "success": True, "profile": "p"},
    {"ts": "9999-12-31T23:59:59+00:00", "success": True, "profile": "p"},
    {"ts": NOW - 600, "success": True, "profile": "p", "duration_ms": 1e308},
    {"ts": NOW - 600, "success": True, "profile": "p", "duration_ms": 2.0**53},
], ids=["iso-before-1970", "negative", "huge-number", "year-9999", "duration-1e308",
        "duration-over-2^53"])
def test_one_bad_eval_line_is_counted_never_fatal(tmp_path: Path,
                                                  extra: dict[str, object]) -> None:
    write_identity("alice")
    log = _log(tmp_path, [extra, extra])
    proc = run_cli("generate", "--evals", str(log), "--now", str(NOW), "--json", check=0)
    rows = json.loads(proc.stdout)
    assert len(rows) == 1 and rows[0]["metrics"]["total_tasks"] == 60
    if "9999" in str(extra["ts"]):  # valid, but later than --now: ignored with a warning
        assert "2 eval record(s) dated after --now" in proc.stderr, proc.stderr
    else:
        assert "malformed" in proc.stderr and f"{log}:61" in proc.stderr, proc.stderr


BAD_AGENTS = {
    "tools-int": ("profiles:\n  p: {tools_enabled: 5}\n", "profiles.p.tools_enabled must be"),
    "tools-mixed": ("profiles:\n  p: {tools_enabled: [a, 1]}\n", "tools_enabled must be"),
    "schema-string": ("profiles:\n  p: {signature_schema: abc}\n",
                      "profiles.p.signature_schema must be a mapping"),
    "schema-inputs-int": ("profiles:\n  p: {signature_schema: {inputs: 3}}\n",
                          "signature_schema must be"),
    "schema-extra": ("profiles:\n  p: {signature_schema: {x: []}}\n", "signature_schema must"),
    "provenance-list": ("profiles:\n  p: {provenance: [1, 2]}\n",
                        "profiles.p.provenance must be a mapping"),
    "signature-int": ("profiles:\n  p: {signature: 5}\n", "profiles.p.signature must be a str"),
    "model-list": ("profiles:\n  p: {model: [a]}\n", "profiles.p.model must be a string"),
    "candidate-bad": ("profiles:\n  p:\n    candidates:\n      c: {tools_enabled: x}\n",
                      "profiles.p.candidates.c.tools_enabled must be"),
    "deep-nesting": ("profiles: " + "[" * 5000 + "]" * 5000 + "\n", "agents.yaml: "),
    "too-big": ("profiles: {}\n#" + "x" * (1024 * 1024) + "\n", "exceeds the limit"),
}


@pytest.mark.parametrize("name", sorted(BAD_AGENTS))
def test_odd_agents_files_are_one_line_errors(tmp_path: Path, name: str) -> None:
    text, message = BAD_AGENTS[name]
    write_identity("alice")
    (tmp_path / "agents.yaml").write_text(text)
    proc = run_cli("generate", "--evals", str(_log(tmp_path, [])), "--agents",
                   str(tmp_path / "agents.yaml"), "--now", str(NOW), check=1)
    assert message in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "error" in line]) == 1


def _bomb() -> str:
    def level(n: int) -> str:
        if n == 0:
            return '&a0 ["lol"]'
        return f"&a{n} [" + level(n - 1) + "," + ",".join([f"*a{n - 1}"] * 9) + "]"

    return "profiles:\n  p:\n    signature_schema: {inputs: " + level(8) + ", outputs: []}\n"


def test_yaml_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    bomb = _bomb()
    assert len(bomb.encode()) < 600
    write_identity("alice")
    (tmp_path / "bomb.yaml").write_text(bomb)
    started = time.monotonic()
    proc = run_cli("generate", "--evals", str(_log(tmp_path, [])), "--agents",
                   str(tmp_path / "bomb.yaml"), "--now", str(NOW), check=1)
    assert time.monotonic() - started < 10
    assert "alias bomb" in proc.stderr and "internal error" not in proc.stderr


def test_registries_yaml_alias_bomb_is_refused() -> None:
    home = Path(os.environ["AGENTD_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "registries.yaml").write_text(_bomb().replace("profiles", "registries"))
    proc = run_cli("registry", "list", check=1)
    assert "alias bomb" in proc.stderr


def test_expanded_size_counts_every_alias_use() -> None:
    shared = [1, 2, 3]
    assert yamlsafe.expanded_size([shared, shared], 1000) == 1 + 2 * 4
    assert yamlsafe.expanded_size({"a": shared}, 1000) == 1 + 1 + 4
    assert yamlsafe.load(b"a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}
