"""`git elite site [PATH] -o DIR [--rev REV]`: write the static leaderboard site (SPEC §14)."""

from __future__ import annotations

from pathlib import Path

import click

from git_elite.edges import output

CTX = {"help_option_names": ["-h", "--help"]}


@click.command(context_settings=CTX)
@click.argument("path", required=False, default=".", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", required=True, metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the site (created when missing).")
@click.option("--rev", default="HEAD", show_default=True, help="Registry revision to write.")
def command(path: Path, out: Path, rev: str) -> int:
    """Write a static site of the registry at PATH (a clone or bare repository): its own
    files at their paths (IDENTITY.json, INDEX.json, index/, agents/, endorsements/,
    identities/), timestamp.json from refs/elite/timestamp when there is one, site.json,
    and a leaderboard page (index.html, elite.js, elite.css) that verifies every agent it
    shows in the browser. Nothing is loaded from elsewhere; any static host can serve DIR.

    A second run on a later commit rewrites only the files that changed and removes the
    files that left, so it can run from a post-receive hook or CI (docs/site.md).

    \b
    Examples:
      git elite site -o public/
      git elite site /srv/git/chrysalis-elites.git -o /var/www/elites --rev main
      python3 -m http.server -d public/ 8000   # then open http://127.0.0.1:8000/
    """
    from git_elite.edges import site

    result = site.build(path, out, rev)
    how = "every file compared" if result.full else "changes since the last run"
    output.info(f"git-elite: site: {out} at {result.commit[:12]}: {result.written} written, "
                f"{result.removed} removed, {result.unchanged} unchanged ({how})")
    return 0
