"""`git elite verify-evals FILE LOG… [--config PROFILE] [--now TS] [--json]` (SPEC §5.8, §10)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import click

from git_elite.core import attest, canonical, documents, jsonstrict
from git_elite.core.errors import EliteError, ManifestError
from git_elite.edges import output, store
from git_elite.edges.generating import expand, read_all

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.command("verify-evals", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("logs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              metavar="PROFILE", help="The agent config (profile.json). Default: "
              "profile.json beside FILE, or two levels up for an attestation.")
@click.option("--now", type=int, help="Time the recent/critical counts were taken (default: "
              "the manifest's provenance.measured_at, else the document's created_at).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(file: Path, logs: tuple[Path, ...], config_path: Path | None, now: int | None,
            as_json: bool) -> int:
    """Check a manifest's or attestation's numbers and evals_sha256 against eval logs.

    Recomputes the metrics, task-type stats, eval window and evals_sha256 from the records
    of LOG… (either Chrysalis format, files or directories) that match the agent config,
    with the same code as `generate` and `attest`, and prints every difference. Exit 1
    when anything differs (or the document itself is invalid).

    \b
    Examples:
      git elite verify-evals ~/.agentd/elite/6ab8.../manifest.json evals.jsonl
      git elite verify-evals agents/6a/6ab8.../attestations/z6Mk.json run/ --json
    """
    doc = _document(file)
    config = _config(file, config_path, str(doc.body["agent_id"]))
    records = read_all([p for log in logs for p in expand(log)], strict=False)
    when = attest.measured_at(doc.body) if now is None else now
    if doc.body.get("revoked") is True:
        raise ManifestError(f"{file}: a revoked attestation carries no numbers to check")
    result = attest.recheck(doc.body, config, records, when)
    _report(file, result, as_json)
    return 1 if result.differences else 0


def _document(file: Path) -> documents.Document:
    """The manifest or attestation, fully checked (a forged document is not worth checking)."""
    doc, problems = documents.check(store.read_bytes(file), str(file))
    if problems or doc is None:
        raise ManifestError(problems[0].line() if problems else f"{file}: unreadable")
    if doc.kind not in (documents.MANIFEST, documents.ATTESTATION):
        raise ManifestError(f"{file}: a {doc.kind} has no eval numbers (give a manifest or "
                            "an attestation)")
    return doc


def _config(file: Path, given: Path | None, agent_id: str) -> dict[str, Any]:
    candidates = [given] if given else [file.parent / "profile.json",
                                        file.parent.parent / "profile.json"]
    path = next((p for p in candidates if p is not None and p.is_file()), None)
    if path is None:
        raise EliteError(f"{file}: no profile.json beside it; give the agent config with "
                         "--config")
    body = jsonstrict.load_object(store.read_bytes(path), name=str(path))
    digest = hashlib.sha256(canonical.canonicalize(body)).hexdigest()
    if digest != agent_id:
        raise ManifestError(f"{path}: [binding] sha256(JCS(profile)) is {digest[:16]}…, not "
                            f"the document's agent_id {agent_id[:16]}…")
    return body


def _report(file: Path, result: attest.Recheck, as_json: bool) -> None:
    found = result.found
    if as_json:
        output.emit_json({"ok": not result.differences, "file": str(file),
                          "differences": list(result.differences), "note": result.note,
                          "records": found.metrics["total_tasks"] if found else 0,
                          "evals_sha256": found.evals_sha256 if found else None})
        return
    for line in result.differences:
        output.data(f"{file}: {line}")
    if result.note:
        output.info(f"git-elite: {file}: {result.note}")
    if not result.differences and found is not None:
        output.info(f"git-elite: {file}: metrics and evals_sha256 match "
                    f"{found.metrics['total_tasks']} record(s) of the logs")
