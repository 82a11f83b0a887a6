"""Raw git objects for the cat-file reader's tests: blobs and trees written with git's own
plumbing (`hash-object`, `mktree`), so hostile shapes can be made exactly."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_out(repo: Path, *args: str, data: bytes | None = None) -> str:
    return subprocess.run(["git", *args], cwd=repo, input=data, capture_output=True,
                          check=True).stdout.decode().strip()


def blob(repo: Path, data: bytes) -> str:
    return git_out(repo, "hash-object", "-w", "--stdin", data=data)


def tree(repo: Path, lines: list[str], missing: bool = False) -> str:
    """A tree of `ls-tree`-shaped lines; `missing`: its entries need not exist."""
    return git_out(repo, "mktree", *(["--missing"] if missing else []),
                   data="".join(line + "\n" for line in lines).encode())


def agent_dir(repo: Path, manifest: str, profile: str, extra: tuple[str, ...] = ()) -> str:
    """An `agents/<ab>/<id>/` tree with the shapes a reader must meet: manifest.json and
    profile.json (the blobs given), a symlink, an executable and a gitlink beside them, and
    `extra` ls-tree lines (their objects need not exist)."""
    return tree(repo, [f"100644 blob {manifest}\tmanifest.json",
                       f"100644 blob {profile}\tprofile.json",
                       f"120000 blob {manifest}\tlink.json",
                       f"100755 blob {manifest}\trun.sh",
                       f"160000 commit {'1' * 40}\tsub", *extra], missing=True)
