"""`git elite verify`'s body, without click (cli/commands/verify.py is its click command; the
launcher runs it for the argument lists cli/fastpath.py parses exactly as click would)."""

from __future__ import annotations

import os

from git_elite.edges import output

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any, NamedTuple

    from git_elite.core.errors import Problem
    from git_elite.core.radicle import RadicleCheck
else:
    from git_elite.core.records import NamedTuple

# (no `re`, `pathlib`, `typing` or core.radicle on a local verify's path: ~10 ms of imports
# a second verify does not need; docs/scale.md, "second verify, round 7")
_SCHEME = frozenset("abcdefghijklmnopqrstuvwxyz0123456789+.-")


def is_url(target: str) -> bool:
    """`re.match(r"^[a-z][a-z0-9+.-]*://|^[^/\\s]+@[^/\\s]+:", target)`: a URL with a scheme
    or an scp-like `user@host:path` (tests/test_verifying_tests.py holds the two equal)."""
    if target[:1] in _SCHEME and target[:1].isalpha():
        end = 1
        while end < len(target) and target[end] in _SCHEME:
            end += 1
        if target.startswith("://", end):
            return True
    end = 0  # the leading run of characters that are neither `/` nor whitespace
    while end < len(target) and target[end] != "/" and not target[end].isspace():
        end += 1
    at = target.find("@", 1, end)
    return at != -1 and target.find(":", at + 2, end) != -1


def is_rad_url(target: str) -> bool:
    """`radicle.is_rad_url` without importing core.radicle (5 dataclasses and hashlib)."""
    return target.startswith(("rad://", "rad:z"))


def run(target: str, rev: str, history: bool, as_json: bool, url: str | None,
        no_cache: bool, allow_stale: bool, now: int) -> int:
    """`git elite verify` with its options (cli/commands/verify.py parses them with click,
    cli/fastpath.py the plain lists without it); `now`: the command's clock."""
    stale = (now, allow_stale, not no_cache)
    if url is not None:
        return _verify_url(url, target, rev, history, as_json, stale)
    if is_rad_url(target) and not os.path.exists(target):
        from git_elite.core import radicle

        target = str(radicle.parse_url(target))  # a bare `rad:z…` RID → rad://z…
    if target.startswith("file://"):
        target = local_path(target)  # on this machine: read it where it is, no clone
    if is_url(target) and not os.path.exists(target):
        import tempfile  # (only here: ~5 ms of imports a local verify does not need)

        with tempfile.TemporaryDirectory(prefix="git-elite-verify-") as tmp:
            from git_elite.edges import git
            from git_elite.edges.cache import LOG_SPEC, TIMESTAMP_SPEC

            clone = os.path.join(tmp, "registry.git")
            git.run(["clone", "-q", "--bare", "--", target, clone])
            git.run(["fetch", "-q", "--no-tags", "--", target, TIMESTAMP_SPEC, LOG_SPEC], clone,
                    check=False)
            from git_elite.edges import repofacts

            return _verify(clone, rev, history, as_json, target, stale,
                           repofacts.Facts(clone))
    if not os.path.exists(target):
        from git_elite.core.errors import RegistryError

        raise RegistryError(f"{target}: does not exist (give a registry path, bare "
                            "repository or URL)")
    from git_elite.edges import git, repofacts

    # one `git config` (and HEAD's file) for the whole verify, begun now: git answers it
    # while the audit's modules load (docs/scale.md, "second verify, round 8")
    facts = repofacts.Facts(target, ahead=True)
    try:
        code = _verify(target, rev, history, as_json, target, stale, facts)
        _uncommitted(target, rev, facts)
    finally:
        git.start_clear()
    return code


def _uncommitted(path: str, rev: str, facts: Any) -> None:
    """verify reads commits, not the work tree: say when the registry has changes that are
    not committed (they are checked by the pre-commit hook when committed). `facts`: a
    repofacts.Facts of `path` (a bare repository: no `git rev-parse` to say it has none)."""
    from git_elite.edges import git

    top = facts.toplevel()
    if top is None:
        return
    proc = git.run(["status", "--porcelain", "--untracked-files=normal"], top, check=False)
    changed = [line for line in proc.stdout.decode(errors="replace").splitlines() if line]
    if changed:
        output.info(f"git-elite: note: {top} has {len(changed)} uncommitted change(s) "
                    f"(`git status`); verify checked the commits at {rev}, not them")


def local_path(url: str) -> str:
    """The path of a file:// URL (`file:///srv/x.git`, `file://localhost/srv/x.git`)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        from git_elite.core.errors import UsageError

        raise UsageError(f"{url}: a file:// URL names a path on this machine (no host)")
    return unquote(parts.path)


def _verify_url(url: str, target: str, rev: str, history: bool, as_json: bool,
                stale: tuple[int, bool, bool]) -> int:
    from git_elite.core.errors import UsageError
    from git_elite.edges import sparse

    if history or rev != "HEAD" or target != ".":
        raise UsageError("--url reads what the server serves now: no PATH, --rev or --history")
    problems, fresh = sparse.audit(url, *stale[:2])
    result = {} if fresh is None else {"freshness": fresh.to_dict()}
    from git_elite.core import logrole
    from git_elite.core.errors import Problem
    from git_elite.core.witnessed import LogError
    from git_elite.edges import logread

    try:
        accepted = logread.of_url(url)
    except LogError as err:
        problems.append(Problem(err.rule or logrole.RULE, "log/checkpoint", err.message))
        result["log"] = {"ok": False, "rule": err.rule, "message": err.message}
    else:
        if accepted is not None:
            output.info(f"git-elite: verify: {sparse.shown(url)}: {accepted.line()}")
            result["log"] = {"ok": True, **accepted.to_dict()}
    return _report(problems, f"files served at {sparse.shown(url)}", as_json, result)


def _verify(path: str, rev: str, history: bool, as_json: bool, origin: str,
            stale: tuple[int, bool, bool], facts: Any) -> int:
    from git_elite.edges import gitcheck

    # with the memory: one `git cat-file` for the tree's audit (when the memory applies),
    # the registry branch's tip and its IDENTITY.json (two `git` processes fewer)
    cat = gitcheck.cat_reader(path) if stale[2] and not history else None
    try:
        return _verify_with(cat, path, rev, history, as_json, origin, stale, facts)
    finally:
        if cat is not None:
            cat.close()


def _verify_with(cat: Any | None, path: str, rev: str, history: bool, as_json: bool,
                 origin: str, stale: tuple[int, bool, bool], facts: Any) -> int:
    from git_elite.edges import git, gitcheck, progress

    opened: list[Any] = []

    def repo() -> Any:  # libgit2's, opened only when needed (its import is ~50 ms)
        if not opened:
            opened.append(git.open_reader(path))
        return opened[0]

    if history:
        with progress.meter("commits", f"verify: commits up to {rev}"):
            problems, count = gitcheck.audit_history(repo(), repo().path, rev)
        what = f"{count} commit(s)"
        counted: dict[str, Any] = {"commits_checked": count}
    else:
        with progress.meter("files", f"verify: files of the tree at {rev}"):
            # a second verify through `git cat-file` alone when the memory applies
            found = gitcheck.audit_remembered(path, rev, cat) if cat is not None else None
            problems = found if found is not None else \
                gitcheck.audit(repo(), rev, remember=stale[2])
        what = f"tree at {rev}"
        counted = {}
    parts = [(len(problems), what)]
    check = _radicle(repo, path, origin, rev, facts)
    result: dict[str, Any] = dict(counted)
    if check is not None:
        parts.append((len(check.problems), f"Radicle signed refs of {check.rid}"))
        problems += [p.at(check.signed_tip or _commit(path, rev)) for p in check.problems]
        for note in check.notes:
            output.info(f"git-elite: verify: {check.rid}: {note}")
        result["radicle"] = {"rid": check.rid, "checked": check.checked, "ok": check.ok,
                             "notes": list(check.notes), "delegates": list(check.delegates),
                             "signed_by": list(check.signed_by)}
    tip = _tip_of(path, cat, facts)
    problems += _identity_pin(path, origin, tip, cat)
    fresh = _freshness(path, origin, check, tip, *stale[:2])
    if fresh is not None:  # only for a registry that declares a timestamp role
        parts.append((len(fresh[0]), "refs/elite/timestamp (freshness)"))
        problems += fresh[0]
        result["freshness"] = fresh[1]
    logged = _log(path, origin, check, history, tip)
    if logged is not None:  # only for a registry that declares a log role
        parts.append((len(logged[0]), "refs/elite/log (witnessed log)"))
        problems += logged[0]
        result["log"] = logged[1]
    return _report(problems, what, as_json, result, parts)


class Tip(NamedTuple):
    """The registry branch, its tip and IDENTITY.json there, read once per verify for the
    identity pin, the freshness and the log checks (each used to read them again: 9 `git`
    processes fewer)."""

    branch: str
    commit: str | None
    raw: bytes | None  # IDENTITY.json at the tip
    identity: dict[str, Any] | None  # its body (None: absent or unreadable)


def _tip_of(path: str, cat: Any | None = None, facts: Any = None) -> Tip:
    """`cat`: a catfile.CatRepo on `path` (the tip and IDENTITY.json read through it, no
    `git` process each), or None; `facts`: a repofacts.Facts of `path`, or None."""
    from git_elite.core import documents, layout
    from git_elite.core.errors import EliteError
    from git_elite.edges import freshness, gitcheck

    branch = gitcheck.registry_branch(path, facts)
    commit = freshness.resolve(path, branch, None if cat is None else cat.odb)
    raw = (git_blob(path, commit) if cat is None else _cat_blob(cat, commit)) if commit \
        else None
    identity = None
    if raw is not None:
        try:
            identity = documents.parse(raw, layout.IDENTITY, documents.REGISTRY_IDENTITY).body
        except EliteError:
            identity = None
    return Tip(branch, commit, raw, identity)


def _log(path: str, origin: str, check: RadicleCheck | None, history: bool, at: Tip
         ) -> tuple[list[Problem], dict[str, Any]] | None:
    """SPEC §15 at the registry branch's tip: the witnessed log's checkpoint, quorum, latest
    leaf and consistency with what this reader accepted before (`log`, `split-view`); with
    --history, every leaf a commit of the branch's history, in order."""
    from git_elite.core import logrole

    branch, tip, identity = at.branch, at.commit, at.identity
    if tip is None or logrole.LogRole.of(identity) is None:
        return None
    # (the log's readers only for a registry that declares one: ~10 ms of imports)
    from git_elite.core.errors import Problem
    from git_elite.core.witnessed import LogError
    from git_elite.edges import git, logread, tlogstore

    ref, where = logread.radicle_ref(check, path)
    try:
        accepted = logread.check_repo(where, identity, branch=branch, tip=tip, ref=ref)
    except LogError as err:
        return [Problem(err.rule or logrole.RULE, logrole.REF, err.message, tip)], \
            {"ok": False, "rule": err.rule, "message": err.message}
    assert accepted is not None
    output.info(f"git-elite: verify: {origin}: {accepted.line()}")
    problems: list[Problem] = []
    if history:
        stored = tlogstore.current(git.open_repo(where), ref)
        assert stored is not None
        commits = git.first_parent_history(path, tip)
        problems = [Problem(logrole.RULE, logrole.REF, message, tip) for message in
                    logread.history_problems(stored, accepted.size,
                                             branch.removeprefix("refs/heads/"), commits)]
    return problems, {"ok": not problems, **accepted.to_dict()}


def _report(problems: list[Any], what: str, as_json: bool, result: dict[str, Any],
            parts: list[tuple[int, str]] | None = None) -> int:
    if as_json:
        output.emit_json({"ok": not problems, "problems": [p.to_dict() for p in problems],
                          **result})
    else:
        for p in problems:
            output.data(f"{(p.commit or '')[:7]} {p.line()}")
    if problems:
        parts = parts or [(len(problems), what)]
        where = ", ".join(f"{n} in {name}" for n, name in parts if n)
        fine = "".join(f"; {name} OK" for n, name in parts if not n)
        output.info(f"git-elite: verify: {len(problems)} problem(s): {where}{fine}")
        return 1
    output.info(f"git-elite: verify: {what} OK")
    return 0


def _commit(path: str, rev: str) -> str:
    from git_elite.edges import git

    return git.run(["rev-parse", "--verify", f"{rev}^{{commit}}"], path).stdout.decode().strip()


def _radicle(repo: Callable[[], Any], path: str, origin: str, rev: str, facts: Any = None
             ) -> RadicleCheck | None:
    """SPEC §11 for a Radicle registry (a `rad clone` working copy or a rad:// URL): the
    registry owner is a delegate and the tip is the one a delegate signed. None when the
    registry is not a Radicle one."""
    from git_elite.edges import git, gitcheck, gitrad

    storage: Path | None
    if is_rad_url(origin):
        from git_elite.core import radicle

        rid = radicle.parse_url(origin).rid
        storage = gitrad.storage_path(rid)
    else:
        found = gitrad.storage_for_worktree(
            path, urls=None if facts is None else facts.remote_urls("rad"))
        if found is None:
            return None
        rid, storage = found
    from git_elite.core import radicle

    tip = _commit(path, rev)
    identity = gitcheck.identity_body(git.state_at(repo(), tip))
    if identity is None:
        return radicle.RadicleCheck.unchecked(rid, f"no valid IDENTITY.json at {rev}")
    if storage is None or not storage.is_dir():
        return radicle.RadicleCheck.unchecked(
            rid, f"no Radicle storage for {rid} in {gitrad.rad_home() / 'storage'}")
    return gitrad.check_storage(storage, rid, str(identity["owner_did"]), None, tip)


def _identity_pin(path: str, origin: str, at: Tip, cat: Any | None = None) -> list[Problem]:
    """SPEC §6.2 at the registry branch's tip: an IDENTITY.json older than, or dropping a
    role of, the highest one this reader has seen for the registry (`rollback`). `cat`: a
    catfile.CatRepo on `path` (the root commit found by walking to a remembered tip)."""
    from git_elite.core.errors import EliteError
    from git_elite.edges import identity_seen

    tip, raw = at.commit, at.raw
    if tip is None or raw is None or at.identity is None:
        return []
    try:
        identity_seen.check(identity_seen.git_key(path, tip, cat), raw, origin,
                            identity_seen.history(path, tip))
    except EliteError as err:
        return [err.problem(tip)]
    return []


def git_blob(path: str, tip: str) -> bytes | None:
    from git_elite.core import layout
    from git_elite.edges import git

    proc = git.run(["cat-file", "blob", f"{tip}:{layout.IDENTITY}"], path, check=False)
    return proc.stdout if proc.returncode == 0 else None


def _cat_blob(cat: Any, tip: str) -> bytes | None:
    """`git_blob` through the CatRepo: IDENTITY.json at `tip` when it is a blob (a regular
    file or a symlink, as `git cat-file blob <tip>:IDENTITY.json` reads either), else None."""
    from git_elite.core import layout
    from git_elite.edges import gittree

    try:
        entry = gittree.entry_at(cat.commit_tree(tip), layout.IDENTITY)
        if entry is None or entry.type_str != "blob":
            return None
        data: bytes = cat.odb.read(entry.id)[1]
    except KeyError:
        return None
    return data


def _freshness(path: str, origin: str, check: RadicleCheck | None, at: Tip, now: int,
               allow_stale: bool) -> tuple[list[Problem], dict[str, Any]] | None:
    """SPEC §6.1 at the registry branch's tip: a `timestamp` problem for a stale copy (a
    warning with --allow-stale), and what `verify --json` reports under "freshness"."""
    from git_elite.core import timestamp
    from git_elite.core.errors import Problem
    from git_elite.edges import freshness

    branch, tip, identity = at.branch, at.commit, at.identity
    if tip is None or identity is None:
        return None
    ref = timestamp.REF
    where: str | Path = path
    if check is not None:
        ref, where = freshness.radicle_ref(check, path)
    result = freshness.check(where, tip=tip, branch=branch.removeprefix("refs/heads/"),
                             identity=identity, now=now, ref=ref)
    if result.case == timestamp.UNDECLARED:
        return None
    if result.case == timestamp.FRESH:
        output.info(f"git-elite: verify: {origin}: {result.message}")
    if result.ok:
        return [], result.to_dict()
    if allow_stale:
        output.warn(f"{result.line(origin)} (--allow-stale)")
        return [], result.to_dict()
    return [Problem(timestamp.RULE, ref, f"{result.case}: {result.message}", tip)], \
        result.to_dict()
