"""The static site of SPEC §14: the registry's own files at their paths, `timestamp.json`
when the registry has a timestamp role, `site.json` (what a static host cannot list) and
the leaderboard page (`git_elite/web/`, shipped as package data: what is in the wheel is
what runs). Does not print.

A rerun on a later commit rewrites only what changed: `.git-elite-site.json` in the output
names the commit last written, and the files are brought to the new commit by libgit2's tree
diff (cost follows the change, not the registry). Without it (first run, or a commit the
repository no longer has) every file is compared by bytes and only differing ones are
written; files that left are removed. A first run into a folder without the registry's
files lets git write them (`git archive` into tar, in C: a million agents in minutes,
not the better part of an hour) into a staging folder moved into place. Every write is
atomic (temp file + rename), files of agents and shards before the head, the head before
`timestamp.json`, so a reader during an update never sees a head whose shards are not
there yet.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from git_elite.core import layout
from git_elite.core.errors import RegistryError
from git_elite.edges import git

TOPS = ("IDENTITY.json", "INDEX.json", "index", "agents", "endorsements", "identities")
LISTED = ("endorsements", "identities")
PAGE = ("index.html", "verify.js", "elite.js", "elite.css")
STATE = ".git-elite-site.json"
SITE_JSON = "site.json"
TIMESTAMP = "timestamp.json"
TIMESTAMP_REF = "refs/elite/timestamp"
LOG_REF = "refs/elite/log"
LOG_DIR = "log"  # the log's checkpoint and tiles, a C2SP tlog-tiles base URL
_FILE_MODES = (0o100644, 0o100755)
# in `git ls-tree -z` records: a name ".", ".." or with a backslash (never served)
_ODD_ENTRY = re.compile(rb"[ /]\.\.?(?:/|\0|$)|\\")
_ATTESTATION = re.compile(r"agents/[0-9a-f]{2}/[0-9a-f]{64}/attestations/"
                          r"z[1-9A-HJ-NP-Za-km-z]{1,60}\.json")


@dataclass(frozen=True)
class Result:
    """What one run did: the commit written and how many files were written, removed or
    left as they were; `full` when every file was compared (no usable previous state)."""

    commit: str
    written: int
    removed: int
    unchanged: int
    full: bool


@dataclass
class _Tally:
    written: int = 0
    removed: int = 0
    unchanged: int = 0


def build(repo_path: str | Path, out: str | Path, rev: str = "HEAD") -> Result:
    """Write (or bring up to date) the site of the registry at `repo_path`, `rev` into `out`."""
    repo = git.open_reader(repo_path)
    commit = git.resolve_commit(repo, rev)
    if git.state_at(repo, commit).read(layout.IDENTITY) is None:  # as verify refuses it
        raise RegistryError(f"{repo_path}: no IDENTITY.json at {rev} ({commit[:12]}): not a "
                            "git elite registry; nothing written (give the registry's path: "
                            "git elite site PATH -o DIR)")
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    previous = _previous(repo, root)
    tally = _Tally()
    if previous is not None:
        changes = git.changed_blobs(repo, previous, commit)
        _apply(repo, root, changes, tally)
        attested = _patched(root, changes)
        if attested is None:  # a site.json from before attestations were listed: walk once
            attested = _attested(git.tree_blobs(repo, commit, ("agents",)))
    else:
        first = _first(repo_path, root, commit, tally)
        attested = first if first is not None else _attested(_full(repo, root, commit, tally))
    _timestamp(repo, root, tally)
    log = _log(repo, root, tally, _previous(repo, root, "log"))
    _put(root, SITE_JSON, listing(repo, commit, attested), tally)
    for name in PAGE:
        _put(root, name, page_file(name), tally)
    state = {"commit": commit, **({"log": log} if log else {})}
    _atomic(root / STATE, json.dumps(state).encode() + b"\n")
    return Result(commit, tally.written, tally.removed, tally.unchanged, previous is None)


def page_file(name: str) -> bytes:
    """One file of the page, as shipped in the package."""
    return resources.files("git_elite.web").joinpath(name).read_bytes()


def listing(repo: Any, commit: str, attested: Iterable[str] = ()) -> bytes:
    """site.json: the commit and the paths under endorsements/ and identities/ and of the
    attestations (a static host has no directory listing). Unsigned: each listed document is
    signed and checked on its own; a server that hides one can hide it from any reader,
    listed or not."""
    paths = sorted(b.path for b in git.tree_blobs(repo, commit, LISTED) if _servable(b))
    body = {"generator": "git-elite", "commit": commit,
            "endorsements": [p for p in paths if p.startswith("endorsements/")],
            "rotations": [p for p in paths if p.startswith("identities/")],
            "attestations": sorted(attested)}
    return json.dumps(body, indent=2, sort_keys=True).encode() + b"\n"


def _attested(blobs: Iterable[git.Blob]) -> set[str]:
    """The attestation files among `blobs` (agents/<ab>/<id>/attestations/<nid>.json)."""
    return {b.path for b in blobs if _servable(b) and _ATTESTATION.fullmatch(b.path)}


def _patched(root: Path, changes: list[tuple[str, git.Blob | None]]) -> set[str] | None:
    """The previous site.json's attestation list brought to the new commit by the tree
    diff (cost follows the change); None when there is no usable previous list."""
    try:
        found = json.loads((root / SITE_JSON).read_bytes())["attestations"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(found, list) or not all(isinstance(p, str) for p in found):
        return None
    out = {p for p in found if _ATTESTATION.fullmatch(p)}
    for path, blob in changes:
        if _ATTESTATION.fullmatch(path):
            out.discard(path)
            if blob is not None and _servable(blob):
                out.add(path)
    return out


def _previous(repo: Any, root: Path, key: str = "commit") -> str | None:
    try:
        commit = json.loads((root / STATE).read_bytes())[key]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return commit if isinstance(commit, str) and git.has_commit(repo, commit) else None


def _published(path: str) -> bool:
    return path in TOPS or path.split("/", 1)[0] in TOPS[2:]


def _servable(blob: git.Blob) -> bool:
    return blob.mode in _FILE_MODES and _safe(blob.path)


def _safe(path: str) -> bool:
    return all(part not in ("", ".", "..") and "\\" not in part for part in path.split("/"))


def _apply(repo: Any, root: Path, changes: list[tuple[str, git.Blob | None]],
           tally: _Tally) -> None:
    final: dict[str, git.Blob | None] = {}
    for path, blob in changes:
        if _published(path) and _safe(path):
            final[path] = blob if blob is None or _servable(blob) else None
    for path in sorted(final, key=_write_order):
        blob = final[path]
        if blob is None:
            _remove(root, path, tally)
        else:
            _put(root, path, git.blob_data(repo, blob.oid), tally)


def _full(repo: Any, root: Path, commit: str, tally: _Tally) -> list[git.Blob]:
    blobs = [b for b in git.tree_blobs(repo, commit, TOPS) if _servable(b)]
    for blob in sorted(blobs, key=lambda b: _write_order(b.path)):
        _put(root, blob.path, git.blob_data(repo, blob.oid), tally)
    keep = {b.path for b in blobs}
    for top in TOPS:
        target = root / top
        if target.is_file() and top not in keep:
            _remove(root, top, tally)
        elif target.is_dir():
            for found in sorted(target.rglob("*")):
                rel = found.relative_to(root).as_posix()
                if (found.is_file() or found.is_symlink()) and rel not in keep:
                    _remove(root, rel, tally)
    return blobs


def _first(repo_path: str | Path, root: Path, commit: str, tally: _Tally) -> set[str] | None:
    """A first write into a folder that has none of the registry's files: git writes them
    (`git.extract_tree`) into a staging folder inside `root`, which is then moved into place
    folder by folder, INDEX.json last; the attestation paths written come back. None
    (nothing done) when `root` already has some of them or the tree has an entry the site
    does not serve (a symlink, a submodule, an odd name): `_full` then writes file by file."""
    if any(os.path.lexists(root / top) for top in TOPS):
        return None
    for stale in root.glob(".tmp-site-*"):  # left by a run that was killed midway
        shutil.rmtree(stale, ignore_errors=True)
    listed = git.tree_file_modes(repo_path, commit, TOPS)
    if _ODD_ENTRY.search(listed) or not all(
            r.startswith((b"100644 ", b"100755 ")) for r in listed.split(b"\0") if r):
        return None
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".tmp-site-"))
    try:
        git.extract_tree(repo_path, commit, TOPS, staging)
        for record in listed.split(b"\0"):
            if record.startswith(b"100755 "):  # served like any document: 0644
                os.chmod(staging / os.fsdecode(record[7:]), 0o644)
        for top in sorted(TOPS, key=_write_order):
            if os.path.lexists(staging / top):
                os.replace(staging / top, root / top)
    except OSError as err:
        raise RegistryError(f"{root}: cannot write ({err.strerror})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    tally.written += listed.count(b"\0")
    return {path for r in listed.split(b"\0") if b"/attestations/" in r
            and _ATTESTATION.fullmatch(path := os.fsdecode(r[7:]))}


def _write_order(path: str) -> tuple[int, str]:
    """Agents, shards and the rest first; IDENTITY.json, then INDEX.json last."""
    return ({"IDENTITY.json": 1, "INDEX.json": 2}.get(path, 0), path)


def _timestamp(repo: Any, root: Path, tally: _Tally) -> None:
    from git_elite.edges import gitrad

    oid = gitrad.ref_oid(repo, TIMESTAMP_REF)
    data = gitrad.blob_at(repo, oid, TIMESTAMP) if oid else None
    if data is None:
        _remove(root, TIMESTAMP, tally)
    else:
        _put(root, TIMESTAMP, data, tally)


def _log(repo: Any, root: Path, tally: _Tally, previous: str | None) -> str | None:
    """The witnessed log (SPEC §15) under `log/`: refs/elite/log's tiles, then its
    checkpoint, then the files the new checkpoint no longer needs are removed, so a
    reader during an update finds the tiles of whichever checkpoint it read (docs/log.md).
    Only what changed since the log commit of the last run is written."""
    from git_elite.edges import gitrad

    oid = gitrad.ref_oid(repo, LOG_REF)
    if oid is None:
        for path in sorted(_files_under(root / LOG_DIR)):
            _remove(root, f"{LOG_DIR}/{path}", tally)
        return None
    if previous is not None:
        changes = git.changed_blobs(repo, previous, oid)
    else:
        changes = [(b.path, b) for b in git.tree_blobs(repo, oid, ("tile", "checkpoint"))]
    written = [(p, b) for p, b in changes if b is not None and b.mode in _FILE_MODES
               and _safe(p) and (p == "checkpoint" or p.startswith("tile/"))]
    for path, blob in sorted(written, key=lambda pair: (pair[0] == "checkpoint", pair[0])):
        _put(root, f"{LOG_DIR}/{path}", git.blob_data(repo, blob.oid), tally)
    kept = {p for p, b in changes if b is not None}
    for path in [p for p, b in changes if b is None and p not in kept]:
        _remove(root, f"{LOG_DIR}/{path}", tally)
    return oid


def _files_under(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]


def _put(root: Path, path: str, data: bytes, tally: _Tally) -> None:
    target = root / path
    try:
        if target.is_file() and not target.is_symlink() and target.stat().st_size == len(data) \
                and target.read_bytes() == data:
            tally.unchanged += 1
            return
    except OSError:
        pass
    _atomic(target, data)
    tally.written += 1


def _remove(root: Path, path: str, tally: _Tally) -> None:
    target = root / path
    if not (target.is_file() or target.is_symlink()):
        return
    target.unlink()
    tally.removed += 1
    parent = target.parent
    while parent != root:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


def _atomic(target: Path, data: bytes) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_dir():
            raise RegistryError(f"{target}: in the way (a symlink or folder where the site "
                                "writes a file); remove it")
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as err:
        raise RegistryError(f"{target}: cannot write ({err.strerror})") from None
