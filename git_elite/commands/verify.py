"""`git elite verify [PATH|URL] [--rev REV] [--history] [--json]`: audit a registry (SPEC §7)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from git_elite import output

if TYPE_CHECKING:
    from git_elite.radicle import RadicleCheck

CTX = {"help_option_names": ["-h", "--help"]}
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^[^/\s]+@[^/\s]+:")


@click.command(context_settings=CTX)
@click.argument("target", required=False, default=".")
@click.option("--rev", default="HEAD", show_default=True, help="Revision to audit.")
@click.option("--history", is_flag=True, help="Check every first-parent commit up to REV.")
@click.option("--json", "as_json", is_flag=True, help="Machine output.")
def command(target: str, rev: str, history: bool, as_json: bool) -> int:
    """Audit a registry (work tree, bare repository or URL) against every rule.

    A path or file:// URL is read where it is (no network, no copy); another URL is cloned
    into a temporary directory first.

    Without --history the tree at REV is checked as if every file were added to an empty
    registry; with it, every first-parent commit is checked against its parent. For a
    Radicle registry (a `rad clone` working copy, or a rad:// URL) whose storage is in
    $RAD_HOME, it also checks that the registry owner is a delegate and that REV is the tip
    a delegate signed; when the storage is not there it says so.

    \b
    Examples:
      git elite verify
      git elite verify --history --json
      git elite verify https://example.org/chrysalis-elites.git --rev main
      git elite verify file:///srv/git/chrysalis-elites.git --history
      git elite verify rad:z42hL2jL4XNk6K8oHQaSWfMgCL7ji
    """
    from git_elite import radicle

    if radicle.is_rad_url(target) and not Path(target).exists():
        target = str(radicle.parse_url(target))  # a bare `rad:z…` RID → rad://z…
    if target.startswith("file://"):
        target = local_path(target)  # on this machine: read it where it is, no clone
    if _URL.match(target) and not Path(target).exists():
        with tempfile.TemporaryDirectory(prefix="git-elite-verify-") as tmp:
            from git_elite import git

            git.run(["clone", "-q", "--bare", target, str(Path(tmp) / "registry.git")])
            return _verify(str(Path(tmp) / "registry.git"), rev, history, as_json, target)
    return _verify(target, rev, history, as_json, target)


def local_path(url: str) -> str:
    """The path of a file:// URL (`file:///srv/x.git`, `file://localhost/srv/x.git`)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        from git_elite.errors import UsageError

        raise UsageError(f"{url}: a file:// URL names a path on this machine (no host)")
    return unquote(parts.path)


def _verify(path: str, rev: str, history: bool, as_json: bool, origin: str) -> int:
    from git_elite import git, progress, registry

    repo = git.open_repo(path)
    cwd = repo.path
    if history:
        with progress.meter("commits", f"verify: commits up to {rev}"):
            problems, count = registry.audit_history(repo, cwd, rev)
        what = f"{count} commit(s)"
    else:
        with progress.meter("files", f"verify: files of the tree at {rev}"):
            problems = registry.audit(repo, rev)
        what = f"tree at {rev}"
    check = _radicle(repo, path, origin, rev)
    result: dict[str, Any] = {}
    if check is not None:
        problems += [p.at(check.signed_tip or _commit(path, rev)) for p in check.problems]
        for note in check.notes:
            output.info(f"git-elite: verify: {check.rid}: {note}")
        result["radicle"] = {"rid": check.rid, "checked": check.checked, "ok": check.ok,
                             "notes": list(check.notes), "delegates": list(check.delegates),
                             "signed_by": list(check.signed_by)}
    if as_json:
        output.emit_json({"ok": not problems, "problems": [p.to_dict() for p in problems],
                          **result})
    else:
        for p in problems:
            output.data(f"{(p.commit or '')[:7]} {p.line()}")
    if problems:
        output.info(f"git-elite: verify: {len(problems)} problem(s) in {what}")
        return 1
    output.info(f"git-elite: verify: {what} OK")
    return 0


def _commit(path: str, rev: str) -> str:
    from git_elite import git

    return git.run(["rev-parse", "--verify", f"{rev}^{{commit}}"], path).stdout.decode().strip()


def _radicle(repo: Any, path: str, origin: str, rev: str) -> RadicleCheck | None:
    """SPEC §11 for a Radicle registry (a `rad clone` working copy or a rad:// URL): the
    registry owner is a delegate and the tip is the one a delegate signed. None when the
    registry is not a Radicle one."""
    from git_elite import git, radicle, registry

    storage: Path | None
    if radicle.is_rad_url(origin):
        rid = radicle.parse_url(origin).rid
        storage = radicle.storage_path(rid)
    else:
        found = radicle.storage_for_worktree(path)
        if found is None:
            return None
        rid, storage = found
    tip = _commit(path, rev)
    identity = registry.identity_body(git.state_at(repo, tip))
    if identity is None:
        return radicle.RadicleCheck.unchecked(rid, f"no valid IDENTITY.json at {rev}")
    if storage is None or not storage.is_dir():
        return radicle.RadicleCheck.unchecked(
            rid, f"no Radicle storage for {rid} in {radicle.rad_home() / 'storage'}")
    return radicle.check_storage(storage, rid, str(identity["owner_did"]), None, tip)
