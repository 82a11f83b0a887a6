"""The witnessed log, read side (SPEC §15): a reader of a registry that declares a log role
accepts the state it reads only when the copy's refs/elite/log checkpoint verifies under the
log key, carries the quorum of declared witnesses' cosignatures, its tiles give its root, its
latest leaf is the tip read, and it extends the last checkpoint this reader accepted for the
origin and log key (kept in `$AGENTD_HOME/log/<hash>/checkpoint`). A fork is `split-view`: both
checkpoints are kept there as evidence and named.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from git_elite.core import logrole, note, tlog, witnessed
from git_elite.core.errors import EliteError
from git_elite.core.logrole import LogRole
from git_elite.core.witnessed import LogError
from git_elite.edges import freshness, git, store, tlogstore

MEMORY = "checkpoint"


@dataclass(frozen=True)
class Accepted:
    """A checkpoint a reader accepted: for `verify --json` and the messages."""

    origin: str
    size: int
    cosigned: tuple[str, ...]
    quorum: int

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "size": self.size, "cosigned_by": list(self.cosigned),
                "quorum": self.quorum}

    def line(self) -> str:
        return (f"log checkpoint {self.size} of {self.origin}, cosigned by "
                f"{', '.join(self.cosigned)} (quorum {self.quorum})")


def folder(role: LogRole) -> Path:
    """Where this reader keeps what it accepted of one log: per origin and log key (a log
    restarted under a new key, by the delegates' signed IDENTITY change, is a new log)."""
    name = hashlib.sha256(f"{role.origin}\n{role.key}".encode()).hexdigest()[:16]
    return store.home() / "log" / name


def check_repo(path: str | Path, identity: dict[str, Any] | None, *, branch: str, tip: str,
               ref: str = logrole.REF, remember: bool = True) -> Accepted | None:
    """The log check of a git copy (clone, cache, bare) at the registry branch's `tip`.
    None when the registry declares no log role; LogError when the copy is refused."""
    role = LogRole.of(identity)
    if role is None:
        return None
    repo = git.open_repo(path)
    stored = tlogstore.current(repo, ref)
    if stored is None:
        raise LogError(f"the registry declares a witnessed log ({role.origin}) but this copy "
                       f"has no {ref}: nothing shows that the witnesses saw this state")
    index = freshness.index_at(path)(tip)
    if index is None:
        raise LogError(f"no INDEX.json at the registry branch's tip {tip[:12]}")
    return check_stored(stored, role, branch=branch.removeprefix("refs/heads/"), tip=tip,
                        index_sha256=hashlib.sha256(index).hexdigest(), remember=remember)


def check_stored(stored: tlogstore.Stored, role: LogRole, *, branch: str, tip: str,
                 index_sha256: str, remember: bool = True) -> Accepted:
    """The checks of SPEC §15 on a stored log (any transport that can read its files). A
    checkpoint signed by the log key that does not extend the one this reader accepted is
    `split-view` whatever its cosignatures (the log key signed a fork: that is the
    evidence); then the quorum, then the latest leaf. Any other failure to read the log
    (a missing or oversized tile, a cut bundle) is a `log` problem."""
    try:
        return _check_stored(stored, role, branch=branch, tip=tip, index_sha256=index_sha256,
                             remember=remember)
    except LogError:
        raise
    except EliteError as err:
        raise LogError(err.message) from None


def _check_stored(stored: tlogstore.Stored, role: LogRole, *, branch: str, tip: str,
                  index_sha256: str, remember: bool) -> Accepted:
    opened = witnessed.open_note(stored.note, role)
    tlogstore.check_tiles(stored, opened)
    reader = tlogstore.hash_reader(stored, opened.size)
    check_memory(opened, role, reader)
    problem = witnessed.quorum_problem(opened, role)
    if problem:
        raise LogError(problem)
    last = tlogstore.leaves(stored, opened.size - 1, opened.size)[0] if opened.size else None
    problem = witnessed.tip_problem(last, branch=branch, tip=tip, index_sha256=index_sha256)
    if problem:
        raise LogError(problem)
    if remember:
        save_memory(opened, role)
    return Accepted(role.origin, opened.size, tuple(sorted(opened.cosigned)), role.quorum)


def remembered(role: LogRole) -> witnessed.Opened | None:
    """The last checkpoint this reader accepted of the log (our own file: parsed, its
    signatures were checked when it was accepted)."""
    path = folder(role) / MEMORY
    if not path.exists():
        return None
    try:
        data = store.read_bytes(path)
        return witnessed.Opened(note.Checkpoint.parse(note.Note.parse(data).text), data)
    except (OSError, EliteError):
        return None  # damaged local state: start again from this checkpoint


def check_memory(opened: witnessed.Opened, role: LogRole, reader: tlog.HashReader) -> None:
    """Require `opened` to extend the remembered checkpoint (a consistency proof from the
    copy's tiles, checked against both roots). A fork: both kept as evidence, named."""
    old = remembered(role)
    if old is None:
        return
    if opened.size < old.size:
        raise LogError(f"this copy's log checkpoint (size {opened.size}) is older than the "
                       f"one you accepted before (size {old.size}): the copy is behind "
                       "(fetch from the registry's server) or rolled back")
    try:
        proof = tlog.prove_tree(opened.size, old.size, reader) \
            if 0 < old.size < opened.size else []
        witnessed.check_consistent(old, opened, proof)
    except EliteError as err:
        a, b = evidence(role, old), evidence(role, opened)
        raise LogError(f"{err.message}; both checkpoints kept as evidence: {a} (accepted "
                       f"before) and {b} (this copy)", rule=logrole.SPLIT_VIEW) from None


def save_memory(opened: witnessed.Opened, role: LogRole) -> None:
    """Remember `opened` as the last checkpoint accepted for its origin."""
    old = remembered(role)
    if old is None or opened.size > old.size or opened.data != old.data:
        store.ensure_dir(folder(role))
        store.atomic_write(folder(role) / MEMORY, opened.data, 0o600)


def evidence(role: LogRole, opened: witnessed.Opened) -> Path:
    """Keep a checkpoint as split-view evidence; returns its path."""
    where = folder(role) / "evidence"
    store.ensure_dir(where)
    path = where / f"{opened.size}-{opened.root.hex()[:16]}.checkpoint"
    store.atomic_write(path, opened.data, 0o600)
    return path


def history_problems(stored: tlogstore.Stored, size: int, branch: str,
                     commits: list[str]) -> list[str]:
    """`verify --history`: every leaf names a commit of the branch's first-parent history
    (`commits`, oldest first), in order, each at or after the one before."""
    position = {c: i for i, c in enumerate(commits)}
    out: list[str] = []
    last = -1
    for n, data in enumerate(tlogstore.leaves(stored, 0, size)):
        fields = logrole.parse_leaf(data)
        if fields is None or fields["branch"] != branch:
            out.append(f"leaf {n} is not a registry-state leaf of {branch}")
            continue
        at = position.get(fields["commit"])
        if at is None:
            out.append(f"leaf {n} names {fields['commit'][:12]}, not in {branch}'s history")
        elif at < last:
            out.append(f"leaf {n} ({fields['commit'][:12]}) goes back in history")
        else:
            last = at
    return out


def of_source(source: Any) -> Accepted | None:
    """The log check of a registry_sources.Source (its IDENTITY.json already checked): over
    a git copy its refs/elite/log (a Radicle registry: a delegate's namespace in storage),
    over HTTP the site's `log/` files. None when no log role is declared."""
    from git_elite.core import documents, layout

    identity = documents.parse(source.identity_raw, layout.IDENTITY,
                               documents.REGISTRY_IDENTITY).body
    role = LogRole.of(identity)
    if role is None:
        return None
    branch = (source.branch or "").removeprefix("refs/heads/")
    if source.repo is not None:
        ref, where = radicle_ref(source.radicle, source.repo)
        return check_repo(where, identity, branch=branch, tip=source.tip, ref=ref)
    index = source.read(layout.INDEX) or b""
    stored = site_log(source.read)
    return check_stored(stored, role, branch="", tip="",
                        index_sha256=hashlib.sha256(index).hexdigest())


def of_url(url: str) -> Accepted | None:
    """The log check of a registry served over HTTP(S) (`verify --url`): the site's
    `log/` files against its IDENTITY.json and INDEX.json. None without a log role."""
    from git_elite.core import layout
    from git_elite.edges import sparse

    site = sparse.HttpRegistry(url)
    role = site_role(site.read)
    if role is None:
        return None
    index = site.read(layout.INDEX) or b""
    return check_stored(site_log(site.read), role, branch="", tip="",
                        index_sha256=hashlib.sha256(index).hexdigest())


def site_role(read: Any) -> LogRole | None:
    """The log role of the IDENTITY.json a site serves (`read`: path -> bytes or None)."""
    from git_elite.core import documents, layout

    raw = read(layout.IDENTITY)
    if raw is None:
        raise LogError("no IDENTITY.json served")
    return LogRole.of(documents.parse(raw, layout.IDENTITY, documents.REGISTRY_IDENTITY).body)


def site_log(read: Any) -> tlogstore.Stored:
    """The log a site serves under log/ (what `git elite site` writes)."""
    def get(path: str) -> bytes:
        data = read(f"log/{path}")
        if data is None:
            raise LogError(f"this source serves no log/{path} (a site made by `git elite "
                           "site` does; radicle-httpd cannot: read a clone)")
        return bytes(data)

    return tlogstore.Stored("site", get(tlogstore.CHECKPOINT), get)


def radicle_ref(check: Any, fallback: str | Path) -> tuple[str, str | Path]:
    """A Radicle registry's log is run by a delegate, who pushes refs/elite/log to its own
    namespace (covered by its signed refs): the first namespace, of the delegates who signed
    the tip read, that holds one (the log is self-authenticating: its key and witnesses sign
    it); without storage, the plain ref of `fallback`."""
    if check is None:
        return logrole.REF, fallback
    from git_elite.edges import gitrad

    storage = gitrad.storage_path(check.rid)
    if not storage.is_dir():
        return logrole.REF, fallback
    from git_elite.core.keys import nid_from_did

    for nid in sorted(nid_from_did(did) for did in check.signed_by):
        ref = f"refs/namespaces/{nid}/{logrole.REF}"
        if git.run(["rev-parse", "-q", "--verify", ref], storage, check=False).returncode == 0:
            return ref, storage
    return logrole.REF, fallback
