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
        env: Mapping[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
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
