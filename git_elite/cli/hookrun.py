"""The git hooks themselves, without the command framework: `git-elite hook <name>` is routed
here straight from the launcher (click costs ~35 ms to import, on every commit and push);
`commands/hook.py` wraps the same functions for `git elite hook -h` and the merge driver.
Each returns the exit code and prints only git-elite's REJECT lines and summary."""

from __future__ import annotations

import os
import sys

from git_elite.core.errors import Problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def reject(problems: list[Problem], summary: str) -> int:
    """At most MAX_REJECT_LINES REJECT lines (then how many more), and the summary."""
    from git_elite.core.errors import reject_lines

    for line in reject_lines(problems):
        print(line, file=sys.stderr)
    print(f"git-elite: {summary}", file=sys.stderr)
    return 1


def pre_receive() -> int:
    """Check every pushed commit; refuse the push on any problem."""
    from git_elite.edges import catfile, git

    lines = sys.stdin.read().splitlines()
    # `git config` (every setting the checks read, once), the walk of each branch update
    # (as the commit bound asks it when elite.maxCommitsPerPush is unset; a walk not asked
    # for is ended unread) and the `git cat-file` the objects are read through, all begun
    # before the checks' modules load: git starts while they do
    git.start(git.SNAPSHOT_ARGS)
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[2].startswith("refs/heads/") and git.ZERO not in parts:
            git.start(git.walk_args(parts[0], parts[1], git.MAX_COMMITS_PER_PUSH))
    # objects read through `git cat-file` (quarantined ones too: git passes the hook the
    # object directory and alternates): no libgit2 import. Nothing is asked of it before
    # the commit bound below has passed.
    repo = catfile.open_git_dir(os.environ.get("GIT_DIR", "."))
    try:
        from git_elite.edges import gitcheck  # noqa: F401  (the engine: loaded meanwhile)

        git.snapshot()
        return _pre_receive(repo, lines)
    finally:
        repo.close()
        git.snapshot_clear()
        git.start_clear()


def _pre_receive(repo: Any, lines: list[str]) -> int:
    import time

    from git_elite.edges import gitcheck

    updates = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3:
            updates.append(gitcheck.RefUpdate(*parts))
    too_many = gitcheck.too_many_commits(None, updates)  # shared with `check`
    if too_many:
        return reject(too_many, "push refused: too many commits in one push")
    problems, checked = gitcheck.check_push(repo, None, updates, now=int(time.time()))
    if problems:
        commits = len({p.commit for p in problems})
        return reject(problems, f"push refused: {len(problems)} problem(s) in {commits} "
                      f"commit(s)/ref(s); {checked} commit(s) checked")
    print(f"git-elite: {checked} commit(s) verified", file=sys.stderr)
    return 0


def post_receive() -> int:
    """After an accepted push: log the new tip in the witnessed log (SPEC §15) when the
    server has `git config elite.logKey`, and sign a new timestamp (SPEC §6.1) when it has
    `git config elite.timestampKey`. Never fails the push (it has already happened): a
    problem is one line to the pusher and to the server's log."""
    import time

    from git_elite.core.errors import EliteError
    from git_elite.edges import git, gitcheck, stamping

    cwd = os.environ.get("GIT_DIR", ".")
    lines = sys.stdin.read().splitlines()
    branch = gitcheck.registry_branch(cwd)
    if git.config_get("elite.logKey", cwd):  # the log's code is loaded only when it runs
        from git_elite.edges import logserver

        try:
            for said in logserver.post_receive(cwd, lines, branch, int(time.time())):
                print(f"git-elite: {said}", file=sys.stderr)
        except EliteError as err:
            print(f"git-elite: log not signed: {err}", file=sys.stderr)
    try:
        stamped = stamping.post_receive(cwd, lines, branch, int(time.time()))
    except EliteError as err:
        print(f"git-elite: timestamp not signed: {err}", file=sys.stderr)
        return 0
    if stamped:
        print(f"git-elite: {stamped}", file=sys.stderr)
    return 0


def staged(name: str) -> int:
    """pre-commit / pre-merge-commit: check what is being committed, stage the index files
    (INDEX.json and the touched shards)."""
    from git_elite.edges import catfile, git

    # the hook's three questions to git do not depend on each other: all begun at once,
    # git answers them while the checks' modules load (docs/scale.md, "hooks, round 4")
    for args in (catfile.HEAD_ARGS, git.STAGED_ARGS, ("config", "--get", git.CLOCK_SKEW_KEY)):
        git.start(args)
    # and the `update-index` that stages the index files: git reads the index meanwhile
    # (hooks5); it is given its lines at the end, or none (stage_end)
    git.stage_begin()
    try:
        from git_elite.edges import gitcheck  # noqa: F401  (the engine: loaded meanwhile)

        opened = catfile.open_head()  # HEAD's tree read by `git cat-file`: no libgit2 import
        if opened is None:  # no commit yet: the whole (small) index, read with pygit2
            repo = git.open_env(".")
            return _staged(name, repo, None if repo.head_is_unborn else
                           repo.head.peel(git._pygit2().Commit).tree)
        try:
            return _staged(name, *opened)
        finally:
            opened[0].close()
    finally:
        git.stage_end()  # (not a registry, refused, failed: it changes nothing)
        git.start_clear()  # what was not asked (not a registry, no commit yet)


def _staged(name: str, repo: Any, head: Any | None) -> int:
    import time

    from git_elite.core import engine, layout
    from git_elite.edges import git, gitcheck, progress

    parent = git.TreeState(repo, head)
    new: Any
    if head is None:  # a first commit: the whole (small) index is the change
        new = git.IndexState(repo, repo.index)
        if new.read(layout.IDENTITY) is None:
            return 0  # not a registry
        changes = git.index_changes(repo, repo.index, head)
    else:  # only the staged entries that differ from HEAD's are read (O(changed))
        if parent.read(layout.IDENTITY) is None and \
                layout.IDENTITY not in git.staged_ids(None, [layout.IDENTITY]):
            return 0  # not a registry
        changes, new = git.staged_changes(repo, parent)
    with progress.meter("files", f"{name}: checking", len(changes)):
        problems = engine.check_change(parent, changes, new, check_index=False,
                                       now=int(time.time()),
                                       max_skew=gitcheck.max_clock_skew(None))
    if problems:
        return reject(problems, f"{name}: commit refused: {len(problems)} problem(s)")
    rebuilt = engine.rebuild(parent, changes, new)
    stage = {p: d for p, d in rebuilt.files.items()
             if (d is None and new.read(p) is not None) or (d is not None and not new.same(p, d))}

    def written() -> None:
        """The work tree's copies, the post-commit mark, the next commit's cache: done
        while `git update-index` rewrites the index (if it fails, the hook fails; these are
        derived files, made again by the next commit)."""
        real = git.index_becomes_real()
        if real and repo.workdir is not None:  # post-commit then has nothing to do
            _write_files(repo.workdir, rebuilt.files)
        git.post_commit_mark(repo.path, not real)
        head_bytes = rebuilt.files.get(layout.INDEX)
        if rebuilt.ranks is not None and head_bytes is not None:  # the next commit's parent
            git.index_cache_save(repo, git.blob_id(head_bytes), rebuilt.ranks.dump(), "ranks")
        elif head_bytes is not None:
            git.index_cache_save(repo, git.blob_id(head_bytes), rebuilt.values[layout.INDEX])

    if stage:
        git.stage_files(repo, stage, written)
    else:
        written()
    return 0


def post_commit() -> int:
    """Only after `git commit <paths>` (pre-commit staged into a temporary index and left
    the mark; otherwise it wrote the work tree's index files itself and the shim does not
    start Python): bring the real index and the work tree's index files up to HEAD's (those
    the commit changed: INDEX.json and the shards it rewrote)."""
    from git_elite.edges import git

    os.environ.pop("GIT_INDEX_FILE", None)
    if not git.post_commit_take(None):
        return 0  # a shim installed before the mark: pre-commit did the work
    repo = git.open_env(".")
    if repo.head_is_unborn or repo.workdir is None:
        return 0
    files = git.index_files_changed(repo)
    _write_files(repo.workdir, files)
    staged = git.staged_ids(None, sorted(files))  # those entries only, not the whole index
    stage = {rel: data for rel, data in files.items()
             if (data is None and rel in staged)
             or (data is not None and staged.get(rel) != git.blob_id(data))}
    if stage:
        git.stage_files(repo, stage)
    return 0


def _write_files(top: str, files: dict[str, bytes | None]) -> None:
    """The work tree's copies of `files` (None: removed), rewritten where they differ
    (os.path, not pathlib: docs/scale.md, "The hooks, round 5")."""
    from git_elite.edges import store

    for rel, data in files.items():
        path = os.path.join(top, rel)
        if data is None:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            continue
        try:
            with open(path, "rb") as handle:
                if handle.read() == data:
                    continue
        except FileNotFoundError:
            pass
        os.makedirs(os.path.dirname(path), exist_ok=True)
        store.atomic_write(path, data, durable=False)  # git's checkout does not fsync


# what the launcher may run without click (hooks that take no arguments)
HOOKS: dict[str, Callable[[], int]] = {
    "pre-receive": pre_receive,
    "post-receive": post_receive,
    "pre-commit": lambda: staged("pre-commit"),
    "pre-merge-commit": lambda: staged("pre-merge-commit"),
    "post-commit": post_commit,
}
