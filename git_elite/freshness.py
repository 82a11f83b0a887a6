"""The edge of the timestamp role (SPEC §6.1): reading and writing `refs/elite/timestamp` in a
repository, the highest version a reader has seen (under $AGENTD_HOME), and signing the next
timestamp. Every decision is `timestamp.assess` / `timestamp.check_update`'s (pure); this
module only fetches the bytes and facts they need, through `git.run`.

The ref is a chain of commits (each one's parent is the previous timestamp commit) whose
tree holds exactly `timestamp.json`; git CLI plumbing is used (not pygit2) so that the
pre-receive hook sees quarantined objects through the environment git sets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from git_elite import documents, git, keys, layout, store, timestamp
from git_elite.errors import EliteError, Problem, RegistryError
from git_elite.timestamp import Freshness, Role

SEEN_DIR = "freshness"
ENV = {"GIT_AUTHOR_NAME": "git elite timestamp", "GIT_AUTHOR_EMAIL": "git-elite@localhost",
       "GIT_COMMITTER_NAME": "git elite timestamp",
       "GIT_COMMITTER_EMAIL": "git-elite@localhost"}


@dataclass(frozen=True)
class Current:
    """The timestamp commit a ref names and the bytes of its timestamp.json (None when the
    commit holds none)."""

    commit: str
    raw: bytes | None


def resolve(cwd: str | Path, ref: str = timestamp.REF) -> str | None:
    proc = git.run(["rev-parse", "-q", "--verify", f"{ref}^{{commit}}"], cwd, check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def read_commit(cwd: str | Path, commit: str) -> bytes | None:
    """timestamp.json of a timestamp commit (size-bounded before it is read)."""
    spec = f"{commit}:{timestamp.FILENAME}"
    size = git.run(["cat-file", "-s", spec], cwd, check=False)
    if size.returncode != 0:
        return None
    limit = documents.MAX_BYTES[documents.TIMESTAMP]
    if int(size.stdout.decode().strip() or 0) > limit:
        return b" " * (limit + 1)  # refused by the strict parser as too large
    return git.run(["cat-file", "blob", spec], cwd).stdout


def current(cwd: str | Path, ref: str = timestamp.REF) -> Current | None:
    commit = resolve(cwd, ref)
    return None if commit is None else Current(commit, read_commit(cwd, commit))


def contains(cwd: str | Path, tip: str) -> timestamp.Contains:
    """`contains(c)`: is `tip` the commit `c` or a descendant of it (False when `c` is not
    even present: a copy that dropped the signed commits)."""

    def check(commit: str) -> bool:
        return commit == tip or git.is_ancestor(cwd, commit, tip)

    return check


def index_at(cwd: str | Path) -> timestamp.IndexAt:
    def read(commit: str) -> bytes | None:
        proc = git.run(["cat-file", "blob", f"{commit}:{layout.INDEX}"], cwd, check=False)
        return proc.stdout if proc.returncode == 0 else None

    return read


def root_commit(cwd: str | Path, tip: str) -> str:
    """The first commit of the branch's first-parent history: what names a registry in the
    reader's memory, whichever mirror serves it."""
    proc = git.run(["rev-list", "--first-parent", "--max-parents=0", tip], cwd)
    return proc.stdout.decode().split()[-1]


# the reader's memory: highest version seen per registry and timestamp key set ----------------
def _seen_file(root: str) -> Path:
    return store.home() / SEEN_DIR / f"{root}.json"


def _role_id(role: Role) -> str:
    """Versions are remembered per key set: after the delegates rotate a compromised key
    out, the new key's chain starts afresh for readers, as TUF does after a rotation."""
    import hashlib

    return hashlib.sha256("\n".join(sorted(role.keys)).encode()).hexdigest()[:16]


def _seen_all(root: str) -> dict[str, Any]:
    try:
        value = json.loads(_seen_file(root).read_bytes())
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
    roles = {**_seen_all(root), _role_id(role): version}
    store.ensure_home()
    store.ensure_dir(store.home() / SEEN_DIR)
    data = json.dumps({"registry": registry, "root": root, "roles": roles}) + "\n"
    store.atomic_write(_seen_file(root), data.encode(), 0o600)


def check(cwd: str | Path, *, tip: str, branch: str | None, identity: Mapping[str, Any],
          now: int, ref: str = timestamp.REF) -> Freshness:
    """The reader's check of the copy at `cwd` whose registry branch is at `tip`; a valid
    signed version is remembered (so an older one is a rollback from then on)."""
    role = Role.of(identity)
    if role is None:
        return timestamp.assess(None, None, registry="", owner_did="", branch=None, tip=tip,
                                now=now, seen=0, contains=contains(cwd, tip),
                                index_at=index_at(cwd))
    root = root_commit(cwd, tip)
    found = current(cwd, ref)
    result = timestamp.assess(found.raw if found else None, role,
                              registry=str(identity["name"]),
                              owner_did=str(identity["owner_did"]), branch=branch, tip=tip,
                              now=now, seen=seen(root, role), contains=contains(cwd, tip),
                              index_at=index_at(cwd))
    if result.signed is not None and result.case != timestamp.INVALID:
        remember(root, role, result.signed.version, str(identity["name"]))
    return result


# writing -----------------------------------------------------------------------------------
def build(cwd: str | Path, *, branch: str, tip: str, identity: Mapping[str, Any],
          signers: Sequence[keys.Keypair], now: int, lifetime: int | None,
          ref: str = timestamp.REF) -> tuple[str, dict[str, Any], Current | None]:
    """A new timestamp commit (not referenced yet) for `tip` of `branch`: version = current
    + 1, parent = the current timestamp commit. Returns (commit, document, replaced)."""
    role = Role.of(identity)
    if role is None:
        raise RegistryError("the registry declares no timestamp role (IDENTITY.json "
                            "`timestamp`; `git elite init --timestamp-key DID`)")
    mine = {k.did for k in signers} & role.keys
    if len(mine) < role.threshold:
        raise RegistryError(f"{len(mine)} of the given key(s) are declared timestamp keys; "
                            f"the role needs {role.threshold} of "
                            f"{', '.join(sorted(role.keys))}")
    index = index_at(cwd)(tip)
    if index is None:
        raise RegistryError(f"no INDEX.json at {tip[:12]}")
    old = current(cwd, ref)
    version = timestamp.version_of(old.raw if old else None) + 1
    age = role.max_age if lifetime is None else lifetime
    if not 0 < age <= role.max_age:
        raise RegistryError(f"--expires {age}: must be between 1 and the role's max_age "
                            f"{role.max_age} seconds")
    body = timestamp.body(registry=str(identity["name"]), owner_did=str(identity["owner_did"]),
                          branch=branch, tip=tip, index=index, version=version, now=now,
                          lifetime=age)
    signed = documents.sign_multi(body, [k for k in signers if k.did in role.keys],
                                  documents.TIMESTAMP)
    return _commit(cwd, signed, old, now), signed, old


def _commit(cwd: str | Path, body: dict[str, Any], parent: Current | None, now: int) -> str:
    blob = git.run(["hash-object", "-w", "--stdin"], cwd,
                   input=documents.to_bytes(body)).stdout.decode().strip()
    tree = git.run(["mktree"], cwd, input=f"100644 blob {blob}\t{timestamp.FILENAME}\n"
                   .encode()).stdout.decode().strip()
    args = ["commit-tree", tree, "-m", f"timestamp v{body['version']} for {body['tip'][:12]}"]
    if parent is not None:
        args += ["-p", parent.commit]
    date = f"{now} +0000"
    env = {**ENV, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    return git.run(args, cwd, env=env).stdout.decode().strip()


def load_key(path: Path, *repos: str | Path | None) -> keys.Keypair:
    """A timestamp key: an identity.json (SPEC §2) of mode 0600, outside the repository.
    Errors name the file, never its content."""
    from git_elite import identity

    try:
        mode = path.stat().st_mode
    except OSError as err:
        raise RegistryError(f"timestamp key {path}: {err.strerror}") from None
    if mode & 0o077:
        raise RegistryError(f"timestamp key {path}: mode {mode & 0o777:o}, must be 0600 "
                            f"(chmod 600 {path})")
    for repo in repos:
        if repo is not None and _inside(path, Path(repo)):
            raise RegistryError(f"timestamp key {path} is inside the repository {repo}: keep "
                                "it outside (it must never be committed or served)")
    try:
        return identity.from_bytes(store.read_bytes(path), str(path)).key
    except EliteError as err:
        raise RegistryError(f"timestamp key: {err}") from None


def _inside(path: Path, repo: Path) -> bool:
    try:
        path.resolve().relative_to(repo.resolve())
    except ValueError:
        return False
    return True


# the server's `timestamp` rule (pre-receive) ---------------------------------------------------
def check_ref_update(cwd: str | Path, old: str, new: str, *, branch: str, branch_tip: str | None,
                     now: int, max_skew: int) -> list[Problem]:
    """Problems of a pushed update of refs/elite/timestamp (SPEC §6.1, §7): never deleted; a
    commit whose parent is the current timestamp commit and whose tree is exactly
    timestamp.json; the document valid by `timestamp.check_update` against the role that
    IDENTITY.json declares at the registry branch's tip (after this push)."""
    def problem(message: str) -> list[Problem]:
        return [Problem(timestamp.RULE, timestamp.REF, message, new)]

    if new == git.ZERO:
        return [Problem(timestamp.RULE, timestamp.REF, "the timestamp cannot be deleted", old)]
    if branch_tip is None:
        return problem(f"{branch} does not exist: nothing to timestamp")
    parents = git.run(["rev-list", "--parents", "-n", "1", new], cwd).stdout.decode().split()
    if parents[1:] != ([] if old == git.ZERO else [old]):
        return problem("a timestamp commit's only parent must be the current timestamp "
                       f"commit {'(none)' if old == git.ZERO else old[:12]}")
    tree = git.run(["ls-tree", new], cwd).stdout.decode().splitlines()
    if len(tree) != 1 or not tree[0].startswith("100644 blob ") or \
            not tree[0].endswith(f"\t{timestamp.FILENAME}"):
        return problem(f"a timestamp commit's tree must hold exactly {timestamp.FILENAME}")
    identity = identity_at(cwd, branch_tip)
    raw = read_commit(cwd, new)
    assert raw is not None  # the tree was just checked
    return [Problem(p.rule, timestamp.REF, p.message, new) for p in timestamp.check_update(
        None if old == git.ZERO else read_commit(cwd, old), raw, Role.of(identity),
        registry=str((identity or {}).get("name", "")),
        owner_did=str((identity or {}).get("owner_did", "")),
        branch=branch.removeprefix("refs/heads/"), now=now, max_skew=max_skew,
        contains=contains(cwd, branch_tip), index_at=index_at(cwd))]


def identity_at(cwd: str | Path, commit: str) -> dict[str, Any] | None:
    """IDENTITY.json's body at `commit` (None when absent or unreadable)."""
    proc = git.run(["cat-file", "blob", f"{commit}:{layout.IDENTITY}"], cwd, check=False)
    if proc.returncode != 0:
        return None
    try:
        return documents.parse(proc.stdout, layout.IDENTITY, documents.REGISTRY_IDENTITY).body
    except EliteError:
        return None


# the server side: sign after a push, or on a schedule ------------------------------------------
def lifetime_config(cwd: str | Path) -> int | None:
    """`git config elite.timestampExpires` (seconds), else None (the role's max_age)."""
    value = git.config_get("elite.timestampExpires", cwd)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise RegistryError(f"git config elite.timestampExpires: {value!r} is not a number of "
                            "seconds") from None


def sign_in_place(cwd: str | Path, *, branch: str, signers: Sequence[keys.Keypair], now: int,
                  lifetime: int | None, attempts: int = 3) -> dict[str, Any]:
    """Sign a timestamp for the branch's tip in the repository at `cwd` (the server's bare
    repository) and move the ref with compare-and-swap; a concurrent signer makes it retry
    with the next version. Returns the document."""
    for _ in range(attempts):
        tip = resolve(cwd, branch)
        if tip is None:
            raise RegistryError(f"{branch} does not exist: nothing to timestamp")
        identity = identity_at(cwd, tip)
        if identity is None:
            raise RegistryError(f"no valid IDENTITY.json at {tip[:12]}")
        commit, body, old = build(cwd, branch=branch.removeprefix("refs/heads/"), tip=tip,
                                  identity=identity, signers=signers, now=now,
                                  lifetime=lifetime)
        expected = old.commit if old else git.ZERO
        problems = check_ref_update(cwd, expected, commit, branch=branch, branch_tip=tip,
                                    now=now, max_skew=0)
        if problems:
            raise RegistryError(problems[0].line())
        proc = git.run(["update-ref", "-m", "git elite timestamp", timestamp.REF, commit,
                        expected], cwd, check=False)
        if proc.returncode == 0:
            return body
    raise RegistryError(f"{timestamp.REF} kept moving under a concurrent signer; try again")


def post_receive(cwd: str | Path, lines: Sequence[str], branch: str, now: int) -> str | None:
    """After an accepted push: when the registry branch moved and `elite.timestampKey` is set,
    sign a new timestamp. Returns the line to show the pusher (None: nothing to do)."""
    moved = [line for line in lines if len(line.split()) == 3 and line.split()[2] == branch
             and line.split()[1] != git.ZERO]
    configured = git.config_get("elite.timestampKey", cwd)
    if not moved or not configured:
        return None
    tip = moved[-1].split()[1]
    identity = identity_at(cwd, tip)
    if Role.of(identity) is None:
        return None
    key = load_key(Path(configured), cwd)
    body = sign_in_place(cwd, branch=branch, signers=[key], now=now,
                         lifetime=lifetime_config(cwd))
    return (f"timestamp v{body['version']} signed for {body['tip'][:12]}, fresh until "
            f"{timestamp.when(body['expires_at'])}")


# readers ------------------------------------------------------------------------------------
def of_source(source: Any, now: int) -> Freshness:
    """The freshness of a registry_read.Source (its IDENTITY.json already checked)."""
    if getattr(source, "fresh_check", None) is not None:  # read over HTTP (sparse.py)
        result: Freshness = source.fresh_check(now)
        return result
    identity = documents.parse(source.identity_raw, layout.IDENTITY,
                               documents.REGISTRY_IDENTITY).body
    if Role.of(identity) is not None and source.repo is None:
        return Freshness(timestamp.FREEZE, "the registry declares a timestamp role, but its "
                         "timestamp cannot be read through this source (read it from a clone)")
    where = source.repo if source.repo is not None else "."
    return check(where, tip=source.tip, branch=source.branch, identity=identity, now=now,
                 ref=source.timestamp_ref)


def refusal(result: Freshness, name: str) -> RegistryError:
    """The one-line error a reader exits with (rule `timestamp`)."""
    return RegistryError(f"{result.case}: {result.message}", rule=timestamp.RULE, path=name)


def radicle_ref(check: Any, fallback: str | Path) -> tuple[str, str | Path]:
    """Where a Radicle registry's timestamp is: `refs/elite/timestamp` in a delegate's
    namespace of the storage (pushed there by `git elite timestamp`, covered by its signed
    refs). The namespace holding the highest version wins (the document's own signatures
    decide whether it counts); without storage, the plain ref of `fallback`."""
    from git_elite import radicle

    storage = radicle.storage_path(check.rid)
    if not storage.is_dir():
        return timestamp.REF, fallback
    best: tuple[int, str] = (-1, timestamp.REF)
    for nid in sorted(set(check.signed_by) | set(_namespaces(storage))):
        ref = f"refs/namespaces/{nid}/{timestamp.REF}"
        found = current(storage, ref)
        if found is not None:
            best = max(best, (timestamp.version_of(found.raw), ref))
    return (best[1], storage) if best[0] >= 0 else (timestamp.REF, fallback)


def _namespaces(storage: Path) -> list[str]:
    proc = git.run(["for-each-ref", "--format=%(refname)", "refs/namespaces/"], storage,
                   check=False)
    return sorted({line.split("/")[2] for line in proc.stdout.decode().splitlines()
                   if line.endswith(f"/{timestamp.REF}")})
