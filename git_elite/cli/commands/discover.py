"""`git elite discover`: ranked, verified agents across registries (SPEC §6, §8, §10, §11).
The click command only: the body is `cli/discovering.run`, which the launcher also calls
without click (`cli/fastpath.py`) when it can parse the arguments exactly as click would."""

from __future__ import annotations

import click

from git_elite.cli.discovering import DEFAULT_TOP, Options, run, score, show
from git_elite.cli.main import app

__all__ = ["command", "score", "show"]  # score, show: also named here (tests, older callers)

CTX = {"help_option_names": ["-h", "--help"]}


@click.command(context_settings=CTX)
@click.option("--registry", "names", multiple=True, metavar="R",
              help="Registry name, path or URL (repeatable). Default: the registry working "
                   "copy you are in, else every known registry.")
@click.option("--task-type", help="Rank by this task type's rate and count.")
@click.option("--top", type=click.IntRange(min=0), default=DEFAULT_TOP, show_default=True,
              help="Show the best N (0 = all).")
@click.option("--min-success", type=click.FloatRange(0, 1), help="Minimum success rate.")
@click.option("--min-tasks", type=click.IntRange(min=0), help="Minimum number of tasks.")
@click.option("--trusted-only", is_flag=True, help="Only agents whose owner you trust.")
@click.option("--attested", is_flag=True, help="Only agents with an attestation by a DID "
              "you trust, ranked by the attested numbers.")
@click.option("--json", "as_json", is_flag=True, help="Machine output (docs/spec.md §10).")
@click.option("--offline", is_flag=True, help="No network: read the cached "
              "copies (a registry on this machine, a path or file:// URL, is fetched from "
              "where it is).")
@click.option("--httpd", "httpd_url", metavar="URL", help="Read a Radicle registry through "
              "radicle-httpd at URL (with --rid), without cloning.")
@click.option("--rid", help="Repository ID (rad:z…) for --httpd.")
@click.option("--url", "urls", multiple=True, metavar="URL", help="Read a registry over "
              "HTTP(S) without cloning: a `git elite site`, a git host's raw-file URL or "
              "radicle-httpd's raw endpoint (repeatable; only the files needed are fetched).")
@click.option("--allow-stale", is_flag=True, help="Warn, do not refuse, when a registry's "
              "signed timestamp is missing, expired, withheld or rolled back.")
@click.pass_context
def command(ctx: click.Context, names: tuple[str, ...], task_type: str | None, top: int,
            min_success: float | None, min_tasks: int | None, trusted_only: bool,
            attested: bool, as_json: bool, offline: bool, httpd_url: str | None,
            rid: str | None, urls: tuple[str, ...], allow_stale: bool) -> int:
    """List the best agents across registries, verified against the rule engine and
    annotated with your trust set.

    Only the agents shown are read and verified (manifest, profile, signature, binding,
    policy, and that INDEX.json's entry is the manifest's; over --url under a freshly
    signed head, a manifest that is the pinned bytes is checked without its profile, which
    the server bound and import binds again); one that fails is dropped with a warning.
    Duplicates across registries: the newest valid manifest wins.

    Each shown agent's attestations (other DIDs' signed measurements) are read and
    verified; those by DIDs you trust count: when any shown agent has one, the `attested`
    column shows their pooled success rate and how many of the live ones you trust, `max Δ`
    the largest gap between one of them and the owner's own number. --attested keeps only
    agents with a trusted attestation and ranks them by the attested numbers
    (--min-success/--min-tasks then apply to those).

    \b
    Examples:
      git elite discover
      git elite discover --registry origin --task-type file-edit --top 5
      git elite discover --trusted-only --min-success 0.9 --json
      git elite discover --attested
      git elite discover --httpd https://seed.example.org \\
          --rid rad:z42hL2jL4XNk6K8oHQaSWfMgCL7ji
      git elite discover --url https://elites.example.org/ --top 20
    """
    return run(Options(names, task_type, top, min_success, min_tasks, trusted_only, attested,
                       as_json, offline, httpd_url, rid, urls, allow_stale), app(ctx).now)
