"""`git elite migrate [PATH]`: turn a format-1 registry into format 2 (SPEC §4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from git_elite.cli.main import app
from git_elite.core.errors import RegistryError
from git_elite.edges import output

CTX = {"help_option_names": ["-h", "--help"]}


@click.command(context_settings=CTX)
@click.argument("path", required=False, default=".", type=click.Path(file_okay=False,
                                                                     path_type=Path))
@click.pass_context
def command(ctx: click.Context, path: Path) -> int:
    """Migrate the registry work tree at PATH from format 1 to format 2 in one commit, or
    bring a format-2 registry whose INDEX.json pins nothing yet (written before docs/spec.md §6.2)
    up to date in one commit that changes the index files alone.

    The commit moves every agents/<agent_id>/ to agents/<ab>/<agent_id>/ (a rename: the
    files are unchanged), writes the index as INDEX.json plus shards index/<ab>.json, adds
    the format-2 line to .gitattributes and signs IDENTITY.json version + 1 with
    "format": 2 by this node's key (which must meet the delegate threshold). It is checked
    with the same rules as the server hook, committed on the current branch, and the work
    tree is brought up to date; push it with `git push`.

    \b
    Examples:
      git elite migrate
      git elite migrate ../chrysalis-elites && git -C ../chrysalis-elites push
    """
    from git_elite.core import documents, layout, migration
    from git_elite.edges import git, gitcheck, identity

    repo = git.open_repo(path)
    if repo.workdir is None or repo.head_is_unborn:
        raise RegistryError(f"{path}: migrate needs a registry work tree with a commit")
    root = Path(repo.workdir)
    if git.run(["status", "--porcelain", "--untracked-files=no"], root).stdout.strip():
        raise RegistryError(f"{root}: commit or stash your changes before migrating")
    tip = str(repo.head.peel(git._pygit2().Commit).id)
    state = git.state_at(repo, tip)
    old = gitcheck.identity_body(state)
    if old is None:
        raise RegistryError(f"{root}: no valid IDENTITY.json at HEAD (not a registry)")
    if layout.format_of(old) >= 2:
        return _upgrade(repo, root, tip, state)
    key = identity.load_identity().key
    body = documents.sign_multi(migration.identity_body(old, app(ctx).now), [key])
    files = migration.files(state, documents.to_bytes(body))
    commit = git.build_commit(repo, tip, files, f"Migrate the registry to format 2\n\n"
                              f"IDENTITY.json version {body['version']}, agents under "
                              "agents/<ab>/<agent_id>/, index shards under index/.\n")
    _checked(repo, commit)
    git.run(["update-ref", "-m", "git elite migrate", "HEAD", commit, tip], root)
    git.run(["read-tree", "-u", "-m", tip, commit], root)
    agents = sum(1 for p, d in files.items() if d is not None and p.endswith("/manifest.json"))
    output.info(f"git-elite: migrated {root.name} to format 2 in {commit[:12]} ({agents} "
                "live agents); push it with `git push`")
    return 0


def _checked(repo: Any, commit: str) -> None:
    """The server hook's rules over the commit made in memory; RegistryError if broken."""
    from git_elite.edges import gitcheck

    problems = gitcheck.check_commit(repo, commit)
    if problems:
        for problem in problems[:20]:
            output.warn(problem.line())
        raise RegistryError(f"the migration commit breaks {len(problems)} rule(s) (first: "
                            f"{problems[0].line()})", rule=problems[0].rule)


def _upgrade(repo: Any, root: Path, tip: str, state: Any) -> int:
    """Format 2: the index pins (SPEC §6.2) in one commit of index files, when missing."""
    from git_elite.core import engine, pinning
    from git_elite.edges import git

    if not pinning.written_before_pins(state):
        output.info(f"git-elite: {root} is already in format 2 with a pinned index")
        return 0
    files = {p: d for p, d in engine.full_index(state).items()
             if state.read(p) != d}
    commit = git.build_commit(repo, tip, files, "Pin the index (docs/spec.md §6.2)\n\nINDEX.json "
                              "pins IDENTITY.json, index/ranked.json and index/trust/; "
                              "index files only.\n")
    _checked(repo, commit)
    git.run(["update-ref", "-m", "git elite migrate", "HEAD", commit, tip], root)
    git.run(["read-tree", "-u", "-m", tip, commit], root)
    output.info(f"git-elite: pinned the index of {root.name} in {commit[:12]} (index files "
                "only); push it with `git push`")
    return 0

