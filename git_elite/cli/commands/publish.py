"""`git elite publish [DIR…] [--registry R] [--from-evals] [--no-push] [--json]` (SPEC §10)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from git_elite.cli.commands import generate as gen
from git_elite.cli.main import app
from git_elite.core.errors import UsageError
from git_elite.edges import evalwatch, generating, output, publishing
from git_elite.edges import publish as core

SETTINGS = {"help_option_names": ["-h", "--help"]}
ORDER = (core.PUBLISHED, core.UP_TO_DATE, core.BUILT, core.REFUSED, core.NOT_PUSHED)
# `--from-evals` takes generate's own options (the same click objects: same names, defaults
# and help), all but its --json: publish has its own.
EVAL_OPTIONS = [p for p in gen.command.params if p.name != "as_json"]


@click.command(context_settings=SETTINGS)
@click.argument("dirs", nargs=-1, type=click.Path(path_type=Path, file_okay=False,
                                                   exists=True))
@click.option("--registry", "name", metavar="R",
              help="Registry name, path or URL (file://, ssh://, https://, rad://).")
@click.option("--from-evals", is_flag=True,
              help="Run `git elite generate` first (with the eval options below) and publish "
                   "the manifests it wrote.")
@click.option("--min-new", type=click.IntRange(min=1), metavar="N",
              help="With --from-evals: only when at least N eval records are new since the "
                   "last run (per project); below that, say how many are pending and exit 0.")
@click.option("--no-push", is_flag=True, help="Build and verify the commit, do not push.")
@click.option("--repo-ref", metavar="none|URL",
              help="The repository to record as repo_ref (default: the git repo you stand in, "
                   "else the one the manifest or its published version names).")
@click.option("--as-attestation", is_flag=True,
              help="An agent someone else already published: publish your numbers for it as "
                   "an attestation (SPEC 5.8) instead of refusing.")
@click.option("--suite", default="local", show_default=True, metavar="S",
              help="With --as-attestation: the name or URL of the task set you measured on.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def command(ctx: click.Context, /, dirs: tuple[Path, ...], name: str | None, from_evals: bool,
            no_push: bool, repo_ref: str | None, as_attestation: bool, suite: str,
            as_json: bool, **eval_options: Any) -> int:
    """Sign and push manifests to a registry.

    Publishes this project's manifests (generate keeps each git project's apart under
    $AGENTD_HOME/elite/projects/; outside any git repo, every project's) and those in
    $AGENTD_HOME/elite/<agent_id>/, or the given directories, owned by this node's
    identity. Run inside an agent project's git repo, it records that repo as the
    manifests' repo_ref (origin URL, HEAD commit, path) and re-signs them; the signed
    manifest is written back to $AGENTD_HOME/elite/ before anything is pushed. The commit is
    built in the registry's cache clone, verified with the registry's own rules, pushed,
    and rebuilt on the new tip when someone else pushed first.

    With --from-evals it first runs `git elite generate` (options --evals, --agents, --now,
    --all, --min-success, --min-tasks, --min-recent, --strict; its table goes to stderr)
    and publishes exactly the manifests that run wrote. With --min-new N it does so only
    when at least N eval records are new since the last run in this project (a cheap no-op
    below N that says how many are pending: call it after every eval run).

    An agent already published by another DID (the same config measured by you) is refused
    with its owner named; --as-attestation publishes your numbers as an attestation.
    Outside a git repo the manifest's repo_ref is kept (and a manifest that names none
    keeps the registry's); --repo-ref none|URL records what you say.

    \b
    Examples:
      git elite publish --registry https://git.example.org/chrysalis-elites.git
      git elite publish ~/.agentd/elite/6ab8... --registry origin --no-push
      git elite publish --json
      git elite publish --from-evals --agents agents.yaml --registry origin
      git elite publish --from-evals --min-new 50 --registry origin
      git elite publish --as-attestation --registry origin
    """
    from git_elite.edges.agent_files import load_identity

    min_new = eval_options.pop("min_new")
    _check_eval_options(ctx, dirs, from_evals, min_new)
    request = publishing.Request(dirs, name, no_push, _repo_ref(repo_ref), as_attestation,
                                 suite)
    if from_evals:
        return _from_evals(ctx, request, eval_options, min_new or 0, as_json)
    result = publishing.publish(request, load_identity(), app(ctx).now, Path.cwd())
    report(result, as_json, "published")
    return 0 if result.ok else 1


def _from_evals(ctx: click.Context, request: publishing.Request, options: dict[str, Any],
                min_new: int, as_json: bool) -> int:
    """generate, then publish exactly what it wrote; with --min-new only when enough eval
    records are new since the last run (edges/evalwatch)."""
    from git_elite.core.evals import Thresholds

    wanted = generating.Options(options["eval_paths"], options["agents_file"], options["now"],
                                options["emit_all"], Thresholds(
                                    options["min_success"], options["min_tasks"],
                                    options["min_recent"]), options["strict"])
    default_now = ctx.get_parameter_source("now") == click.core.ParameterSource.DEFAULT
    run_now = app(ctx).now if wanted.now is None else wanted.now

    def show(run: generating.Run) -> None:
        if not run.written:
            output.info(gen.nothing_qualified(run.plan, run.records, run_now, default_now))
        with contextlib.redirect_stdout(sys.stderr):
            gen.table(run.rows())

    done = evalwatch.export(wanted, request, min_new, app(ctx).now, Path.cwd(), show)
    if done.result is None:
        output.info(f"git-elite: {done.pending} new eval record(s) since the last run, fewer "
                    f"than --min-new {min_new}: nothing generated or published (state in "
                    f"{evalwatch.state_file(Path.cwd())})")
        if as_json:
            output.emit_json([])
        return 0
    report(done.result, as_json, "published")
    return 0 if done.result.ok else 1


def _repo_ref(given: str | None) -> object:
    if given is None:
        return publishing.KEEP
    return None if given == "none" else given


def _check_eval_options(ctx: click.Context, dirs: tuple[Path, ...], from_evals: bool,
                        min_new: int | None) -> None:
    given = [p.opts[0] for p in EVAL_OPTIONS if p.name and
             ctx.get_parameter_source(p.name) != click.core.ParameterSource.DEFAULT]
    given += ["--min-new"] if min_new is not None else []
    if given and not from_evals:
        raise UsageError(f"{', '.join(given)} can only be used with --from-evals")
    if from_evals and dirs:
        raise UsageError("--from-evals publishes what generate writes; give no directories")


def report(result: core.Result, as_json: bool, verb: str) -> None:
    """Results on stdout (one line per item that went in, or the --json list); refusals,
    the server's lines and a summary on stderr, each problem said once. `verb` names what
    success means for this command ("published", "withdrawn", "pushed")."""
    for o in result.outcomes:
        if o.status in core.SUCCESS and not as_json:
            status = verb if o.status == core.PUBLISHED else o.status
            output.data(f"{status:<10} {o.name}" + (f": {o.message}" if o.message else ""))
        elif o.status not in core.SUCCESS:
            output.info(f"git-elite: {o.status}: {o.name}: {o.message}")
        for line in o.lines:
            output.info(line)
    if as_json:
        output.emit_json(result.to_json())
    counts = {s: sum(o.status == s for o in result.outcomes) for s in ORDER}
    summary = ", ".join(f"{n} {verb if s == core.PUBLISHED else s}"
                        for s, n in counts.items() if n) or f"nothing {verb}"
    where = f"; commit {result.commit[:12]}" if result.commit else ""
    retries = f"; {result.retries} retr{'y' if result.retries == 1 else 'ies'}" \
        if result.retries else ""
    output.info(f"git-elite: {result.registry}: {summary}{where}{retries}")


command.params[3:3] = EVAL_OPTIONS  # after --from-evals, in generate's order
