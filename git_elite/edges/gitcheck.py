"""The rule engine applied to a registry in git: its commits, pushes and revisions.

This is the API for hooks, `verify`, `publish` and `discover`:
- `check_commit(repo, commit)`: every problem of one commit against its parents;
- `check_push(repo, cwd, updates)`: what pre-receive checks (refs, then every new commit);
- `audit(repo, rev)` / `audit_history(repo, cwd, rev)`: `verify`;
- `rebuild_index(parent_state, changes, new_state)`: the index files of a commit (INDEX.json
  and the touched shards, path -> bytes, None = remove).
It does not print and does not exit.
"""

from __future__ import annotations

from git_elite.core import context, engine, layout
from git_elite.core.errors import Problem, RegistryError
from git_elite.core.state import Change, State
from git_elite.edges import git, progress

TYPE_CHECKING = False
if TYPE_CHECKING:  # not at run time: pathlib costs every hook ~4 ms (docs/scale.md)
    from collections.abc import Iterable, Sequence
    from pathlib import Path
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

TIMESTAMP_REF = "refs/elite/timestamp"  # governed only by the `timestamp` rule (SPEC §6.1)
LOG_REF = "refs/elite/log"  # governed only by the `log` rule (SPEC §15)


class RefUpdate(NamedTuple):
    old: str
    new: str
    ref: str


def rebuild_index(parent: State, changes: Iterable[Change], new: State
                  ) -> dict[str, bytes | None]:
    """The index files `new` must carry: INDEX.json and (format 2) each shard the changes
    touch, path -> bytes (None: remove). O(changed) from the parent's index."""
    return engine.expected_files(parent, list(changes), new)


def check_commit(repo: Any, commit: str, *, now: int | None = None,
                 max_skew: int = context.MAX_CLOCK_SKEW, legacy: bool = False
                 ) -> list[Problem]:
    """Every problem of `commit` checked against its first parent's state and, for a merge,
    against each other parent's too. Every parent-to-child step must be a valid change:
    otherwise a merge whose first parent is an unrelated (or older) history and whose second
    parent is the registry's tip passes as a fast-forward while it drops, hijacks or
    replaces (IDENTITY.json included) everything the tip holds. With `now`, created_at more
    than `max_skew` ahead of it is refused (engine.check_change). `legacy` accepts changes
    to a format-1 registry (audits of old history); hooks refuse them (migrate first)."""
    clock = {"now": now, "max_skew": max_skew, "legacy": legacy}
    parents = git.parent_ids(repo, commit)
    new_tree = git.commit_tree(repo, commit)
    found = _check_step(repo, parents[0] if parents else None, new_tree, clock)
    for parent in parents[1:]:
        found += [Problem(p.rule, p.path, f"{p.message} (against merge parent {parent[:7]})")
                  for p in _check_step(repo, parent, new_tree, clock)]
    return [p.at(commit) for p in found]


def _check_step(repo: Any, parent: str | None, new_tree: Any, clock: dict[str, Any]
                ) -> list[Problem]:
    old_tree = git.commit_tree(repo, parent)
    if old_tree is not None and new_tree is not None and old_tree.id == new_tree.id:
        return []  # no path changed: the state is its parent's, already checked (17.7)
    changes = git.diff_trees(repo, old_tree, new_tree)
    return engine.check_change(git.TreeState(repo, old_tree), changes,
                               git.TreeState(repo, new_tree), **clock)


WARM_DEPTH = 64  # first-parent commits searched back for a state whose ranks are cached


def warm(repo: Any, commit: str) -> bool:
    """Derive `commit`'s cached index data (shards.Ranks, keyed by its INDEX.json) from the
    nearest first-parent ancestor that has it, by checking the one combined step between
    them: O(what changed since), where a cold cache costs reading every shard (5-10 s at
    100k agents). For a writer whose cache clone fetched other writers' commits. Nothing is
    saved unless the tip's INDEX.json equals the rebuild (indexcheck.check). True when the
    tip's data is cached afterwards."""
    state = git.state_at(repo, commit)
    if state.tree is None or state.derived_load() is not None:
        return state.tree is not None
    ancestor: str | None = commit
    for _ in range(WARM_DEPTH):
        ancestor = git.parent_of(repo, ancestor) if ancestor else None
        if ancestor is None:
            return False
        base = git.state_at(repo, ancestor)
        if base.tree is not None and base.derived_load() is not None:
            engine.check_change(base, git.diff_trees(repo, base.tree, state.tree), state)
            return state.derived_load() is not None
    return False


def max_clock_skew(cwd: str | Path | None) -> int:
    """`git config elite.maxClockSkew` (seconds), default context.MAX_CLOCK_SKEW."""
    from git_elite.core.errors import RegistryError

    value = git.config_get(git.CLOCK_SKEW_KEY, cwd)
    try:
        return int(value) if value else context.MAX_CLOCK_SKEW
    except ValueError:
        raise RegistryError(f"git config elite.maxClockSkew: {value!r} is not a number of "
                            "seconds") from None


def registry_branch(cwd: str | Path | None, facts: Any = None) -> str:
    """`git config elite.branch`, else the branch HEAD names, as a full ref name (`facts`:
    a repofacts.Facts of `cwd`, which has read them with fewer `git` processes)."""
    branch = (git.config_get("elite.branch", cwd) or git.head_branch(cwd) if facts is None
              else facts.config_get("elite.branch") or facts.head_branch()) or "refs/heads/main"
    return branch if branch.startswith("refs/") else f"refs/heads/{branch}"


def check_push(repo: Any, cwd: str | Path | None, updates: Sequence[RefUpdate], *,
               now: int | None = None) -> tuple[list[Problem], int]:
    """pre-receive: ref rules, then every new commit of the registry branch against its
    parent (with `now`, bounding created_at by elite.maxClockSkew). Returns (problems,
    number of commits checked). Never writes a ref."""
    branch = registry_branch(cwd)
    skew = max_clock_skew(cwd)
    allow_other = (git.config_get("elite.allowOtherRefs", cwd) or "").lower() in ("true", "1",
                                                                               "yes", "on")
    problems: list[Problem] = []
    checked = 0
    for update in updates:
        if update.ref == TIMESTAMP_REF:
            problems += _timestamp_update(cwd, update, branch, updates, now, skew)
            continue
        if update.ref == LOG_REF:
            problems += _log_update(repo, cwd, update, branch, updates)
            continue
        if update.ref != branch:
            if not allow_other:
                problems.append(Problem("branch", update.ref, f"only {branch} may be pushed "
                                        "to this registry (git config elite.allowOtherRefs "
                                        "true allows other refs)", update.new))
            continue
        if update.new == git.ZERO:
            problems.append(Problem("branch", update.ref, "the registry branch cannot be "
                                    "deleted", update.old))
            continue
        if update.old != git.ZERO and not git.is_ancestor(cwd, update.old, update.new):
            problems.append(Problem("non-fast-forward", update.ref, "history of the registry "
                                    "branch cannot be rewritten (not a fast-forward)",
                                    update.new))
            continue
        for commit in git.new_commits(cwd, update.old, update.new):
            progress.step("commits")
            problems += check_commit(repo, commit, now=now, max_skew=skew)
            checked += 1
    return problems, checked


MAX_COMMITS_PER_PUSH = git.MAX_COMMITS_PER_PUSH  # `git config elite.maxCommitsPerPush`


def too_many_commits(cwd: str | Path | None, updates: Sequence[RefUpdate]) -> list[Problem]:
    """A push's total work is bounded: at most elite.maxCommitsPerPush new commits on the
    registry branch (counted by `git rev-list --count`, before anything is read)."""
    from git_elite.core.errors import HookError

    value = git.config_get("elite.maxCommitsPerPush", cwd)
    try:
        most = int(value) if value else MAX_COMMITS_PER_PUSH
    except ValueError:
        raise HookError(f"git config elite.maxCommitsPerPush: {value!r} is not a number"
                        ) from None
    branch = registry_branch(cwd)
    found = []
    for update in updates:
        if update.ref == branch and update.new != git.ZERO:
            count = git.count_new_commits(cwd, update.old, update.new, most)
            if count > most:
                found.append(Problem("branch", update.ref, f"the push brings {count} commits; "
                                     f"at most {most} are checked per push (git config "
                                     "elite.maxCommitsPerPush): push in smaller steps",
                                     update.new))
    return found


def check_range(repo: Any, cwd: str | Path | None, base: str | None, head: str, *,
                now: int | None = None) -> tuple[list[Problem], int]:
    """`git elite check BASE..HEAD`: what pre-receive would say of a push moving the
    registry branch from `base` to `head` (the commit bound, then `check_push`: the
    non-fast-forward rule and every commit of the range against its parents). With no
    `base`, every commit reachable from `head`, from the root (an audit of the whole
    history as the hooks would have checked it; no commit bound)."""
    if base is None:
        problems: list[Problem] = []
        commits = git.run(["rev-list", "--reverse", "--topo-order", head], cwd
                          ).stdout.decode().split()
        skew = max_clock_skew(cwd)
        for commit in commits:
            progress.step("commits")
            problems += check_commit(repo, commit, now=now, max_skew=skew)
        return problems, len(commits)
    updates = [RefUpdate(base, head, registry_branch(cwd))]
    too_many = too_many_commits(cwd, updates)
    if too_many:
        return too_many, 0
    return check_push(repo, cwd, updates, now=now)


def _branch_tip_after(cwd: str | Path | None, branch: str, updates: Sequence[RefUpdate]
                      ) -> str | None:
    """The registry branch's tip once this push is in: what it moves to, else where it is."""
    moved = [u.new for u in updates if u.ref == branch and u.new != git.ZERO]
    return moved[0] if moved else git.run(["rev-parse", "-q", "--verify", branch], cwd,
                                          check=False).stdout.decode().strip() or None


def _timestamp_update(cwd: str | Path | None, update: RefUpdate, branch: str,
                      updates: Sequence[RefUpdate], now: int | None, skew: int
                      ) -> list[Problem]:
    """The `timestamp` rule (SPEC §6.1) for refs/elite/timestamp, against the registry
    branch's tip after this push."""
    from git_elite.edges import stamping

    tip = _branch_tip_after(cwd, branch, updates)
    return stamping.check_ref_update(cwd or ".", update.old, update.new, branch=branch,
                                      branch_tip=tip, now=now or 0, max_skew=skew)


def _log_update(repo: Any, cwd: str | Path | None, update: RefUpdate, branch: str,
                updates: Sequence[RefUpdate]) -> list[Problem]:
    """The `log` rule (SPEC §15) for refs/elite/log, against the branch tip after this push."""
    from git_elite.edges import logserver

    tip = _branch_tip_after(cwd, branch, updates)
    return logserver.check_ref_update(repo, cwd or ".", update.old, update.new,
                                      branch=branch, branch_tip=tip)


def audit(repo: Any, rev: str, remember: bool = False) -> list[Problem]:
    """Every file of the tree at `rev` checked as if added to an empty registry, streamed
    piece by piece on two cores (audit.py); with `remember`, through the verified-tree
    memory (edges/verified.py: the pieces unchanged since the last clean audit are not read
    again). `repo`: a pygit2 Repository, or a catfile.CatRepo (`audit_remembered`)."""
    from git_elite.edges import catfile

    if isinstance(repo, catfile.CatRepo):
        commit = repo.odb.resolve(f"{rev}^{{commit}}")
        if commit is None:
            raise RegistryError(f"unknown revision {rev}")
    else:
        commit = str(repo.revparse_single(rev).peel(git._pygit2().Commit).id)
    state = git.state_at(repo, commit)
    memory = None
    if remember:
        from git_elite.edges import verified

        memory = verified.open_memory(state)
    return _audit_state(repo, state, commit, memory)


def _audit_state(repo: Any, state: Any, commit: str, memory: Any) -> list[Problem]:
    from git_elite.core import audit as whole
    from git_elite.edges import catfile

    # each piece's blobs in batches through one `git cat-file` (per process), not one by
    # one: a stream of its own beside libgit2, or the CatRepo's own process
    stream = OdbStream(repo.odb) if isinstance(repo, catfile.CatRepo) else \
        catfile.Stream(str(repo.path))
    state.stream = stream
    try:
        return [p.at(commit) for p in whole.audit(state, memory)]
    finally:
        stream.close()


# what makes `git cat-file` read another repository than the one named by its path
_GIT_ENV = ("GIT_DIR", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_REPLACE_REF_BASE", "GIT_NO_REPLACE_OBJECTS")


def cat_reader(path: str) -> Any | None:
    """A catfile.CatRepo on the repository at `path` (one `git cat-file --batch-command`),
    or None when the environment points git at other objects than the path's own (GIT_DIR,
    ...) or it cannot be opened (the caller reads through libgit2, as before)."""
    import os

    from git_elite.edges import catfile

    if any(name in os.environ for name in _GIT_ENV):
        return None
    try:
        return catfile.open_repo(path)
    except (RegistryError, OSError):
        return None


def audit_remembered(path: str, rev: str, repo: Any | None = None) -> list[Problem] | None:
    """`audit(repo, rev, remember=True)` through `git cat-file` alone (catfile.CatRepo: no
    libgit2, whose import is ~50 ms, most of a second verify's own work) when a readable
    memory of this tree's context is there — the second verify (docs/registry.md, "What
    verify remembers"): the same checks over the same State, so the same problems. None
    (the caller audits through pygit2, as without a memory) when there is no usable memory
    (a first verify reads the whole tree, which libgit2 lists faster), `rev` names no
    commit (the caller's error), or there is no such reader (`cat_reader`). `repo`: a
    CatRepo of the caller's (left open), else one of its own."""
    from git_elite.edges import verified

    reader = cat_reader(path) if repo is None else repo
    if reader is None:
        return None
    try:
        commit = reader.odb.resolve(f"{rev}^{{commit}}")
        if commit is None:
            return None
        state = git.state_at(reader, commit)
        memory = verified.open_memory(state)
        if memory is None or memory.recall() is None:
            return None
        return _audit_state(reader, state, commit, memory)
    finally:
        if repo is None:
            reader.close()


class OdbStream:
    """catfile.Stream's `contents` over a CatRepo's own `git cat-file` process (its
    read-ahead, then its reads): no second process for the blobs."""

    def __init__(self, odb: Any):
        self.odb = odb

    def contents(self, oids: list[str]) -> dict[str, bytes]:
        self.odb.warm("contents", oids)
        found: dict[str, bytes] = {}
        for oid in oids:
            try:
                kind, data = self.odb.read(oid)
            except KeyError:
                continue  # left for the caller to read (and report) as without it
            if kind == 3:
                found[oid] = data
        return found

    def close(self) -> None:
        pass  # the CatRepo's process: its owner ends it


def audit_history(repo: Any, cwd: str | Path | None, rev: str) -> tuple[list[Problem], int]:
    """Every first-parent commit up to `rev`, each against its parent."""
    commits = git.first_parent_history(cwd, rev)
    problems: list[Problem] = []
    for commit in commits:
        progress.step("commits")
        problems += check_commit(repo, commit, legacy=True)
    return problems, len(commits)


def identity_body(state: State) -> dict[str, Any] | None:
    """The parsed IDENTITY.json of a state (as stored), or None."""
    from git_elite.core import documents
    from git_elite.core.errors import EliteError

    raw = state.read(layout.IDENTITY)
    if raw is None:
        return None
    try:
        return documents.parse(raw, layout.IDENTITY, documents.REGISTRY_IDENTITY).body
    except EliteError:
        return None


def merged_head(repo: Any, theirs: str) -> bytes | None:
    """The INDEX.json head of merging commit `theirs` into HEAD (see `merged_index`)."""
    files = merged_index(repo, theirs)
    return None if files is None else files.get(layout.INDEX)


def merged_index(repo: Any, theirs: str) -> dict[str, bytes | None] | None:
    """The index files of merging commit `theirs` into HEAD that differ from ours: our tree
    with the registry files `theirs` changed since the merge base and we did not (files both
    changed conflict; the commit that resolves them rebuilds the index in pre-commit). None
    when it cannot tell (no common base)."""
    from git_elite.core.state import Overlay

    ours = str(repo.head.peel(git._pygit2().Commit).id)
    base = repo.merge_base(ours, theirs)
    if base is None:
        return None
    trees = {name: git.commit_tree(repo, rev) for name, rev in
             (("base", str(base)), ("ours", ours), ("theirs", theirs))}
    mine = {c.path for c in git.diff_trees(repo, trees["base"], trees["ours"])}
    derived = (layout.INDEX, "index/")
    changes = [c for c in git.diff_trees(repo, trees["base"], trees["theirs"])
               if c.path not in mine and not c.path.startswith(derived)]
    parent = git.TreeState(repo, trees["ours"])
    changes = [Change(c.path, parent.read(c.path), c.new) for c in changes]
    return engine.expected_files(parent, changes, Overlay(parent, changes))
