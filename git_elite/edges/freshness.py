"""The reading edge of the timestamp role (SPEC §6.1): `refs/elite/timestamp` in a
repository, the highest version a reader has seen (under $AGENTD_HOME), and the reader's
check (`check`, `of_source`); signing and the server's rule are in `stamping.py`. Every
decision is `timestamp.assess`'s (pure); this module only fetches the bytes and facts it
needs, through `git.run`.

The ref is a chain of commits (each one's parent is the previous timestamp commit) whose
tree holds exactly `timestamp.json`; git CLI plumbing is used (not pygit2) so that the
pre-receive hook sees quarantined objects through the environment git sets.
"""

from __future__ import annotations

import os

from git_elite.core import cjson, documents, layout, timestamp
from git_elite.core.errors import EliteError, RegistryError
from git_elite.core.timestamp import Freshness, Role
from git_elite.edges import git, store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

SEEN_DIR = "freshness"


class Current(NamedTuple):
    """The timestamp commit a ref names and the bytes of its timestamp.json (None when the
    commit holds none)."""

    commit: str
    raw: bytes | None


def resolve(cwd: str | Path, ref: str = timestamp.REF, odb: Any = None) -> str | None:
    """The commit `ref` names, through `odb` (a catfile batch reader open on the repository
    at `cwd`: no process) or `git rev-parse`."""
    if odb is not None:
        found: str | None = odb.resolve(f"{ref}^{{commit}}")
        return found
    proc = git.run(["rev-parse", "-q", "--verify", f"{ref}^{{commit}}"], cwd, check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def read_commit(cwd: str | Path, commit: str, odb: Any = None) -> bytes | None:
    """timestamp.json of a timestamp commit (size-bounded before it is read)."""
    spec = f"{commit}:{timestamp.FILENAME}"
    limit = documents.MAX_BYTES[documents.TIMESTAMP]
    header = _header(odb, spec) if odb is not None else None
    if header is not None and header[0] == _BLOB:  # else git's own answer, as before
        return b" " * (limit + 1) if header[1] > limit else odb.read(spec)[1]
    size = git.run(["cat-file", "-s", spec], cwd, check=False)
    if size.returncode != 0:
        return None
    if int(size.stdout.decode().strip() or 0) > limit:
        return b" " * (limit + 1)  # refused by the strict parser as too large
    return git.run(["cat-file", "blob", spec], cwd).stdout


_BLOB = 3  # catfile's kind of a blob


def _header(odb: Any, spec: str) -> tuple[int, int] | None:
    try:
        found: tuple[int, int] = odb.read_header(spec)
    except KeyError:
        return None
    return found


def current(cwd: str | Path, ref: str = timestamp.REF, odb: Any = None) -> Current | None:
    commit = resolve(cwd, ref, odb)
    return None if commit is None else Current(commit, read_commit(cwd, commit, odb))


def contains(cwd: str | Path, tip: str) -> timestamp.Contains:
    """`contains(c)`: is `tip` the commit `c` or a descendant of it (False when `c` is not
    even present: a copy that dropped the signed commits)."""

    def check(commit: str) -> bool:
        return commit == tip or git.is_ancestor(cwd, commit, tip)

    return check


def index_at(cwd: str | Path, odb: Any = None) -> timestamp.IndexAt:
    def read(commit: str) -> bytes | None:
        spec = f"{commit}:{layout.INDEX}"
        if odb is not None:
            header = _header(odb, spec)
            data: bytes | None = odb.read(spec)[1] if header and header[0] == _BLOB else None
            return data
        proc = git.run(["cat-file", "blob", spec], cwd, check=False)
        return proc.stdout if proc.returncode == 0 else None

    return read


def root_commit(cwd: str | Path, tip: str, cat: Any = None) -> str:
    """The first commit of the branch's first-parent history: what names a registry in the
    reader's memory, whichever mirror serves it. A commit id fixes its whole history, so the
    answer is remembered by tip (`$AGENTD_HOME/cache/root-commits.json`): reading the same tip
    again starts no `git rev-list` (not from a shallow clone, whose first commit is not the
    registry's). `cat`: a catfile.CatRepo on `cwd`, through which a new tip whose
    first-parent chain reaches a remembered tip (or a root) within ROOT_WALK commits is
    answered without `git rev-list` either (a second verify after a push)."""
    known = _roots()
    if tip in known:
        return known[tip]
    root = _walk_to_root(cat, tip, known) if cat is not None and known else None
    if root is None:
        proc = git.run(["rev-list", "--first-parent", "--max-parents=0", tip], cwd)
        root = proc.stdout.decode().split()[-1]
    if not _shallow(cwd):
        _remember_root(known, tip, root)
    return root


ROOTS_KEPT = 64  # tips remembered (the newest; a registry read again is read at its tip)
ROOT_WALK = 16  # first parents read through `git cat-file` before asking `git rev-list`


def _walk_to_root(cat: Any, tip: str, known: Mapping[str, str]) -> str | None:
    """`git rev-list --first-parent --max-parents=0 tip`'s last line, when the first-parent
    chain from `tip` meets a remembered tip (whose root is the chain's root: a commit id
    fixes its history) or ends, within ROOT_WALK commits read through `cat` — parents as
    git's commit parser takes them (the `parent` lines right after `tree`). None (ask git)
    in a shallow repository, one with grafts or replace refs (a remembered tip's history
    may differ there), a linked worktree's, or for anything unexpected."""
    git_dir = cat.path
    if any(os.path.exists(os.path.join(git_dir, name)) for name in
           ("shallow", "commondir", os.path.join("info", "grafts"),
            os.path.join("refs", "replace"))) or _packed_replace(git_dir):
        return None
    commit = tip
    for _ in range(ROOT_WALK):
        try:
            kind, data = cat.odb.read(commit)
        except (KeyError, RegistryError):
            return None
        parent = _first_parent(data) if kind == _COMMIT else ""
        if parent == "":
            return None
        if parent is None:
            return commit  # the chain's first commit
        if parent in known:
            return known[parent]
        commit = parent
    return None


_COMMIT = 1  # catfile's kind of a commit


def _packed_replace(git_dir: str) -> bool:
    """A replace ref among the packed ones: a remembered tip's root may then not be what
    `git rev-list` finds through the replacement (the walk is not used; an unreadable
    packed-refs counts as one)."""
    try:
        return b" refs/replace/" in raw_bytes(os.path.join(git_dir, "packed-refs"))
    except FileNotFoundError:
        return False
    except OSError:
        return True


def _first_parent(data: bytes) -> str | None:
    """A commit object's first parent (None: it has none), "" when its header is not the
    `tree <id>` line then `parent <id>` lines git writes and parses."""
    lines = data.split(b"\n", 2)
    if len(lines) < 3 or not lines[0].startswith(b"tree ") or not _oid(lines[0][5:].decode(
            "ascii", "replace")):
        return ""
    if not lines[1].startswith(b"parent "):
        return None
    parent = lines[1][len(b"parent "):].decode("ascii", "replace")
    return parent if _oid(parent) else ""


def raw_bytes(path: str) -> bytes:
    """`Path(path).read_bytes()` (its OSError included), without pathlib."""
    with open(path, "rb") as handle:
        return handle.read()


def _roots_file() -> str:
    return os.path.join(store.home_dir(), "cache", "root-commits.json")


def _roots() -> dict[str, str]:
    try:
        value = cjson.loads(raw_bytes(_roots_file()))
    except (OSError, ValueError):
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)
            and _oid(k) and _oid(v)}


def _oid(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def _remember_root(known: dict[str, str], tip: str, root: str) -> None:
    if not (_oid(tip) and _oid(root)):
        return
    kept = {**dict(list(known.items())[-(ROOTS_KEPT - 1):]), tip: root}
    # json.dumps(kept), byte for byte, without the json package (its `re`...: a second
    # verify writes this after each push, docs/scale.md "second verify, round 7"): every
    # key and value is an object id (`_oid`), which json writes as it is, in quotes
    text = "{" + ", ".join(f'"{k}": "{v}"' for k, v in kept.items()) + "}"
    try:
        store.ensure_home_dir()
        store.atomic_write(_roots_file(), (text + "\n").encode(), 0o600, durable=False)
    except OSError:
        pass  # a memory only: the next read asks git again


def _shallow(cwd: str | Path) -> bool:
    return any(os.path.exists(os.path.join(cwd, name, "shallow")) for name in (".", ".git"))


# the reader's memory: highest version seen per registry and timestamp key set ----------------
def _seen_file(root: str) -> str:
    return os.path.join(store.home_dir(), SEEN_DIR, f"{root}.json")


def _role_id(role: Role) -> str:
    """Versions are remembered per key set: after the delegates rotate a compromised key
    out, the new key's chain starts afresh for readers, as TUF does after a rotation."""
    from git_elite.core.state import sha256_hex

    return sha256_hex("\n".join(sorted(role.keys)).encode())[:16]


def _seen_all(root: str) -> dict[str, Any]:
    try:
        value = cjson.loads(raw_bytes(_seen_file(root)))
    except (OSError, ValueError):
        return {}
    roles = value.get("roles") if isinstance(value, dict) else None
    return roles if isinstance(roles, dict) else {}


def seen(root: str, role: Role) -> int:
    """The highest timestamp version accepted for the registry whose root commit is `root`
    under this key set (0: none, or a damaged file, which only lowers the floor to 0)."""
    value = _seen_all(root).get(_role_id(role))
    return value if type(value) is int and value > 0 else 0


def remember(root: str, role: Role, version: int, registry: str) -> None:
    if version <= seen(root, role):
        return
    import json  # (a write: reads take core/cjson)

    roles = {**_seen_all(root), _role_id(role): version}
    store.ensure_home()
    store.ensure_dir(store.home() / SEEN_DIR)
    data = json.dumps({"registry": registry, "root": root, "roles": roles}) + "\n"
    store.atomic_write(_seen_file(root), data.encode(), 0o600)


def check(cwd: str | Path, *, tip: str, branch: str | None, identity: Mapping[str, Any],
          now: int, ref: str = timestamp.REF, odb: Any = None) -> Freshness:
    """The reader's check of the copy at `cwd` whose registry branch is at `tip`; a valid
    signed version is remembered (so an older one is a rollback from then on). Objects are
    read through `odb` when given (the batch reader open on `cwd`: no more processes)."""
    role = Role.of(identity)
    if role is None:
        return timestamp.assess(None, None, registry="", owner_did="", branch=None, tip=tip,
                                now=now, seen=0, contains=contains(cwd, tip),
                                index_at=index_at(cwd, odb))
    root = root_commit(cwd, tip)
    found = current(cwd, ref, odb)
    result = timestamp.assess(found.raw if found else None, role,
                              registry=str(identity["name"]),
                              owner_did=str(identity["owner_did"]), branch=branch, tip=tip,
                              now=now, seen=seen(root, role), contains=contains(cwd, tip),
                              index_at=index_at(cwd, odb))
    if result.signed is not None and result.case != timestamp.INVALID:
        remember(root, role, result.signed.version, str(identity["name"]))
    return result


def identity_at(cwd: str | Path, commit: str) -> dict[str, Any] | None:
    """IDENTITY.json's body at `commit` (None when absent or unreadable)."""
    proc = git.run(["cat-file", "blob", f"{commit}:{layout.IDENTITY}"], cwd, check=False)
    if proc.returncode != 0:
        return None
    try:
        return documents.parse(proc.stdout, layout.IDENTITY, documents.REGISTRY_IDENTITY).body
    except EliteError:
        return None


# readers ------------------------------------------------------------------------------------
def of_source(source: Any, now: int) -> Freshness:
    """The freshness of a registry_sources.Source (its IDENTITY.json already checked)."""
    if getattr(source, "fresh_check", None) is not None:  # read over HTTP (sparse.py)
        result: Freshness = source.fresh_check(now)
        return result
    identity = documents.parse(source.identity_raw, layout.IDENTITY,
                               documents.REGISTRY_IDENTITY).body
    if Role.of(identity) is not None and source.repo is None:
        return Freshness(timestamp.FREEZE, "the registry declares a timestamp role, but its "
                         "timestamp cannot be read through this source (read it from a clone)")
    where = source.repo if source.repo is not None else "."
    odb = source.objects() if source.objects is not None and source.repo is not None \
        and source.git_dir is not None and store.as_path(os.fspath(source.repo)) == \
        store.as_path(os.fspath(source.git_dir)) else None  # not Radicle's storage
    return check(where, tip=source.tip, branch=source.branch, identity=identity, now=now,
                 ref=source.timestamp_ref, odb=odb)


def refusal(result: Freshness, name: str) -> RegistryError:
    """The one-line error a reader exits with (rule `timestamp`)."""
    return RegistryError(f"{result.case}: {result.message}", rule=timestamp.RULE, path=name)


def radicle_ref(check: Any, fallback: str | Path) -> tuple[str, str | Path]:
    """Where a Radicle registry's timestamp is: `refs/elite/timestamp` in a delegate's
    namespace of the storage (pushed there by `git elite timestamp`, covered by its signed
    refs). The namespace holding the highest version wins (the document's own signatures
    decide whether it counts); without storage, the plain ref of `fallback`."""
    from git_elite.edges import gitrad

    storage = gitrad.storage_path(check.rid)
    if not storage.is_dir():
        return timestamp.REF, fallback
    best: tuple[int, str] = (-1, timestamp.REF)
    for nid in namespaces(check, storage):
        ref = f"refs/namespaces/{nid}/{timestamp.REF}"
        found = current(storage, ref)
        if found is not None:
            best = max(best, (timestamp.version_of(found.raw), ref))
    return (best[1], storage) if best[0] >= 0 else (timestamp.REF, fallback)


def namespaces(check: Any, storage: Path) -> list[str]:
    """The namespaces (Node IDs, `z6Mk…`) whose timestamp ref `radicle_ref` compares: those
    of the delegates who signed the tip read (`check.signed_by` holds their DIDs: a
    namespace is named by the NID, the DID without `did:key:`), and every namespace of the
    storage that holds one."""
    from git_elite.core.keys import nid_from_did

    signers = set()
    for did in check.signed_by:
        try:
            signers.add(nid_from_did(did))
        except (EliteError, ValueError):
            continue  # not a did:key: names no namespace
    return sorted(signers | set(_namespaces(storage)))


def _namespaces(storage: Path) -> list[str]:
    proc = git.run(["for-each-ref", "--format=%(refname)", "refs/namespaces/"], storage,
                   check=False)
    return sorted({line.split("/")[2] for line in proc.stdout.decode().splitlines()
                   if line.endswith(f"/{timestamp.REF}")})
