"""Bare cache clones of registries: `$AGENTD_HOME/cache/registries/<name>.git` (SPEC §1).

`sync` brings a cache up to date (cloning it the first time), rebuilds a damaged one, retries
an unreachable registry a bounded number of times with backoff, and refuses a registry whose
branch moved backwards since the tip this cache last saw (a rollback by a mirror).
`publish` builds on the cache's tip; `discover`, `import` and `trust` read from it.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

from git_elite import git
from git_elite.errors import RegistryError
from git_elite.registries import Registry

ATTEMPTS = 3
SEEN = "refs/elite/seen/"
# the registry's signed timestamp (SPEC §6.1), replaced by whatever the registry serves now
# and pruned when it serves none: the reader's check decides what that means
TIMESTAMP_SPEC = "+refs/elite/timestamp*:refs/elite/timestamp*"


def usable(path: Path) -> bool:
    """A cache that git can open and whose refs resolve to objects present."""
    if not (path / "HEAD").exists():
        return False
    proc = git.run(["for-each-ref", "--format=%(objectname)"], path, check=False)
    if proc.returncode != 0:
        return False
    oids = proc.stdout.decode().split()
    if not oids:
        return True
    check = git.run(["cat-file", "--batch-check"], path, check=False,
                    input="\n".join(f"{oid}^{{tree}}" for oid in oids).encode() + b"\n")
    return check.returncode == 0 and b"missing" not in check.stdout


def sync(registry: Registry, *, offline: bool = False, attempts: int = ATTEMPTS) -> Path:
    """The registry's cache clone, fetched now unless `offline`."""
    path = registry.cache
    if offline:
        if not usable(path):
            raise RegistryError(f"{registry.name}: no usable cached copy at {path} "
                                "(run once without --offline)")
        return path
    last = ""
    for attempt in range(attempts):
        try:
            if usable(path):
                _fetch(registry, path)
            else:
                _reclone(registry, path)
            return path
        except RegistryError as err:
            last = err.message
            if "rewound" in last:
                raise
        if attempt + 1 < attempts:
            time.sleep(min(2.0, 0.2 * 2**attempt) * (0.5 + random.random()))
    raise RegistryError(f"cannot reach registry {registry.name} ({registry.url}) after "
                        f"{attempts} attempts: {last}")


def _fetch(registry: Registry, path: Path) -> None:
    before = _heads(path)
    proc = git.run(["fetch", "--quiet", "--prune", "--no-tags", registry.url,
                    "+refs/heads/*:refs/heads/*", TIMESTAMP_SPEC], path, check=False)
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        if usable(path) and not _damaged(detail):
            raise RegistryError(detail[-1] if detail else f"git fetch exit {proc.returncode}")
        _reclone(registry, path)
        return
    _refuse_rewind(registry, path, before)


def _damaged(lines: list[str]) -> bool:
    text = " ".join(lines).lower()
    return any(word in text for word in ("corrupt", "bad object", "missing", "loose object",
                                         "did not send all necessary objects"))


def _heads(path: Path) -> dict[str, str]:
    proc = git.run(["for-each-ref", "--format=%(refname) %(objectname)", SEEN], path,
                   check=False)
    pairs = (line.split(" ", 1) for line in proc.stdout.decode().splitlines() if " " in line)
    return {ref[len(SEEN):]: oid for ref, oid in pairs}


def _refuse_rewind(registry: Registry, path: Path, seen: dict[str, str]) -> None:
    """Each branch must descend from the tip seen last time; then remember the new tips."""
    proc = git.run(["for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/"],
                   path)
    for line in proc.stdout.decode().splitlines():
        branch, oid = line.split(" ", 1)
        old = seen.get(branch)
        if old and old != oid and not git.is_ancestor(path, old, oid):
            git.run(["update-ref", f"refs/heads/{branch}", old], path)
            raise RegistryError(
                f"{registry.name}: branch {branch} was rewound from {old[:12]} to {oid[:12]} "
                "(a rollback or a rewritten history); keeping the tip seen before",
                rule="non-fast-forward")
        git.run(["update-ref", f"{SEEN}{branch}", oid], path)


def _reclone(registry: Registry, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    seen = _heads(path) if path.exists() else {}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    proc = git.run(["clone", "--bare", "--quiet", "--no-tags", registry.url, str(tmp)],
                   check=False)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RegistryError(detail[-1] if detail else f"git clone exit {proc.returncode}")
    for branch, oid in seen.items():
        git.run(["update-ref", f"{SEEN}{branch}", oid], tmp, check=False)
    git.run(["fetch", "--quiet", "--no-tags", registry.url, TIMESTAMP_SPEC], tmp, check=False)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)
    _refuse_rewind(registry, path, seen)


def branch(registry: Registry, path: Path) -> str:
    """The registry branch: configured, else the remote's default (the clone's HEAD)."""
    if registry.branch:
        return registry.branch
    head = git.head_branch(path)
    return head.removeprefix("refs/heads/") if head else "main"


def tip(path: Path, branch_name: str) -> str | None:
    proc = git.run(["rev-parse", "--verify", "-q", f"refs/heads/{branch_name}^{{commit}}"],
                   path, check=False)
    return proc.stdout.decode().strip() or None
