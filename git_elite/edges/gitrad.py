"""Reading a Radicle storage bare repo ($RAD_HOME/storage/<z-rid>, SPEC §11) for
`radicle.check_storage`: refs, sigrefs and identity documents. Read only: nothing here
writes into Radicle storage. Part of the git layer (git.py, gittree.py, gitnet.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from git_elite.core.errors import RegistryError
from git_elite.edges.git import run

if TYPE_CHECKING:
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
