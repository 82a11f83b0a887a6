"""The push rules (SPEC §7) over what a cache fetch brings (SPEC §6.2, issue 24 item 4): a
mirror or seed without our pre-receive hook cannot put into a reader's history what a
server hook refuses. The same engine as pre-receive (`gitcheck.check_commit`, every new
commit against each of its parents).

- A fetch that moves the tip from `old` (checked before) to `new`: every commit of
  `old..new` is checked; a problem refuses the fetched tip and the cache keeps `old`.
- A first clone (no tip checked before): every commit when the history has at most
  FIRST_CLONE_COMMITS, else the newest FIRST_CLONE_COMMITS (older history is the
  registry's own server's word; docs/discover.md says what is and is not checked, and
  readers re-check the shown agents' ownership over their whole history,
  `agent_history`). A problem refuses the clone, which is removed.
"""

from __future__ import annotations

from pathlib import Path

from git_elite.core.errors import Problem, RegistryError
from git_elite.edges import git

FIRST_CLONE_COMMITS = 500  # ~17 ms each (measured, 200-commit registry): ~9 s at most
SHOWN = 3  # problems named in the one-line refusal


class HistoryRefused(RegistryError):
    """Fetched history that breaks the push rules: never retried, never read."""


def commits(path: Path, old: str | None, new: str) -> list[str]:
    """The commits to check, oldest first: those of `old..new` (a first clone: the newest
    FIRST_CLONE_COMMITS), less those that neither hold nor follow a registry (no
    IDENTITY.json in the commit or any parent: a repository's history before `init`, or a
    repository that is not a registry at all, as `sync` also serves)."""
    args = ["rev-list", "--topo-order", "--parents", new]
    args += [f"^{old}"] if old is not None else ["-n", str(FIRST_CLONE_COMMITS)]
    rows = [line.split() for line in git.run(args, path).stdout.decode().splitlines()]
    ids = sorted({oid for row in rows for oid in row})
    if not ids:
        return []
    found = git.run(["cat-file", "--batch-check=%(objectname)"], path, check=False,
                    input="".join(f"{oid}:IDENTITY.json\n" for oid in ids).encode())
    answers = found.stdout.decode().splitlines()
    registry = {oid for oid, answer in zip(ids, answers, strict=False)
                if not answer.endswith("missing")}
    return [row[0] for row in reversed(rows) if registry & set(row)]


def check(name: str, path: Path, old: str | None, new: str) -> None:
    """Raise HistoryRefused (one line: the first problems, how many in all) when a commit
    between `old` (None: a first clone) and `new` breaks a push rule."""
    from git_elite.edges import gitcheck, progress

    todo = commits(path, old, new)
    if not todo:
        return
    repo = git.open_reader(path)
    problems: list[Problem] = []
    with progress.meter("commits", f"{name}: checking {len(todo)} fetched commit(s)"):
        for commit in todo:
            progress.step("commits")
            problems += gitcheck.check_commit(repo, commit, legacy=True)
            if len(problems) >= SHOWN:
                break
    if problems:
        named = "; ".join(f"{(p.commit or '')[:7]} {p.line()}" for p in problems[:SHOWN])
        kept = f"keeping the tip checked before ({old[:12]})" if old else \
            "the clone is not kept"
        raise HistoryRefused(f"{name}: fetched history breaks the push rules a server hook "
                             f"enforces: {named}; {kept}", rule=problems[0].rule)
