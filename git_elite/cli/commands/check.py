"""`git elite check [BASE..]HEAD [--format text|json|github]`: the pre-receive rules on a
range of commits, for hosts that run no server hooks (SPEC §16, docs/forges.md)."""

from __future__ import annotations

import os
from typing import Any

import click

from git_elite.edges import output

CTX = {"help_option_names": ["-h", "--help"]}
FORMATS = ("text", "json", "github")


@click.command(context_settings=CTX)
@click.argument("revs", required=False, default="HEAD", metavar="[BASE..]HEAD")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text",
              show_default=True, help="text: the hook's REJECT lines; json: the `verify "
              "--json` shape; github: workflow annotations and a step summary too.")
@click.pass_context
def command(ctx: click.Context, revs: str, fmt: str) -> int:
    """Check a range of commits with exactly the rules the pre-receive hook applies, as if
    the registry branch were pushed from BASE to HEAD: the same engine, the same REJECT
    lines, exit 1 on any problem. For a CI job on a pull request where the host runs no
    server hooks (github.com, gitlab.com).

    Without BASE: the merge base of HEAD with the upstream of the registry branch (git
    config elite.branch, else the checked-out branch); with no upstream, every commit from
    the root. BASE must be an ancestor of HEAD (else [non-fast-forward]); the ref rules of a
    push (other refs, deleting the branch, refs/elite/timestamp) have no range to apply to.

    --format github writes `::error` annotations (one per problem, at the file) and a
    Markdown summary to $GITHUB_STEP_SUMMARY; see the action.yml at the project's root.

    \b
    Examples:
      git elite check                       (what `git push` would send)
      git elite check origin/main..HEAD
      git elite check "$BASE_SHA..$HEAD_SHA" --format github
      git elite check HEAD --format json    (the whole history)
    """
    from git_elite.cli.main import app
    from git_elite.edges import git, gitcheck, progress

    repo = git.open_repo(".")
    cwd = repo.workdir or repo.path
    base, head = _range(cwd, revs)
    with progress.meter("commits", "check: commits"):
        problems, checked = gitcheck.check_range(repo, cwd, base, head, now=app(ctx).now)
    shown = f"{base[:12]}..{head[:12]}" if base else f"{head[:12]} (from the root)"
    if fmt == "json":
        output.emit_json({"ok": not problems, "problems": [p.to_dict() for p in problems],
                          "range": {"base": base, "head": head, "commits": checked}})
    elif fmt == "github":
        _github(problems, checked, shown)
    if problems:
        if fmt != "json":
            from git_elite.cli.hookrun import reject

            commits = len({p.commit for p in problems})
            return reject(problems, f"check refused {shown}: {len(problems)} problem(s) in "
                          f"{commits} commit(s)/ref(s); {checked} commit(s) checked")
        output.info(f"git-elite: check refused {shown}: {len(problems)} problem(s)")
        return 1
    output.info(f"git-elite: {checked} commit(s) verified ({shown})")
    return 0


def _range(cwd: str, revs: str) -> tuple[str | None, str]:
    """(base commit or None for the root, head commit) of `[BASE..]HEAD`."""
    from git_elite.core.errors import UsageError

    if "..." in revs:
        raise UsageError(f"{revs}: give BASE..HEAD (two dots), not a symmetric difference")
    base_rev, sep, head_rev = revs.partition("..")
    if not sep:
        base_rev, head_rev = "", revs
    head = _commit(cwd, head_rev or "HEAD")
    if base_rev and set(base_rev) != {"0"}:
        return _commit(cwd, base_rev), head
    return (None if base_rev else _upstream_base(cwd, head)), head


def _commit(cwd: str, rev: str) -> str:
    from git_elite.core.errors import UsageError
    from git_elite.edges import git

    if rev.startswith("-"):
        raise UsageError(f"{rev}: not a revision")
    proc = git.run(["rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}"],
                   cwd, check=False)
    if proc.returncode != 0:
        raise UsageError(f"{rev}: unknown revision (fetch it first: a shallow CI clone needs "
                         "`fetch-depth: 0`)")
    return proc.stdout.decode().strip()


def _upstream_base(cwd: str, head: str) -> str | None:
    """The merge base of `head` with the registry branch's upstream; None: no upstream."""
    from git_elite.edges import git, gitcheck

    branch = gitcheck.registry_branch(cwd)
    upstream = git.run(["for-each-ref", "--format=%(upstream)", branch], cwd,
                       check=False).stdout.decode().strip()
    if not upstream:
        return None
    proc = git.run(["merge-base", head, upstream], cwd, check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


# GitHub workflow commands ------------------------------------------------------------------
def gh_data(text: str) -> str:
    """A workflow command's message: %, CR and LF escaped (after the terminal escaping)."""
    from git_elite.core.safetext import escape

    return escape(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_property(text: str) -> str:
    """A workflow command's property value: as a message, and `:` and `,` too."""
    return gh_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(problem: Any) -> str:
    title = f"[{problem.rule}] {(problem.commit or '')[:7]}".strip()
    is_file = problem.path and not problem.path.startswith("refs/")  # a ref is no file
    where = f"file={gh_property(problem.path)}," if is_file else ""
    return f"::error {where}title={gh_property(title)}::{gh_data(problem.message)}"


def _github(problems: list[Any], checked: int, shown: str) -> None:
    from git_elite.core.errors import MAX_REJECT_LINES

    for problem in problems[:MAX_REJECT_LINES]:
        output.data(annotation(problem))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(markdown(problems, checked, shown))


def markdown(problems: list[Any], checked: int, shown: str) -> str:
    """The step summary: a verdict line and, on problems, a table of them (cells escaped:
    no raw HTML, no pipes, no control characters from the registry)."""
    from git_elite.core.errors import MAX_REJECT_LINES

    if not problems:
        return f"### git elite check: passed\n\n{checked} commit(s) verified ({shown}).\n\n"
    lines = [f"### git elite check: {len(problems)} problem(s)\n",
             f"{checked} commit(s) checked ({shown}); the pre-receive hook would refuse "
             "this push.\n", "| commit | path | rule | problem |", "|---|---|---|---|"]
    for p in problems[:MAX_REJECT_LINES]:
        lines.append(f"| `{(p.commit or '')[:7]}` | {_cell(p.path)} | {p.rule} | "
                     f"{_cell(p.message)} |")
    if len(problems) > MAX_REJECT_LINES:
        lines.append(f"\n… and {len(problems) - MAX_REJECT_LINES} more problem(s) "
                     "(`git elite check --format json` lists every one).")
    return "\n".join(lines) + "\n\n"


def _cell(text: str) -> str:
    import html

    from git_elite.core.safetext import escape

    cell = html.escape(escape(text), quote=False).replace("|", "\\|").replace("`", "\\`")
    return cell.replace("[", "\\[").replace("]", "\\]") or "-"
