"""Attestations (SPEC §5.8): another DID's signed measurement of an agent. Pure core.

The attester runs the agent config on its own tasks and measures it with the same metric
code as `generate` (`generate.measure`), over the records of its own eval logs that match
the config (`evals.matches`). `evals_sha256` binds the numbers to exactly those records.
This module builds and compares documents; `commands/attest.py` signs, saves and pushes,
`commands/verify_evals.py` rechecks a document against logs, and `weigh` gives readers the
attestations by DIDs they trust.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from git_elite.core import documents, evals
from git_elite.core.attest_summary import Summary, Weighed
from git_elite.core.generate import Candidate, measure

ALWAYS = evals.Thresholds(0.0, 0, 0, 2**53)  # an attestation has no qualification step


def path(agent_id: str, attester_nid: str) -> str:
    """Where an attestation lives (SPEC §4)."""
    from git_elite.core import layout

    return layout.attestation_path(agent_id, attester_nid)


def select(records: Iterable[evals.EvalRecord], config: Mapping[str, Any], now: int
           ) -> list[evals.EvalRecord]:
    """The records that measure `config`, dated at or before `now` (as `generate` does)."""
    return [r for r in records if r.ts <= now and evals.matches(r, dict(config))]


def measured(config: Mapping[str, Any], records: list[evals.EvalRecord], now: int
             ) -> Candidate:
    """The agent's numbers from `records` (already selected), with `generate`'s code."""
    key = (str(config.get("profile")), config.get("candidate_id"), config.get("model"))
    return measure(key, dict(config), {}, False, records, now, ALWAYS)


def build(agent_id: str, found: Candidate, suite: str, now: int) -> dict[str, Any]:
    """The unsigned attestation (the attester field is filled by `documents.sign`)."""
    return {"type": documents.ATTESTATION, "schema_version": 1, "agent_id": agent_id,
            "metrics": dict(found.metrics), "task_type_stats": dict(found.task_type_stats),
            "method": {"suite": suite, "evals_sha256": found.evals_sha256},
            "eval_window": dict(found.eval_window), "created_at": now, "revoked": False}


def from_manifest(manifest: Mapping[str, Any], suite: str, now: int) -> dict[str, Any]:
    """The unsigned attestation of a manifest's own numbers: someone who measured an agent
    config that another DID already published (`publish --as-attestation`)."""
    provenance = manifest.get("provenance") or {}
    return {"type": documents.ATTESTATION, "schema_version": 1,
            "agent_id": manifest["agent_id"], "metrics": dict(manifest["metrics"]),
            "task_type_stats": dict(manifest.get("task_type_stats") or {}),
            "method": {"suite": suite, "evals_sha256": provenance.get("evals_sha256", "")},
            "eval_window": dict(manifest["eval_window"]), "created_at": now, "revoked": False}


def revocation(agent_id: str, now: int, previous_created: int) -> dict[str, Any]:
    """The unsigned document that withdraws an attestation (a later version, revoked)."""
    return {"type": documents.ATTESTATION, "schema_version": 1, "agent_id": agent_id,
            "created_at": max(now, previous_created + 1), "revoked": True}


# comparison (attest's table, verify-evals) -------------------------------------------------
COMPARED = ("success_rate", "total_tasks", "avg_duration_ms", "recent_tasks_7d",
            "critical_failures_24h")


def side_by_side(owner: Mapping[str, Any], mine: Mapping[str, Any]) -> list[list[Any]]:
    """Rows [what, owner's, attester's] of the metrics and of every task type either has."""
    rows: list[list[Any]] = []
    for name in COMPARED:
        theirs, ours = owner.get("metrics", {}).get(name), mine.get("metrics", {}).get(name)
        if theirs is not None or ours is not None:
            rows.append([name, _text(theirs), _text(ours)])
    types = sorted(set(owner.get("task_type_stats", {})) | set(mine.get("task_type_stats", {})))
    for name in types:
        a = owner.get("task_type_stats", {}).get(name)
        b = mine.get("task_type_stats", {}).get(name)
        rows.append([f"{name} (rate, count)", _pair(a), _pair(b)])
    return rows


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def _pair(stats: Any) -> str:
    return "-" if not isinstance(stats, dict) else f"{stats['success_rate']}, {stats['count']}"


def differences(recorded: Mapping[str, Any], found: Candidate) -> list[str]:
    """What differs between a document's recorded numbers and a recomputation, exactly."""
    out: list[str] = []
    digest = _recorded_digest(recorded)
    if digest != found.evals_sha256:
        out.append(f"evals_sha256: recorded {digest or '(none)'}, logs give "
                   f"{found.evals_sha256}")
    metrics = recorded.get("metrics", {})
    for name in COMPARED:
        if name in metrics and metrics[name] != found.metrics[name]:
            out.append(f"metrics.{name}: recorded {metrics[name]}, logs give "
                       f"{found.metrics[name]}")
    out += _type_differences(recorded.get("task_type_stats", {}), found.task_type_stats)
    window = recorded.get("eval_window")
    if window is not None and dict(window) != found.eval_window:
        out.append(f"eval_window: recorded {_window(window)}, logs give "
                   f"{_window(found.eval_window)}")
    return out


@dataclass(frozen=True)
class Recheck:
    """verify-evals' answer: the recomputation, what differs, and how records were chosen."""

    found: Candidate | None
    differences: tuple[str, ...]
    note: str = ""


def measured_at(body: Mapping[str, Any]) -> int:
    """When a document's time-relative counts were taken: a manifest's
    provenance.measured_at (publish may re-sign it later), else created_at."""
    value = body.get("provenance", {}).get("measured_at") if isinstance(
        body.get("provenance"), dict) else None
    return value if type(value) is int else int(body.get("created_at", 0))


def recheck(body: Mapping[str, Any], config: Mapping[str, Any],
            records: Sequence[evals.EvalRecord], now: int) -> Recheck:
    """Recompute a document's numbers from logs. Logs that grew since are fine when the
    records inside the document's eval_window give exactly its numbers (said in `note`)."""
    chosen = select(records, config, now)
    if not chosen:
        return Recheck(None, (f"no record in the logs matches profile "
                              f"{config.get('profile')!r}, candidate "
                              f"{config.get('candidate_id')!r}, model {config.get('model')!r}",))
    found = measured(config, chosen, now)
    wrong = differences(body, found)
    window = body.get("eval_window")
    if wrong and isinstance(window, dict):
        inside = [r for r in chosen if window.get("from_ts", 0) <= r.ts <= window.get("to_ts", 0)]
        if inside and len(inside) < len(chosen):
            narrow = measured(config, inside, now)
            if not differences(body, narrow):
                return Recheck(narrow, (), f"computed from the {len(inside)} matching records "
                               f"inside its eval_window; the logs hold {len(chosen) - len(inside)}"
                               " more")
    return Recheck(found, tuple(wrong))


def _recorded_digest(body: Mapping[str, Any]) -> str:
    if body.get("type") == documents.ATTESTATION:
        return str(body.get("method", {}).get("evals_sha256", ""))
    return str(body.get("provenance", {}).get("evals_sha256", ""))


def _type_differences(recorded: Mapping[str, Any], found: Mapping[str, Any]) -> list[str]:
    out = []
    for name in sorted(set(recorded) | set(found)):
        a, b = recorded.get(name), found.get(name)
        if a != b:
            out.append(f"task_type_stats.{name}: recorded {_pair(a) if a else 'absent'}, "
                       f"logs give {_pair(b) if b else 'absent'}")
    return out


def _window(window: Mapping[str, Any]) -> str:
    return f"{window.get('from_ts')}..{window.get('to_ts')}"


# readers: the attestations a reader trusts ------------------------------------------------
def live(docs: Iterable[documents.Document]) -> list[documents.Document]:
    """The attestations that are not revoked."""
    return [d for d in docs if d.body.get("revoked") is False]


def weigh(docs: Sequence[documents.Document], trusted: Mapping[str, Sequence[str]],
          task_type: str | None) -> Summary:
    """The live attestations (already verified by the caller) as one reader weighs them:
    only attesters in `trusted` (did -> trust path, for this task type) count; for a task
    type, the attestation's numbers for that type (absent: it says nothing about it)."""
    alive = live(docs)
    chosen: list[Weighed] = []
    for doc in sorted(alive, key=lambda d: str(d.body["attester"])):
        attester = str(doc.body["attester"])
        if attester not in trusted:
            continue
        numbers = _numbers(doc.body, task_type)
        if numbers is not None:
            chosen.append(Weighed(attester, *numbers, doc.created_at))
    return Summary(len(alive), tuple(chosen))


def _numbers(body: Mapping[str, Any], task_type: str | None) -> tuple[float, int, int] | None:
    metrics = body["metrics"]
    recent = int(metrics.get("recent_tasks_7d", 0))
    if task_type is None:
        return float(metrics["success_rate"]), int(metrics["total_tasks"]), recent
    stats = body.get("task_type_stats", {}).get(task_type)
    if stats is None:
        return None
    return float(stats["success_rate"]), int(stats["count"]), min(recent, int(stats["count"]))
