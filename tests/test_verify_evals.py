"""evals_sha256 (SPEC §5.8) and `git elite verify-evals`: the digest's exact definition,
generate recording it, and the command recomputing numbers from real logs."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import rfc8785

from git_elite.core import attest, documents, evals
from tests.conftest import run_cli
from tests.helpers_pipeline import FIXTURES, NOW, fixture_args, write_identity

RACKET = FIXTURES / "racket" / "evals.jsonl"
ATTESTER = FIXTURES / "attester"


def lines(*records: dict[str, object]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


REC_A = {"ts": NOW - 10, "task_id": "a", "success": True, "profile": "editor",
         "task_type": "file-edit", "duration_ms": 1.5e3, "candidate_id": "c"}
REC_B = {"taskId": "b", "ts": NOW - 20, "success": False, "profile": "editor",
         "taskType": "search", "durationMs": 900, "candidateId": "c", "model": "m"}


def test_digest_is_sorted_jcs_lines() -> None:
    """sha256 over each record's RFC 8785 bytes + "\\n", sorted bytewise (an independent
    canonicalizer gives the same), whatever the order and spelling of the log lines."""
    records, bad = evals.parse_jsonl(lines(REC_A, REC_B), "log")
    assert bad == []
    expected = hashlib.sha256(b"".join(sorted(rfc8785.dumps(r) + b"\n"
                                              for r in (REC_A, REC_B)))).hexdigest()
    assert evals.digest(records) == expected
    respelled = (json.dumps(REC_B, indent=1).replace("\n", "") + "\n"
                 + json.dumps(dict(reversed(list(REC_A.items())))) + "\n").encode()
    again, _ = evals.parse_jsonl(respelled, "log")
    assert evals.digest(again) == expected


@pytest.mark.parametrize("line,reason", [
    (b'{"ts": 1, "success": true, "profile": "p", "profile": "q"}', "duplicate key"),
    (b'{"ts": 1, "success": true, "profile": "p", "score": NaN}', "canonicalized"),
    (b'{"ts": 1, "success": true, "profile": "p", "n": 9007199254740993}', "canonicalized"),
], ids=["duplicate-key", "nan", "int-beyond-2-53"])
def test_lines_without_one_canonical_form_are_bad_lines(line: bytes, reason: str) -> None:
    records, bad = evals.parse_jsonl(line + b"\n", "log")
    assert records == [] and len(bad) == 1 and reason in bad[0].reason


@pytest.mark.parametrize("record,config,expected", [
    (REC_A, {"profile": "editor", "candidate_id": "c"}, True),
    (REC_A, {"profile": "editor", "candidate_id": "c", "model": "m"}, True),
    (REC_A, {"profile": "editor"}, False),
    (REC_A, {"profile": "coder", "candidate_id": "c"}, False),
    (REC_B, {"profile": "editor", "candidate_id": "c", "model": "m"}, True),
    (REC_B, {"profile": "editor", "candidate_id": "c", "model": "other"}, False),
    (REC_B, {"profile": "editor", "candidate_id": "c"}, False),
], ids=["same", "no-model-takes-configs", "candidate-differs", "profile-differs",
        "model-same", "model-differs", "config-without-model"])
def test_matches(record: dict[str, object], config: dict[str, object], expected: bool) -> None:
    parsed = evals.parse_jsonl(lines(record), "log")[0][0]
    assert evals.matches(parsed, config) is expected


def _generate(tmp_path: Path) -> dict[str, Path]:
    write_identity("alice")
    proc = run_cli("generate", *fixture_args(), "--json", cwd=tmp_path)
    return {f"{r['profile']}/{r['candidate_id']}": Path(r["path"])
            for r in json.loads(proc.stdout) if r["path"]}


def test_generate_records_digest_of_exactly_the_agents_records(tmp_path: Path) -> None:
    folder = _generate(tmp_path)["editor/cand-a"]
    manifest = json.loads((folder / "manifest.json").read_bytes())
    config = json.loads((folder / "profile.json").read_bytes())
    records, _ = evals.parse_jsonl(RACKET.read_bytes(), "racket")
    mine = [r for r in records if evals.matches(r, config)]
    assert len(mine) == manifest["metrics"]["total_tasks"] == 120
    assert manifest["provenance"]["evals_sha256"] == evals.digest(mine)
    assert manifest["provenance"]["measured_at"] == NOW


def test_verify_evals_accepts_the_owners_own_logs(tmp_path: Path) -> None:
    for folder in _generate(tmp_path).values():
        proc = run_cli("verify-evals", str(folder / "manifest.json"), str(RACKET),
                       str(FIXTURES / "ts"), "--json")
        out = json.loads(proc.stdout)
        assert out["ok"] is True and out["differences"] == [], out


def test_verify_evals_names_every_difference(tmp_path: Path) -> None:
    manifest = _generate(tmp_path)["editor/cand-a"] / "manifest.json"
    proc = run_cli("verify-evals", str(manifest), str(ATTESTER / "evals.jsonl"), check=1)
    lines_out = [line.split(": ", 1)[1] for line in proc.stdout.splitlines()]
    fields = [line.split(":", 1)[0] for line in lines_out]
    assert fields[:3] == ["evals_sha256", "metrics.success_rate", "metrics.total_tasks"]
    assert "metrics.total_tasks: recorded 120, logs give 90" in lines_out
    assert fields[-1] == "eval_window"


def test_verify_evals_one_changed_record_changes_the_digest(tmp_path: Path) -> None:
    """Flipping the success of one line: the digest and the rate differ, nothing else."""
    manifest = _generate(tmp_path)["editor/cand-a"] / "manifest.json"
    data = RACKET.read_bytes().split(b"\n")
    at = next(i for i, line in enumerate(data) if b'"cand-a"' in line and b'"success": false'
              in line)
    data[at] = data[at].replace(b'"success": false', b'"success": true')
    log = tmp_path / "evals.jsonl"
    log.write_bytes(b"\n".join(data))
    proc = run_cli("verify-evals", str(manifest), str(log), str(FIXTURES / "ts"), check=1)
    fields = sorted(line.split(": ", 2)[1] for line in proc.stdout.splitlines())
    assert fields[0] == "evals_sha256" and "metrics.success_rate" in fields
    assert "metrics.total_tasks" not in fields


def test_verify_evals_grown_logs_use_the_eval_window(tmp_path: Path) -> None:
    manifest = _generate(tmp_path)["editor/cand-a"] / "manifest.json"
    log = tmp_path / "grown.jsonl"
    inside = {"ts": NOW - 86400, "task_id": "x", "success": False, "profile": "editor",
              "candidate_id": "cand-a", "task_type": "search"}
    for outside in (NOW - 90 * 86400, NOW - 5):  # before and after the window
        log.write_bytes(RACKET.read_bytes() + lines({**inside, "ts": outside}))
        proc = run_cli("verify-evals", str(manifest), str(log))
        assert "inside its eval_window; the logs hold 1 more" in proc.stderr
    log.write_bytes(RACKET.read_bytes() + lines(inside))  # inside the window: a real change
    run_cli("verify-evals", str(manifest), str(log), check=1)


@pytest.mark.parametrize("case,message", [
    ("no-profile", "no profile.json beside it"),
    ("wrong-profile", "[binding] sha256(JCS(profile))"),
    ("forged", "[signature]"),
    ("endorsement", "has no eval numbers"),
], ids=["no-profile", "wrong-profile", "forged", "endorsement"])
def test_verify_evals_refuses(tmp_path: Path, case: str, message: str) -> None:
    folders = _generate(tmp_path)
    target = tmp_path / "copy"
    shutil.copytree(folders["editor/cand-a"], target)
    manifest = target / "manifest.json"
    if case == "no-profile":
        (target / "profile.json").unlink()
    elif case == "wrong-profile":
        shutil.copy(folders["coder/gen-3"] / "profile.json", target / "profile.json")
    elif case == "forged":
        body = json.loads(manifest.read_bytes())
        body["metrics"]["success_rate"] = 0.99
        manifest.write_bytes(documents.to_bytes(body))
    else:
        manifest.write_bytes((FIXTURES.parent / "docs" / "endorsement.json").read_bytes())
    proc = run_cli("verify-evals", str(manifest), str(RACKET), check=1)
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 6


def test_recheck_of_an_attestation_uses_its_own_fields() -> None:
    """The attestation keeps its digest under method.evals_sha256 and is measured at its
    created_at; the same code recomputes it exactly."""
    records, _ = evals.parse_jsonl(ATTESTER.joinpath("evals.jsonl").read_bytes(), "a")
    config = {"profile": "editor", "candidate_id": "cand-a", "signature": "x"}
    chosen = attest.select(records, config, NOW)
    body = attest.build("ab" * 32, attest.measured(config, chosen, NOW), "suite", NOW)
    assert body["method"]["evals_sha256"] == evals.digest(chosen)
    assert attest.recheck(body, config, records, NOW).differences == ()
    body["metrics"]["total_tasks"] += 1
    assert attest.recheck(body, config, records, NOW).differences == (
        f"metrics.total_tasks: recorded {len(chosen) + 1}, logs give {len(chosen)}",)
