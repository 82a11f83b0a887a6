"""The only module that talks to git: pygit2 for reading objects, `git` subprocesses for
porcelain (push, fetch, config as git reads it). pygit2 is imported lazily."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from git_elite.errors import RegistryError


def run(args: Sequence[str], cwd: str | Path | None = None, *, input: bytes | None = None,
        env: Mapping[str, str] | None = None, check: bool = True
        ) -> subprocess.CompletedProcess[bytes]:
    """Run `git ARGS`; on failure (with check) a RegistryError carrying git's own message."""
    full_env = None if env is None else {**os.environ, **env}
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=input, env=full_env,
                              capture_output=True, check=False)
    except FileNotFoundError:
        raise RegistryError("git is not installed or not on PATH") from None
    if check and proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RegistryError(f"git {args[0]} failed: {detail[-1] if detail else proc.returncode}")
    return proc


def open_repo(path: str | Path = ".") -> Any:
    """A pygit2.Repository for `path` (searching upwards, like git)."""
    import pygit2

    try:
        found = pygit2.discover_repository(str(path))
        if found is None:
            raise RegistryError(f"{path}: not a git repository")
        return pygit2.Repository(found)
    except pygit2.GitError as err:
        raise RegistryError(f"{path}: cannot open repository: {err}") from None


# --- Radicle storage ---
# Reading a Radicle storage bare repo ($RAD_HOME/storage/<z-rid>, SPEC §11). Read only:
# nothing here writes into Radicle storage.

from typing import TYPE_CHECKING  # noqa: E402  (kept in this section for easy merges)

if TYPE_CHECKING:
    from git_elite.radicle import Sigrefs, StorageView


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


def blob_at(repo: Any, commit: str, path: str) -> bytes | None:
    """Bytes of `commit:path`, or None when there is no such blob."""
    import pygit2

    try:
        obj = repo[repo[commit].peel(pygit2.Commit).tree[path].id]
    except (KeyError, ValueError, pygit2.GitError):
        return None
    return bytes(obj.data) if obj.type_str == "blob" else None


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
    from git_elite.radicle import Sigrefs

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
    from git_elite.radicle import DOC_PATH, IDENTITY_REF, StorageView

    repo = _rad_open(storage)
    root = rad_identity_root(storage)
    current = ref_oid(repo, IDENTITY_REF)
    return StorageView(
        root_commit=root,
        root_doc=blob_at(repo, root, DOC_PATH) if root else None,
        current_doc=blob_at(repo, current, DOC_PATH) if current else None,
        sigrefs={nid: rad_sigrefs(repo, nid) for nid in rad_namespaces(repo)})


def remote_urls(path: str | Path, prefer: str | None = None) -> list[str]:
    """Fetch URLs of the remotes of the repo at `path`, remote `prefer` first."""
    proc = run(["config", "--get-regexp", r"^remote\..*\.url$"], cwd=path, check=False)
    pairs = [line.split(" ", 1) for line in proc.stdout.decode().splitlines() if " " in line]
    first = [url for key, url in pairs if key == f"remote.{prefer}.url"]
    return first + [url for key, url in pairs if key != f"remote.{prefer}.url"]
