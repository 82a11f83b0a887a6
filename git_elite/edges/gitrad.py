"""Reading a Radicle storage bare repo ($RAD_HOME/storage/<z-rid>, SPEC §11): refs, sigrefs
and identity documents, and `check_storage`, which runs `radicle.check` (the core) over
them; where this machine's storage is (`rad_home`, `storage_path`, `storage_for_worktree`).
Read only: nothing here writes into Radicle storage. Part of the git layer (git.py,
gittree.py, gitnet.py)."""

from __future__ import annotations

import os

from git_elite.core.errors import RegistryError
from git_elite.edges import git
from git_elite.edges.git import run

TYPE_CHECKING = False
if TYPE_CHECKING:  # (no pathlib or typing for a working copy without a rad:// remote)
    from pathlib import Path
    from typing import Any

    from git_elite.core import radicle
    from git_elite.core.radicle import Sigrefs, StorageView


def _rad_open(path: str | Path) -> Any:
    import pygit2

    try:
        return pygit2.Repository(str(path))
    except pygit2.GitError as err:
        raise RegistryError(f"{path}: cannot open Radicle storage: {err}") from None


def ref_oid(repo: Any, refname: str) -> str | None:
    """The object a ref (after peeling symbolic refs) names, or None."""
    ref = repo.references.get(refname)
    return None if ref is None else str(ref.resolve().target)


def blob_at(repo: Any, commit: str, path: str, max_bytes: int = 1024 * 1024) -> bytes | None:
    """Bytes of `commit:path`, or None when there is no such blob, or it is not a regular
    file or over `max_bytes` (sized from its object header, never inflated)."""
    import pygit2

    from git_elite.edges import gittree

    try:
        entry = repo[commit].peel(pygit2.Commit).tree[path]
        kind, size = repo.odb.read_header(entry.id)
    except (KeyError, ValueError, pygit2.GitError):
        return None
    if entry.filemode != gittree.REGULAR or int(kind) != 3 or size > max_bytes:
        return None
    return bytes(repo[entry.id].data)


def rad_identity_root(storage: str | Path) -> str | None:
    """`git rev-list --max-parents=0 refs/rad/id` (the last root when there are several)."""
    proc = run(["rev-list", "--max-parents=0", "refs/rad/id", "--"], cwd=storage, check=False)
    roots = proc.stdout.decode().split() if proc.returncode == 0 else []
    return roots[-1] if roots else None


def rad_namespaces(repo: Any) -> list[str]:
    """Namespaces (NIDs) that have a `refs/rad/sigrefs`."""
    found = []
    for name in repo.references:
        parts = name.split("/")
        if len(parts) == 6 and parts[:2] == ["refs", "namespaces"] and \
                parts[3:] == ["refs", "rad", "sigrefs"]:
            found.append(parts[2])
    return sorted(found)


def rad_sigrefs(repo: Any, nid: str) -> Sigrefs | None:
    """The sigrefs commit of namespace `nid`: its `refs`, `signature` and parent."""
    from git_elite.core.radicle import Sigrefs

    commit = ref_oid(repo, f"refs/namespaces/{nid}/refs/rad/sigrefs")
    if commit is None:
        return None
    refs, signature = blob_at(repo, commit, "refs"), blob_at(repo, commit, "signature")
    if refs is None or signature is None:
        return None
    parents = repo[commit].parent_ids
    return Sigrefs(nid, commit, str(parents[0]) if parents else None, refs, signature)


def rad_storage_view(storage: str | Path) -> StorageView:
    """Everything `radicle.check` needs, read from a storage bare repo."""
    from git_elite.core.radicle import DOC_PATH, IDENTITY_REF, StorageView

    repo = _rad_open(storage)
    root = rad_identity_root(storage)
    current = ref_oid(repo, IDENTITY_REF)
    return StorageView(
        root_commit=root,
        root_doc=blob_at(repo, root, DOC_PATH) if root else None,
        current_doc=blob_at(repo, current, DOC_PATH) if current else None,
        sigrefs={nid: rad_sigrefs(repo, nid) for nid in rad_namespaces(repo)})


# --- Radicle storage on this machine -------------------------------------------------------


def rad_home() -> Path:
    """`$RAD_HOME`, default `~/.radicle`."""
    from pathlib import Path

    return Path(os.environ.get("RAD_HOME") or Path.home() / ".radicle")


def storage_path(rid: str, home: Path | None = None) -> Path:
    from git_elite.core import radicle

    return (home or rad_home()) / "storage" / radicle.canonical_rid(rid)[len(radicle.RAD_PREFIX):]


def check_storage(storage: str | Path, rid: str, owner_did: str, branch: str | None,
                  tip_oid: str) -> radicle.RadicleCheck:
    """Read `storage` (a Radicle storage bare repo) and run `check`."""
    from git_elite.core import radicle

    rid = radicle.canonical_rid(rid)
    if not os.path.isdir(storage):  # (Path(storage).is_dir())
        return radicle.RadicleCheck.unchecked(rid, f"no Radicle storage at {storage}")
    try:
        view = rad_storage_view(storage)
    except RegistryError as err:
        return radicle.RadicleCheck.unchecked(rid, f"cannot read {storage}: {err.message}")
    return radicle.check(rid, view, owner_did, branch, tip_oid)


def storage_for_worktree(path: str | Path, home: Path | None = None,
                         urls: list[str] | None = None) -> tuple[str, Path | None] | None:
    """For a `rad clone` working copy: (RID, storage path or None if absent); None when the
    repository has no rad:// remote (the remote named `rad` first; `urls`: the remotes'
    URLs in that order when the caller has read them)."""
    for url in git.remote_urls(path, prefer="rad") if urls is None else urls:
        if not url.startswith("rad:"):  # core.radicle (and dataclasses) only for a rad URL
            continue
        from git_elite.core import radicle

        if radicle.is_rad_url(url):
            rid = radicle.parse_url(url).rid
            found = storage_path(rid, home)
            return rid, (found if found.is_dir() else None)
    return None
