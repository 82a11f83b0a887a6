"""`git elite verify-file` on bad document files: exit 1, one line naming file and rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_documents import BAD, raw_kind

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "docs"


@pytest.mark.parametrize("raw,rule", list(BAD.values()), ids=list(BAD))
def test_verify_file_refuses(tmp_path: Path, raw: bytes, rule: str) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(raw)
    kind = raw_kind(raw)
    args = ["verify-file", *(["--type", kind] if kind else []), str(path)]
    proc = run_cli(*args, check=1)
    lines = proc.stdout.splitlines()
    assert lines and all(line.startswith(f"{path}: [") for line in lines)
    assert any(line.startswith(f"{path}: [{rule}] ") for line in lines)
    assert "Traceback" not in proc.stderr
    report = json.loads(run_cli(*args[:1], "--json", *args[1:], check=1).stdout)
    assert report["ok"] is False and rule in {p["rule"] for p in report["problems"]}


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("bad-*.json")))
def test_committed_bad_fixtures_refused(name: str) -> None:
    proc = run_cli("verify-file", "--type", "manifest", str(FIXTURES / name), check=1)
    assert proc.stdout.count("\n") == 1 and name in proc.stdout


def test_good_fixtures_pass_together() -> None:
    files = [str(FIXTURES / n) for n in ("manifest.json", "endorsement.json", "tombstone.json",
                                         "rotation.json", "registry-identity.json")]
    proc = run_cli("verify-file", "--json", *files)
    assert json.loads(proc.stdout) == {"ok": True, "problems": []}


def test_missing_file_one_line(tmp_path: Path) -> None:
    proc = run_cli("verify-file", str(tmp_path / "nope.json"), check=1)
    assert proc.stderr.count("\n") == 1 and "nope.json" in proc.stderr
