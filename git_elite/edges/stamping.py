"""The signing side of the timestamp role (SPEC §6.1): building the next timestamp commit,
the server's `timestamp` rule for pushes of `refs/elite/timestamp` (pre-receive), signing in
place after a push (post-receive) or on a schedule (`git elite timestamp`), and the key file.
Decisions are `timestamp.check_update`'s (pure); reading the ref is `freshness.py`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from git_elite.core import documents, keys, timestamp
from git_elite.core.errors import EliteError, Problem, RegistryError
from git_elite.core.timestamp import Role
from git_elite.edges import freshness, git, store

ENV = {"GIT_AUTHOR_NAME": "git elite timestamp", "GIT_AUTHOR_EMAIL": "git-elite@localhost",
       "GIT_COMMITTER_NAME": "git elite timestamp",
       "GIT_COMMITTER_EMAIL": "git-elite@localhost"}


# building -----------------------------------------------------------------------------------
def build(cwd: str | Path, *, branch: str, tip: str, identity: Mapping[str, Any],
          signers: Sequence[keys.Keypair], now: int, lifetime: int | None,
          ref: str = timestamp.REF) -> tuple[str, dict[str, Any], freshness.Current | None]:
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
    index = freshness.index_at(cwd)(tip)
    if index is None:
        raise RegistryError(f"no INDEX.json at {tip[:12]}")
    old = freshness.current(cwd, ref)
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
    return make_commit(cwd, signed, old, now), signed, old


def make_commit(cwd: str | Path, body: dict[str, Any], parent: freshness.Current | None,
                now: int) -> str:
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


def load_key(path: Path, *repos: str | Path | None, what: str = "timestamp key"
             ) -> keys.Keypair:
    """A timestamp (or log) key: an identity.json (SPEC §2) of mode 0600, outside the
    repository. Errors name the file, never its content."""
    from git_elite.edges import identity

    try:
        mode = path.stat().st_mode
    except OSError as err:
        raise RegistryError(f"{what} {path}: {err.strerror}") from None
    if mode & 0o077:
        raise RegistryError(f"{what} {path}: mode {mode & 0o777:o}, must be 0600 "
                            f"(chmod 600 {path})")
    for repo in repos:
        if repo is not None and _inside(path, Path(repo)):
            raise RegistryError(f"{what} {path} is inside the repository {repo}: keep "
                                "it outside (it must never be committed or served)")
    try:
        return identity.from_bytes(store.read_bytes(path), str(path)).key
    except EliteError as err:
        raise RegistryError(f"{what}: {err}") from None


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
    identity = freshness.identity_at(cwd, branch_tip)
    raw = freshness.read_commit(cwd, new)
    assert raw is not None  # the tree was just checked
    return [Problem(p.rule, timestamp.REF, p.message, new) for p in timestamp.check_update(
        None if old == git.ZERO else freshness.read_commit(cwd, old), raw, Role.of(identity),
        registry=str((identity or {}).get("name", "")),
        owner_did=str((identity or {}).get("owner_did", "")),
        branch=branch.removeprefix("refs/heads/"), now=now, max_skew=max_skew,
        contains=freshness.contains(cwd, branch_tip), index_at=freshness.index_at(cwd))]



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
        tip = freshness.resolve(cwd, branch)
        if tip is None:
            raise RegistryError(f"{branch} does not exist: nothing to timestamp")
        identity = freshness.identity_at(cwd, tip)
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
    identity = freshness.identity_at(cwd, tip)
    if Role.of(identity) is None:
        return None
    key = load_key(Path(configured), cwd)
    body = sign_in_place(cwd, branch=branch, signers=[key], now=now,
                         lifetime=lifetime_config(cwd))
    return (f"timestamp v{body['version']} signed for {body['tip'][:12]}, fresh until "
            f"{timestamp.when(body['expires_at'])}")
