"""Pure tests of eval parsing, metrics and qualification (SPEC §9, §6)."""

from __future__ import annotations

import json

import pytest

from git_elite.core import evals
from tests.helpers_pipeline import FIXTURES, NOW

RACKET = {"ts": NOW - 60, "task_id": "t-1", "success": True, "profile": "editor",
          "task_type": "file-edit", "tools_used": ["read_file"], "duration_ms": 1200,
          "feedback": "ok", "candidate_id": "c1", "eval_stage": "full"}
TS = {"ts": (NOW - 60) * 1000, "taskId": "t-2", "success": False, "profile": "editor",
      "taskType": "search", "toolsUsed": ["grep"], "durationMs": 800, "feedback": "meh",
      "candidateId": "c1", "evalStage": "canary", "model": "gpt-4.1", "score": 0.2,
      "latencyMs": 800, "costUsd": 0.01, "binKey": "search:0"}


def line(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_both_formats_normalise_to_one_record() -> None:
    records, bad = evals.parse_jsonl(line(RACKET) + b"\n" + line(TS) + b"\n", "x")
    assert bad == []
    a, b = records
    assert (a.ts, a.task_id, a.success, a.task_type, a.candidate_id, a.model) == \
        (NOW - 60, "t-1", True, "file-edit", "c1", None)
    assert (b.ts, b.task_id, b.success, b.task_type, b.candidate_id, b.model) == \
        (NOW - 60, "t-2", False, "search", "c1", "gpt-4.1")
    assert b.duration_ms == 800 and b.tools_used == ("grep",) and b.eval_stage == "canary"


@pytest.mark.parametrize(("value", "expected"), [
    (1767225600, 1767225600), (1767225600123, 1767225600), (1767225600.9, 1767225600),
    ("2026-01-01T00:00:00Z", 1767225600), ("2026-01-01T01:00:00+01:00", 1767225600),
    ("2026-01-01T00:00:00", 1767225600),
], ids=["seconds", "milliseconds", "float-seconds", "iso-z", "iso-offset", "iso-naive-utc"])
def test_ts_forms(value: object, expected: int) -> None:
    assert evals.parse_ts(value) == expected


BAD = [
    ("truncated", b'{"ts": 1, "success": tr', "invalid JSON"),
    ("not-object", b"[1, 2]", "not a JSON object"),
    ("success-string", line({**RACKET, "success": "yes"}), "success"),
    ("no-profile", line({k: v for k, v in RACKET.items() if k != "profile"}), "profile"),
    ("bad-ts", line({**RACKET, "ts": "yesterday"}), "ts is not"),
    ("negative-ts", line({**RACKET, "ts": -5}), "ts is negative"),
    ("bool-ts", line({**RACKET, "ts": True}), "ts is missing"),
    ("bad-duration", line({**RACKET, "duration_ms": "slow"}), "duration_ms"),
    ("bad-tools", line({**RACKET, "tools_used": "grep"}), "tools_used"),
    ("bad-task-type", line({**RACKET, "task_type": "has space"}), "task_type"),
    ("not-utf8", b'{"ts": 1, "x": "\xff"}', "UTF-8"),
]


@pytest.mark.parametrize(("raw", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_malformed_lines_are_reported_with_line_numbers(raw: bytes, reason: str) -> None:
    data = line(RACKET) + b"\n\n" + raw + b"\n" + line(TS) + b"\n"
    records, bad = evals.parse_jsonl(data, "evals.jsonl")
    assert len(records) == 2
    assert [b.line for b in bad] == [3]
    assert reason in bad[0].reason
    assert bad[0].text().startswith("evals.jsonl:3: ")


def test_reasons_never_echo_the_line() -> None:
    secret = "SECRET-FEEDBACK-TEXT"
    _, bad = evals.parse_jsonl(line({**RACKET, "feedback": secret, "success": secret}), "x")
    assert bad and secret not in bad[0].text()


def make(ts: int, success: bool = True, stage: str | None = None, task_type: str = "a",
         duration: float | None = 100) -> evals.EvalRecord:
    return evals.EvalRecord(ts=ts, task_id="t", success=success, profile="p",
                            task_type=task_type, duration_ms=duration, candidate_id=None,
                            eval_stage=stage, model=None)


def test_metrics_windows_relative_to_now() -> None:
    day = evals.DAY
    records = [make(NOW - 8 * day), make(NOW - 7 * day), make(NOW - 7 * day + 1, False),
               make(NOW, stage="critical"), make(NOW - day, stage="critical"),
               make(NOW - 2 * day, False, stage="critical", duration=None)]
    values = evals.metrics(records, NOW)
    assert values == {"success_rate": round(4 / 6, 6), "total_tasks": 6, "avg_duration_ms": 100,
                      "recent_tasks_7d": 4, "critical_failures_24h": 1}
    assert evals.eval_window(records) == {"from_ts": NOW - 8 * day, "to_ts": NOW}


def test_task_type_stats_and_grouping() -> None:
    records = [make(1, task_type="b"), make(2, False, task_type="b"), make(3, task_type="a")]
    assert evals.task_type_stats(records) == {"a": {"success_rate": 1.0, "count": 1},
                                              "b": {"success_rate": 0.5, "count": 2}}
    rec = evals.record_from({**TS, "candidateId": None})
    assert list(evals.group([rec, make(1)])) == [("editor", None, "gpt-4.1"), ("p", None, None)]


@pytest.mark.parametrize(("changes", "reasons"), [
    ({}, []),
    ({"total_tasks": 40}, ["total_tasks 40 < 50"]),
    ({"success_rate": 0.75}, ["success_rate 0.75 < 0.8"]),
    ({"recent_tasks_7d": 9}, ["recent_tasks_7d 9 < 10"]),
    ({"critical_failures_24h": 1}, ["critical_failures_24h 1 > 0"]),
    ({"total_tasks": 49, "recent_tasks_7d": 0},
     ["total_tasks 49 < 50", "recent_tasks_7d 0 < 10"]),
], ids=["qualifies", "few-tasks", "low-success", "few-recent", "critical", "two-reasons"])
def test_qualification_reasons(changes: dict[str, float], reasons: list[str]) -> None:
    values = {"success_rate": 0.8, "total_tasks": 50, "recent_tasks_7d": 10,
              "critical_failures_24h": 0, **changes}
    assert evals.qualify(values, evals.Thresholds()) == reasons


def test_bundled_fixtures_parse_with_their_malformed_lines() -> None:
    racket, bad = evals.parse_jsonl((FIXTURES / "racket" / "evals.jsonl").read_bytes(), "r")
    assert [b.line for b in bad] == [18, 43] and len(racket) == 310
    state = FIXTURES / "ts" / ".chrysalis" / "state"
    ts, bad = evals.parse_jsonl((state / "evals.jsonl").read_bytes(), "t")
    assert [b.line for b in bad] == [61] and len(ts) == 150
    evo, bad = evals.parse_jsonl((state / "evolution" / "evals.jsonl").read_bytes(), "e")
    assert [b.line for b in bad] == [8] and len(evo) == 60


def test_fixtures_equal_their_generator_output(tmp_path: object) -> None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("make_evals", FIXTURES / "make_evals.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = Path(str(tmp_path))
    module.main(out)
    for name in ["racket/evals.jsonl", "ts/.chrysalis/state/evals.jsonl",
                 "ts/.chrysalis/state/evolution/evals.jsonl", "attester/evals.jsonl",
                 "attester/.chrysalis/state/evals.jsonl"]:
        assert (out / name).read_bytes() == (FIXTURES / name).read_bytes(), name
