"""Chrysalis Forge eval logs (SPEC §9): parsing both real formats, metrics, qualification.

Pure: bytes in, values out. Two formats are read line by line into one `EvalRecord`:

- Racket `~/.agentd/evals.jsonl` (snake_case: ts, task_id, success, profile, task_type,
  tools_used, duration_ms, feedback, candidate_id, eval_stage);
- TypeScript `.chrysalis/state/evals.jsonl` and `.chrysalis/state/evolution/evals.jsonl`
  (camelCase: taskId, taskType, toolsUsed, durationMs, candidateId, evalStage, plus model,
  score, latencyMs, costUsd, binKey).

`ts` is accepted as seconds, milliseconds (any number ≥ 1e11, i.e. after 1973 in ms and
after year 5138 in s) or an ISO-8601 string (no zone = UTC); it is stored as UTC seconds.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from git_elite.core import canonical
from git_elite.core.errors import EliteError

MS_THRESHOLD = 100_000_000_000
DAY = 86_400
TASK_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+-]{0,63}")  # fullmatch: no "x\n"
GroupKey = tuple[str, str | None, str | None]


@dataclass(frozen=True)
class EvalRecord:
    """One evaluation. task_id, feedback and tools_used are private: never exported."""

    ts: int
    task_id: str
    success: bool
    profile: str
    task_type: str
    duration_ms: float | None
    candidate_id: str | None
    eval_stage: str | None
    model: str | None
    tools_used: tuple[str, ...] = ()
    feedback: str = ""
    canonical: bytes = b""  # the line's JSON object as RFC 8785 bytes (for evals_sha256)

    @property
    def key(self) -> GroupKey:
        return (self.profile, self.candidate_id, self.model)


@dataclass(frozen=True)
class BadLine:
    source: str
    line: int
    reason: str

    def text(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class Thresholds:
    min_success: float = 0.80
    min_tasks: int = 50
    min_recent: int = 10
    max_critical: int = 0


MAX_SAFE = 2**53 - 1  # every number a manifest may carry (SPEC §3)


def parse_ts(value: Any) -> int:
    """UTC seconds from seconds, milliseconds or an ISO-8601 string, 1970 to 2^53−1 s."""
    if type(value) in (int, float):
        if not math.isfinite(value) or value < 0:
            raise ValueError("ts is negative or not a number")
        seconds = int(value // 1000) if value >= MS_THRESHOLD else int(value)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("ts is not a number or an ISO-8601 time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        seconds = int(parsed.timestamp())
    else:
        raise ValueError("ts is missing or not a number or string")
    if not 0 <= seconds <= MAX_SAFE:
        raise ValueError("ts is before 1970 or too far in the future")
    return seconds


def _get(obj: dict[str, Any], snake: str, camel: str) -> Any:
    return obj[snake] if snake in obj else obj.get(camel)


def _opt_str(obj: dict[str, Any], snake: str, camel: str) -> str | None:
    value = _get(obj, snake, camel)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{snake} is not a string")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key in a JSON object (ambiguous for evals_sha256)")
    return out


def record_from(obj: Any) -> EvalRecord:
    """One parsed JSON line → EvalRecord; ValueError (naming the field, never its value)."""
    if not isinstance(obj, dict):
        raise ValueError("line is not a JSON object")
    success = obj.get("success")
    if type(success) is not bool:
        raise ValueError("success is missing or not a boolean")
    profile = obj.get("profile")
    if not isinstance(profile, str) or not profile:
        raise ValueError("profile is missing or not a string")
    task_type = _opt_str(obj, "task_type", "taskType") or "unknown"
    if not TASK_TYPE.fullmatch(task_type):
        raise ValueError("task_type is not a valid name ([A-Za-z0-9._:/+-], ≤ 64)")
    duration = _get(obj, "duration_ms", "durationMs")
    if duration is not None and (type(duration) not in (int, float)
                                 or not math.isfinite(duration) or not
                                 0 <= duration <= MAX_SAFE):
        raise ValueError("duration_ms is not a number from 0 to 2^53-1")
    tools = _get(obj, "tools_used", "toolsUsed") or []
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise ValueError("tools_used is not a list of strings")
    feedback = obj.get("feedback")
    return EvalRecord(
        ts=parse_ts(obj.get("ts")), task_id=str(_get(obj, "task_id", "taskId") or ""),
        success=success, profile=profile, task_type=task_type, duration_ms=duration,
        candidate_id=_opt_str(obj, "candidate_id", "candidateId"),
        eval_stage=_opt_str(obj, "eval_stage", "evalStage"), model=_opt_str(obj, "model", "model"),
        tools_used=tuple(tools), feedback=feedback if isinstance(feedback, str) else "")


def parse_jsonl(data: bytes, source: str) -> tuple[list[EvalRecord], list[BadLine]]:
    """Every well-formed line as a record; every other non-blank line as a BadLine."""
    records: list[EvalRecord] = []
    bad: list[BadLine] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
            record = record_from(obj)
            records.append(_with_canonical(record, obj))
        except EliteError as err:
            bad.append(BadLine(source, number, f"cannot be canonicalized: {err.message}"))
        except UnicodeDecodeError:
            bad.append(BadLine(source, number, "not valid UTF-8"))
        except json.JSONDecodeError as err:
            bad.append(BadLine(source, number, json_reason(err)))
        except (ValueError, RecursionError) as err:
            bad.append(BadLine(source, number, str(err)))
    return records, bad


def json_reason(err: json.JSONDecodeError) -> str:
    """json's message as a whole sentence: its `msg` alone stops at "starting at"."""
    where = f"column {err.colno}" if err.msg.endswith(" at") else f"at column {err.colno}"
    cut = " (the line is cut short)" if err.msg.startswith("Unterminated") else ""
    return f"invalid JSON: {err.msg} {where}{cut}"


def _with_canonical(record: EvalRecord, obj: Any) -> EvalRecord:
    from dataclasses import replace

    return replace(record, canonical=canonical.canonicalize(obj))


def digest(records: Iterable[EvalRecord]) -> str:
    """evals_sha256 (SPEC §5.8): sha256 over each record's RFC 8785 bytes followed by "\n",
    the lines sorted bytewise (so the order of the logs does not matter)."""
    lines = sorted(r.canonical + b"\n" for r in records)
    return hashlib.sha256(b"".join(lines)).hexdigest()


def matches(record: EvalRecord, config: dict[str, Any]) -> bool:
    """Whether `record` measures the agent config `config`: same profile, same candidate_id
    (both absent counts as the same), and the same model — a record that names no model
    (Racket logs never do) takes the config's, as `generate` does from the agents file."""
    return (record.profile == config.get("profile")
            and record.candidate_id == config.get("candidate_id")
            and (record.model or config.get("model")) == config.get("model"))


def group(records: Iterable[EvalRecord]) -> dict[GroupKey, list[EvalRecord]]:
    """Records by (profile, candidate_id, model), keys in a deterministic order."""
    out: dict[GroupKey, list[EvalRecord]] = {}
    for record in records:
        out.setdefault(record.key, []).append(record)
    return {k: out[k] for k in sorted(out, key=lambda k: (k[0], k[1] or "", k[2] or ""))}


def metrics(records: list[EvalRecord], now: int) -> dict[str, Any]:
    """SPEC §9 metrics. recent_tasks_7d: ts in (now − 7 d, now]; critical_failures_24h:
    eval_stage == "critical" with ts in (now − 24 h, now]."""
    total = len(records)
    successes = sum(1 for r in records if r.success)
    durations = [r.duration_ms for r in records if r.duration_ms is not None]
    return {
        "success_rate": round(successes / total, 6) if total else 0,
        "total_tasks": total,
        "avg_duration_ms": round(sum(durations) / len(durations)) if durations else 0,
        "recent_tasks_7d": sum(1 for r in records if now - 7 * DAY < r.ts <= now),
        "critical_failures_24h": sum(1 for r in records if r.eval_stage == "critical"
                                     and now - DAY < r.ts <= now),
    }


def task_type_stats(records: list[EvalRecord]) -> dict[str, dict[str, Any]]:
    counts: dict[str, list[int]] = {}
    for record in records:
        pair = counts.setdefault(record.task_type, [0, 0])
        pair[0] += 1
        pair[1] += record.success
    return {name: {"success_rate": round(ok / n, 6), "count": n}
            for name, (n, ok) in sorted(counts.items())}


def eval_window(records: list[EvalRecord]) -> dict[str, int]:
    stamps = [r.ts for r in records]
    return {"from_ts": min(stamps), "to_ts": max(stamps)}


def qualify(values: dict[str, Any], limits: Thresholds) -> list[str]:
    """Reasons an agent does not qualify (SPEC §6); empty when it does."""
    reasons = []
    if values["success_rate"] < limits.min_success:
        reasons.append(f"success_rate {values['success_rate']} < {limits.min_success}")
    if values["total_tasks"] < limits.min_tasks:
        reasons.append(f"total_tasks {values['total_tasks']} < {limits.min_tasks}")
    if values["recent_tasks_7d"] < limits.min_recent:
        reasons.append(f"recent_tasks_7d {values['recent_tasks_7d']} < {limits.min_recent}")
    if values["critical_failures_24h"] > limits.max_critical:
        reasons.append(f"critical_failures_24h {values['critical_failures_24h']} > "
                       f"{limits.max_critical}")
    return reasons
