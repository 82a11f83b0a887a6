"""`git elite verify [PATH|URL] [--rev REV] [--history] [--json]`: audit a registry (SPEC §7)."""

from __future__ import annotations

import click

CTX = {"help_option_names": ["-h", "--help"]}


@click.command(context_settings=CTX)
@click.argument("target", required=False, default=".")
@click.option("--rev", default="HEAD", show_default=True, help="Revision to audit.")
@click.option("--history", is_flag=True, help="Check every first-parent commit up to REV.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
@click.option("--url", metavar="URL", help="Audit a registry served over HTTP(S) (a `git "
              "elite site`, raw files): every file its INDEX.json reaches, without cloning.")
@click.option("--no-cache", is_flag=True, help="Check every piece of the tree again: do not "
              "use or update the verified-tree memory in $AGENTD_HOME/verified/.")
@click.option("--allow-stale", is_flag=True, help="Warn, do not fail, when the registry's "
              "signed timestamp is missing, expired, withheld or rolled back.")
@click.pass_context
def command(ctx: click.Context, target: str, rev: str, history: bool, as_json: bool,
            url: str | None, no_cache: bool, allow_stale: bool) -> int:
    """Audit a registry (work tree, bare repository or URL) against every rule.

    A path or file:// URL is read where it is (no network, no copy); another URL is cloned
    into a temporary directory first.

    Without --history the tree at REV is checked as if every file were added to an empty
    registry; with it, every first-parent commit is checked against its parent. For a
    Radicle registry (a `rad clone` working copy, or a rad:// URL) whose storage is in
    $RAD_HOME, it also checks that the registry owner is a delegate and that REV is the tip
    a delegate signed; when the storage is not there it says so. For a registry that
    declares a timestamp role, the branch tip must be covered by a valid, unexpired timestamp
    no older than one already seen (docs/freshness.md). A tree that verifies clean is
    remembered by its git ids ($AGENTD_HOME/verified/): the next verify re-checks only the
    agent directories that changed, the others' index entries taken from the remembered
    shard (today's shard less the new agents' items when it has the remembered digest, else
    the old shard by its git id; --no-cache: every one; docs/registry.md).

    \b
    Examples:
      git elite verify
      git elite verify --history --json
      git elite verify --no-cache        # read every directory again
      git elite verify https://example.org/chrysalis-elites.git --rev main
      git elite verify file:///srv/git/chrysalis-elites.git --history
      git elite verify rad:z42hL2jL4XNk6K8oHQaSWfMgCL7ji
      git elite verify --url https://elites.example.org/
    """
    from git_elite.cli.main import app
    from git_elite.cli.verifying import run

    return run(target, rev, history, as_json, url, no_cache, allow_stale, app(ctx).now)


