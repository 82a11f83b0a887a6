"""`git elite check` beside every real push (tests/test_check_agreement.py): `push_and_check`
stands in for helpers_registry.push. Before a push of HEAD to the hooked server's main it
runs `git elite check <server main>..<pushed commit>` in the work tree, with the server's
`elite.*` git config (what a CI clone of the registry would carry); after the real push it
asserts the same verdict and the same REJECT lines, byte for byte."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git
from tests.helpers_registry import push as real_push


@dataclass
class Record:
    """What the wrapped pushes did: ranges compared, and pushes with no range to compare
    (a deletion or another ref: ref rules; a refusal by git itself, before any hook)."""

    compared: list[tuple[str, bool]] = field(default_factory=list)
    not_ranges: list[str] = field(default_factory=list)


RECORD = Record()


def rejects(stderr: str) -> list[str]:
    """The REJECT lines of a push (`remote: ` taken off, git's padding stripped) or check."""
    out = []
    for line in stderr.splitlines():
        text = line.removeprefix("remote: ").rstrip()
        if text.startswith("git-elite: REJECT") or text.startswith("git-elite: ... and"):
            out.append(text)
    return out


def server_config(bare: Path) -> dict[str, str]:
    """The server's elite.* settings as GIT_CONFIG_* variables for another git process."""
    proc = git("config", "--get-regexp", r"^elite\.", cwd=bare, check=False)
    pairs = [line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line]
    env = {"GIT_CONFIG_COUNT": str(len(pairs))}
    for i, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def check(work: Path, base: str, new: str, bare: Path) -> subprocess.CompletedProcess[str]:
    """`git elite check BASE..NEW` run in this process (the command line's own `main`, in
    the work tree, with the server's config): a second interpreter per push would double
    the catalogue's time. Returns what a subprocess would have."""
    from git_elite.cli.main import main

    err, out = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(err), \
            contextlib.redirect_stdout(out):
        for key, value in server_config(bare).items():
            mp.setenv(key, value)
        mp.chdir(work)
        code = main(["check", f"{base}..{new}"])
    return subprocess.CompletedProcess(["git", "elite", "check"], code, out.getvalue(),
                                       err.getvalue())


def push_and_check(work: Path, *refspec: str, force: bool = False) -> Any:
    spec = refspec or ("HEAD:main",)
    bare = Path(git("remote", "get-url", "origin", cwd=work).stdout.strip())
    src, sep, dst = spec[0].partition(":")
    if len(spec) != 1 or not sep or not src or dst not in ("main", "refs/heads/main"):
        RECORD.not_ranges.append(" ".join(spec))
        return real_push(work, *refspec, force=force)
    base = git("rev-parse", "refs/heads/main", cwd=bare).stdout.strip()
    new = git("rev-parse", src, cwd=work).stdout.strip()
    checked = check(work, base, new, bare)
    result = real_push(work, *refspec, force=force)
    if result.returncode != 0 and "git-elite:" not in result.stderr:
        RECORD.not_ranges.append(f"{base[:7]}..{new[:7]} refused by git before any hook")
        return result
    assert checked.returncode in (0, 1), checked.stderr
    assert (checked.returncode == 0) == (result.returncode == 0), \
        f"check and pre-receive disagree on {base[:7]}..{new[:7]}:\n" \
        f"check:\n{checked.stderr}\npush:\n{result.stderr}"
    assert rejects(checked.stderr) == rejects(result.stderr), \
        f"different REJECT lines:\ncheck:\n{checked.stderr}\npush:\n{result.stderr}"
    if result.returncode == 0:
        verified = [line for line in result.stderr.splitlines() if "commit(s) verified" in line]
        count = verified[0].removeprefix("remote: ").split()[1] if verified else "0"
        assert f"git-elite: {count} commit(s) verified" in checked.stderr, \
            (checked.stderr, result.stderr)
    RECORD.compared.append((f"{base[:7]}..{new[:7]}", result.returncode == 0))
    return result


def in_env(**values: str) -> dict[str, str]:
    return {**os.environ, **values}
