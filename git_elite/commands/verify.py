"""`git elite verify [PATH|URL] [--rev REV] [--history] [--json]`: audit a registry (SPEC §7)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import click

from git_elite import output

CTX = {"help_option_names": ["-h", "--help"]}
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^[^/\s]+@[^/\s]+:")


@click.command(context_settings=CTX)
@click.argument("target", required=False, default=".")
@click.option("--rev", default="HEAD", show_default=True, help="Revision to audit.")
@click.option("--history", is_flag=True, help="Check every first-parent commit up to REV.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
def command(target: str, rev: str, history: bool, as_json: bool) -> int:
    """Audit a registry (work tree, bare repository or URL) against every rule.

    Without --history the tree at REV is checked as if every file were added to an empty
    registry; with it, every first-parent commit is checked against its parent.

    \b
    Examples:
      git elite verify
      git elite verify --history --json
      git elite verify https://example.org/chrysalis-elites.git --rev main
    """
    if _URL.match(target) and not Path(target).exists():
        with tempfile.TemporaryDirectory(prefix="git-elite-verify-") as tmp:
            from git_elite import git

            git.run(["clone", "-q", "--bare", target, str(Path(tmp) / "registry.git")])
            return _verify(str(Path(tmp) / "registry.git"), rev, history, as_json)
    return _verify(target, rev, history, as_json)


def _verify(path: str, rev: str, history: bool, as_json: bool) -> int:
    from git_elite import git, registry

    repo = git.open_repo(path)
    cwd = repo.path
    if history:
        problems, count = registry.audit_history(repo, cwd, rev)
        what = f"{count} commit(s)"
    else:
        problems = registry.audit(repo, rev)
        what = f"tree at {rev}"
    if as_json:
        output.emit_json({"ok": not problems, "problems": [p.to_dict() for p in problems]})
    else:
        for p in problems:
            output.data(f"{(p.commit or '')[:7]} {p.line()}")
    if problems:
        output.info(f"git-elite: verify: {len(problems)} problem(s) in {what}")
        return 1
    output.info(f"git-elite: verify: {what} OK")
    return 0
