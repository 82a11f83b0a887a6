"""`generate` as a function (SPEC §9): eval logs → signed manifests in this project's store
(edges/projects). The command line (cli/commands/generate.py) prints the table; `publish
--from-evals` and `--min-new` (edges/evalwatch) call this directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from git_elite.core import evals
from git_elite.core import generate as core
from git_elite.core.errors import EliteError
from git_elite.edges import agent_files, output, projects, store

MAX_SHOWN = 20


@dataclass(frozen=True)
class Options:
    """generate's options: eval logs (none = the default places), agents file, thresholds."""

    eval_paths: tuple[Path, ...] = ()
    agents_file: Path | None = None
    now: int | None = None
    emit_all: bool = False
    limits: evals.Thresholds = field(default_factory=evals.Thresholds)
    strict: bool = False


@dataclass
class Run:
    plan: list[core.Candidate]
    written: dict[str, Path]
    records: list[evals.EvalRecord]

    def rows(self) -> list[dict[str, Any]]:
        return [core.summary(c, self.written.get(c.agent_id)) for c in self.plan]


def default_sources(cwd: Path) -> list[Path]:
    """$AGENTD_HOME/evals.jsonl and ./.chrysalis/state[/evolution]/evals.jsonl."""
    state = cwd / ".chrysalis" / "state"
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


def sources(eval_paths: tuple[Path, ...], cwd: Path) -> list[Path]:
    """The eval logs to read: the given ones (directories expanded), else the defaults."""
    found = [p for e in eval_paths for p in expand(e)] if eval_paths else \
        [p for p in default_sources(cwd) if p.is_file()]
    if not found:
        raise EliteError("no eval logs found (looked at " +
                         ", ".join(str(p) for p in default_sources(cwd)) + "; use --evals)")
    return found


def read_all(paths: list[Path], strict: bool) -> list[evals.EvalRecord]:
    records: list[evals.EvalRecord] = []
    bad: list[evals.BadLine] = []
    for source in paths:
        found, wrong = evals.parse_jsonl(store.read_bytes(source), str(source))
        records += found
        bad += wrong
    for line in bad[:MAX_SHOWN]:
        output.warn(f"malformed eval line {line.text()}")
    if len(bad) > MAX_SHOWN:
        output.warn(f"... and {len(bad) - MAX_SHOWN} more malformed lines")
    if bad:
        output.warn(f"{len(bad)} malformed line(s) skipped in {len(paths)} file(s)")
        if strict:
            raise EliteError(f"{len(bad)} malformed eval line(s), first {bad[0].text()} "
                             "(--strict)")
    return records


def generate(options: Options, now: int, cwd: Path) -> Run:
    """Read the logs, plan every agent, sign and write the chosen ones; warnings on stderr."""
    records = read_all(sources(options.eval_paths, cwd), options.strict)
    future = [r for r in records if r.ts > now]
    if future:
        output.warn(f"{len(future)} eval record(s) dated after --now {now} ignored")
    agents = agent_files.load_agents(options.agents_file) if options.agents_file else None
    plan = core.plan([r for r in records if r.ts <= now], agents, now, options.limits)
    _warn_inferred(plan, options.agents_file)
    return Run(plan, _write(plan, options.emit_all, now, cwd), records)


def _warn_inferred(plan: list[core.Candidate], agents_file: Path | None) -> None:
    profiles = sorted({c.key[0] for c in plan if c.inferred})
    if profiles:
        where = f"not in {agents_file}" if agents_file else "no --agents file given"
        output.warn(f"agent config inferred from the eval records for profile(s) "
                    f"{', '.join(profiles)} ({where}): signature and module 'unknown', "
                    "no tools, fingerprints of empty prompt and demos")


def _write(plan: list[core.Candidate], emit_all: bool, now: int, cwd: Path
           ) -> dict[str, Path]:
    chosen = [c for c in plan if emit_all or c.qualified]
    if not chosen:
        return {}
    store.ensure_home()
    key = agent_files.load_identity()
    project = projects.here(cwd)
    repo_ref = agent_files.detect_repo_ref(cwd)
    root = projects.root_for(project)
    written = {}
    for candidate in chosen:
        manifest = core.sign_agent(candidate, key, repo_ref, now)
        _say_replaced(root / candidate.agent_id / "manifest.json", manifest)
        written[candidate.agent_id] = agent_files.write_agent(root, candidate, manifest)
    where = f"project {project.path}" if project else "no agent project: not in a git work tree"
    output.info(f"git-elite: wrote {len(written)} of {len(plan)} agent(s) as signed "
                f"manifests to {root} ({where}; each project's manifests are kept apart)")
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
