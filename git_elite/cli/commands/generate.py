"""`git elite generate`: eval logs → signed manifests in $AGENTD_HOME/elite/ (SPEC §9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from git_elite.cli.main import app
from git_elite.core import evals
from git_elite.core import generate as core
from git_elite.core.columns import Column
from git_elite.core.errors import EliteError
from git_elite.edges import agent_files, output, store

MAX_SHOWN = 20


def default_sources() -> list[Path]:
    """$AGENTD_HOME/evals.jsonl and ./.chrysalis/state[/evolution]/evals.jsonl."""
    state = Path.cwd() / ".chrysalis" / "state"
    return [store.home() / "evals.jsonl", state / "evals.jsonl",
            state / "evolution" / "evals.jsonl"]


def expand(path: Path) -> list[Path]:
    """A file as is; a directory as the eval logs found in it (either layout)."""
    if not path.is_dir():
        if not path.exists():
            raise EliteError(f"{path}: no such eval log")
        return [path]
    state = path / ".chrysalis" / "state"
    found = [p for p in (path / "evals.jsonl", state / "evals.jsonl",
                         state / "evolution" / "evals.jsonl") if p.is_file()]
    if not found:
        raise EliteError(f"{path}: no evals.jsonl in this directory")
    return found


def read_all(sources: list[Path], strict: bool) -> list[evals.EvalRecord]:
    records: list[evals.EvalRecord] = []
    bad: list[evals.BadLine] = []
    for source in sources:
        found, wrong = evals.parse_jsonl(store.read_bytes(source), str(source))
        records += found
        bad += wrong
    for line in bad[:MAX_SHOWN]:
        output.warn(f"malformed eval line {line.text()}")
    if len(bad) > MAX_SHOWN:
        output.warn(f"... and {len(bad) - MAX_SHOWN} more malformed lines")
    if bad:
        output.warn(f"{len(bad)} malformed line(s) skipped in {len(sources)} file(s)")
        if strict:
            raise EliteError(f"{len(bad)} malformed eval line(s), first {bad[0].text()} "
                             "(--strict)")
    return records


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--evals", "eval_paths", multiple=True, type=click.Path(path_type=Path),
              help="Eval log (file, or a directory holding one); repeatable.")
@click.option("--agents", "agents_file", type=click.Path(path_type=Path),
              help="Agent configs (YAML or JSON) keyed by profile and candidate.")
@click.option("--now", type=int, help="Current time, UTC seconds (default: now).")
@click.option("--all", "emit_all", is_flag=True, help="Write manifests for every agent.")
@click.option("--min-success", type=float, default=0.80, show_default=True)
@click.option("--min-tasks", type=int, default=50, show_default=True)
@click.option("--min-recent", type=int, default=10, show_default=True)
@click.option("--strict", is_flag=True, help="Refuse any malformed eval line.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def command(ctx: click.Context, eval_paths: tuple[Path, ...], agents_file: Path | None,
            now: int | None, emit_all: bool, min_success: float, min_tasks: int,
            min_recent: int, strict: bool, as_json: bool) -> int:
    """Turn Chrysalis Forge eval logs into signed elite manifests.

    Reads ~/.agentd/evals.jsonl (Racket) and ./.chrysalis/state/evals.jsonl,
    ./.chrysalis/state/evolution/evals.jsonl (TypeScript) unless --evals is given,
    groups by (profile, candidate, model) and writes manifest.json + profile.json for
    each qualified agent to $AGENTD_HOME/elite/<agent_id>/.

    \b
    Examples:
      git elite generate
      git elite generate --evals run/evals.jsonl --agents agents.yaml --json
      git elite generate --now 1767225600 --all --min-tasks 20
    """
    now = app(ctx).now if now is None else now
    sources = [p for e in eval_paths for p in expand(e)] if eval_paths else \
        [p for p in default_sources() if p.is_file()]
    if not sources:
        raise EliteError("no eval logs found (looked at " +
                         ", ".join(str(p) for p in default_sources()) + "; use --evals)")
    records = read_all(sources, strict)
    future = [r for r in records if r.ts > now]
    if future:
        output.warn(f"{len(future)} eval record(s) dated after --now {now} ignored")
    agents = agent_files.load_agents(agents_file) if agents_file else None
    limits = evals.Thresholds(min_success, min_tasks, min_recent)
    plan = core.plan([r for r in records if r.ts <= now], agents, now, limits)
    _warn_inferred(plan, agents_file)
    written = _write(plan, emit_all, now)
    if not written:
        output.info(nothing_qualified(plan, records, now, ctx.get_parameter_source("now")
                                      == click.core.ParameterSource.DEFAULT))
    rows = [core.summary(c, written.get(c.agent_id)) for c in plan]
    if as_json:
        output.emit_json(rows)
    else:
        table(rows)
    return 0


def _warn_inferred(plan: list[core.Candidate], agents_file: Path | None) -> None:
    profiles = sorted({c.key[0] for c in plan if c.inferred})
    if profiles:
        where = f"not in {agents_file}" if agents_file else "no --agents file given"
        output.warn(f"agent config inferred from the eval records for profile(s) "
                    f"{', '.join(profiles)} ({where}): signature and module 'unknown', "
                    "no tools, fingerprints of empty prompt and demos")


def nothing_qualified(plan: list[core.Candidate], records: list[evals.EvalRecord], now: int,
                      default_now: bool) -> str:
    """"0 of N qualified" and why, in one line a user can act on."""
    counts: dict[str, int] = {}
    for candidate in plan:
        for reason in candidate.reasons:
            metric = reason.split(" ", 1)[0]
            counts[metric] = counts.get(metric, 0) + 1
    why = ", ".join(f"{metric} failed for {n}" for metric, n in
                    sorted(counts.items(), key=lambda kv: -kv[1]))
    line = (f"git-elite: 0 of {len(plan)} agent(s) qualified, no manifest written"
            + (f" ({why})" if why else ""))
    newest = max((r.ts for r in records if r.ts <= now), default=None)
    if newest is not None and now - newest > 7 * 86400:
        from datetime import UTC, datetime

        day = datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%d")
        line += (f"; the newest eval record is from {day}, {(now - newest) // 86400} days "
                 f"before {'now' if default_now else '--now'}: to judge the logs as of then "
                 f"pass --now {newest}")
    return line + "; --all writes every agent"


def _write(plan: list[core.Candidate], emit_all: bool, now: int) -> dict[str, Path]:
    chosen = [c for c in plan if emit_all or c.qualified]
    if not chosen:
        return {}
    home = store.ensure_home()
    key = agent_files.load_identity()
    repo_ref = agent_files.detect_repo_ref(Path.cwd())
    written = {}
    for candidate in chosen:
        manifest = core.sign_agent(candidate, key, repo_ref, now)
        _say_replaced(home / "elite" / candidate.agent_id / "manifest.json", manifest)
        written[candidate.agent_id] = agent_files.write_agent(home / "elite", candidate, manifest)
    output.info(f"git-elite: wrote {len(written)} of {len(plan)} agent(s) as signed "
                f"manifests to {home / 'elite'}")
    return written


def _say_replaced(path: Path, manifest: dict[str, Any]) -> None:
    """generate replaces a manifest made earlier for the same agent: say so, with dates."""
    import json

    if not path.is_file():
        return
    try:
        before = json.loads(path.read_bytes()).get("created_at")
    except (OSError, ValueError, AttributeError):
        before = None
    output.info(f"git-elite: replacing {path} (created_at {before} -> "
                f"{manifest['created_at']})")


def table(rows: list[dict[str, Any]]) -> None:
    columns = [Column("agent_id"), Column("profile", 2), Column("candidate", 5),
               Column("model", 6), Column("tasks", 4), Column("success"), Column("recent", 3),
               Column("qualified"), Column("reasons", wrap=True)]
    cells = []
    for row in rows:
        metrics = row["metrics"]
        cells.append([str(row["agent_id"])[:12], row["profile"], row["candidate_id"] or "-",
                      row["model"] or "-", metrics["total_tasks"],
                      f"{metrics['success_rate']:.3f}", metrics["recent_tasks_7d"],
                      "yes" if row["qualified"] else "no",
                      "; ".join(row["reasons"]) or "-"])
    output.table("elite candidates", columns, cells)
