"""Evals → agent configs → signed manifests (SPEC §5.1, §5.2, §9). Pure: values in,
documents out. What it reads and writes (the agents file, identity.json, the repository's
repo_ref, $AGENTD_HOME/elite/) is edges/agent_files.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from git_elite import __version__
from git_elite.core import canonical, documents, evals, keys
from git_elite.core.errors import EliteError

if TYPE_CHECKING:
    from pathlib import Path

EMPTY_HASH = "sha256:" + hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Candidate:
    """One (profile, candidate_id, model) group with its config, metrics and verdict."""

    key: evals.GroupKey
    config: dict[str, Any]
    inferred: bool
    metrics: dict[str, Any]
    task_type_stats: dict[str, dict[str, Any]]
    eval_window: dict[str, int]
    reasons: list[str]
    provenance: dict[str, Any]
    evals_sha256: str = ""

    @property
    def agent_id(self) -> str:
        return agent_id(self.config)

    @property
    def qualified(self) -> bool:
        return not self.reasons


def fingerprint(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def agent_id(config: dict[str, Any]) -> str:
    """hex(sha256(JCS(config))) — SPEC §5.2."""
    return hashlib.sha256(canonical.canonicalize(config)).hexdigest()


def config_for(key: evals.GroupKey, agents: dict[str, dict[str, Any]] | None
               ) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(config, provenance, inferred) for one group. Inferred configs are deterministic:
    signature/module "unknown", empty schema and tools, fingerprints of empty content."""
    profile, candidate, model = key
    entry = (agents or {}).get(profile)
    inferred = entry is None
    merged = dict(entry or {})
    merged.update((entry or {}).get("candidates", {}).get(candidate or "", {}))
    schema = merged.get("signature_schema") or {"inputs": [], "outputs": []}
    config: dict[str, Any] = {
        "signature": str(merged.get("signature", "unknown")),
        "signature_schema": {"inputs": list(schema.get("inputs", [])),
                             "outputs": list(schema.get("outputs", []))},
        "module": str(merged.get("module", "unknown")), "profile": profile,
        "system_prompt_hash": merged.get("system_prompt", EMPTY_HASH),
        "demos_hash": merged.get("demos", EMPTY_HASH),
        "tools_enabled": [str(t) for t in merged.get("tools_enabled", [])],
    }
    model = model or merged.get("model")
    if model:
        config["model"] = str(model)
    if candidate:
        config["candidate_id"] = candidate
    provenance = {str(k): v for k, v in (merged.get("provenance") or {}).items()}
    return config, provenance, inferred


def plan(records: list[evals.EvalRecord], agents: dict[str, dict[str, Any]] | None, now: int,
         limits: evals.Thresholds) -> list[Candidate]:
    """Every agent, with its config, metrics and the reasons it does not qualify. Groups
    whose configs coincide (records without a model and records naming the agents file's
    model) are one agent: exactly the records `evals.matches` selects for its config."""
    merged: dict[str, tuple[evals.GroupKey, dict[str, Any], dict[str, Any], bool,
                            list[evals.EvalRecord]]] = {}
    for key, group in evals.group(records).items():
        config, provenance, inferred = config_for(key, agents)
        found = merged.setdefault(agent_id(config), (key, config, provenance, inferred, []))
        found[4].extend(group)
    return [measure(key, config, provenance, inferred, group, now, limits)
            for key, config, provenance, inferred, group in merged.values()]


def measure(key: evals.GroupKey, config: dict[str, Any], provenance: dict[str, Any],
            inferred: bool, records: list[evals.EvalRecord], now: int,
            limits: evals.Thresholds) -> Candidate:
    """One agent's numbers from its records (the metric code `attest` shares)."""
    values = evals.metrics(records, now)
    return Candidate(key, config, inferred, values, evals.task_type_stats(records),
                     evals.eval_window(records), evals.qualify(values, limits), provenance,
                     evals.digest(records))


def build_manifest(candidate: Candidate, owner_did: str, repo_ref: dict[str, Any],
                   now: int) -> dict[str, Any]:
    """The unsigned manifest body (SPEC §5.1) of one candidate."""
    config = candidate.config
    provenance = {"generator": f"git-elite {__version__}", **candidate.provenance}
    if "model" in config:
        provenance["model"] = config["model"]
    if candidate.evals_sha256:  # what verify-evals checks: these records, measured at `now`
        provenance["evals_sha256"] = candidate.evals_sha256
        provenance["measured_at"] = now
    return {
        "schema_version": 1, "agent_id": candidate.agent_id, "owner_did": owner_did,
        "repo_ref": repo_ref, "signature": config["signature"], "module": config["module"],
        "profile": config["profile"], "system_prompt_fingerprint": config["system_prompt_hash"],
        "demos_fingerprint": config["demos_hash"], "metrics": candidate.metrics,
        "task_type_stats": candidate.task_type_stats, "provenance": provenance,
        "created_at": now, "eval_window": candidate.eval_window,
    }


def recordable_url(url: str) -> str:
    """The origin URL as a manifest may record it (SPEC §5.1): userinfo, query and fragment
    stripped; refused when what is left still looks like a credential (it would be signed
    into repo_ref, and a registry never forgets a pushed commit)."""
    from git_elite.core.safetext import clean_url, secret_in

    clean = clean_url(url)
    secret = secret_in(clean)
    if secret is not None:
        shown = clean.replace(secret, secret[:4] + "<redacted>")
        raise EliteError(f"remote.origin.url {shown} still looks like it carries a "
                         "credential; it would be signed into repo_ref. Set a URL without "
                         "one: git remote set-url origin https://host/owner/repo.git")
    return clean


def sign_agent(candidate: Candidate, key: keys.Keypair, repo_ref: dict[str, Any], now: int
               ) -> dict[str, Any]:
    """The signed manifest, checked against the schema and cross-field rules."""
    manifest = documents.sign(build_manifest(candidate, key.did, repo_ref, now), key,
                              documents.MANIFEST)
    raw = documents.to_bytes(manifest)
    _, problems = documents.check(raw, f"{candidate.agent_id}/manifest.json", documents.MANIFEST)
    if problems:
        raise EliteError(problems[0].line())
    return manifest


def summary(candidate: Candidate, path: Path | None) -> dict[str, Any]:
    """The `generate --json` row (SPEC §10)."""
    profile, candidate_id, model = candidate.key
    return {"agent_id": candidate.agent_id, "profile": profile, "candidate_id": candidate_id,
            "model": candidate.config.get("model", model), "qualified": candidate.qualified,
            "reasons": candidate.reasons, "metrics": dict(candidate.metrics),
            "path": str(path) if path else None}
