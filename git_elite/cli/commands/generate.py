"""`git elite generate`: eval logs → signed manifests in $AGENTD_HOME/elite/ (SPEC §9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from git_elite.cli.main import app
from git_elite.core import evals
from git_elite.core import generate as core
from git_elite.core.columns import Column
from git_elite.edges import generating, output


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
    each qualified agent to $AGENTD_HOME/elite/projects/<project>/<agent_id>/ when run in
    an agent project's git repo (each project's kept apart), else $AGENTD_HOME/elite/<agent_id>/.

    \b
    Examples:
      git elite generate
      git elite generate --evals run/evals.jsonl --agents agents.yaml --json
      git elite generate --now 1767225600 --all --min-tasks 20
    """
    now = app(ctx).now if now is None else now
    options = generating.Options(eval_paths, agents_file, now, emit_all,
                                 evals.Thresholds(min_success, min_tasks, min_recent), strict)
    run = generating.generate(options, now, Path.cwd())
    plan, written, records = run.plan, run.written, run.records
    if not written:
        output.info(nothing_qualified(plan, records, now, ctx.get_parameter_source("now")
                                      == click.core.ParameterSource.DEFAULT))
    rows = run.rows()
    if as_json:
        output.emit_json(rows)
    else:
        table(rows)
    return 0


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
        end = newest - newest % 86400 + 86400  # the end of that day (UTC), as the README
        line += (f"; the newest eval record is from {day}, {(now - newest) // 86400} days "
                 f"before {'now' if default_now else '--now'}: to judge the logs as of the "
                 f"end of that day pass --now {end}")
    return line + "; --all writes every agent"


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
