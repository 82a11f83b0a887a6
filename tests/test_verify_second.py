"""The second verify's own reader (docs/registry.md, "What verify remembers", branch
verify2nd2): the registry branch's tip and its IDENTITY.json read through the audit's
`git cat-file` process (cli/verifying.py `_tip_of` with a CatRepo) are exactly what the
`git` processes give, for the shapes IDENTITY.json can take at the tip; the reader is not
used when the environment points git at other objects; and the command with the memory
starts no libgit2 and fewer `git` processes while answering as `--no-cache` does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from git_elite.cli import verifying
from git_elite.core import documents, layout
from git_elite.edges import catfile, gitcheck
from tests.conftest import git as run_git
from tests.conftest import run_cli
from tests.helpers_registry import (
    commit_raw,
    isolated_module_env,
    make_registry,
    manifest,
    profile,
    registry_copy,
)


def agent(n: int) -> dict[str, bytes | None]:
    config = profile(n)
    body = manifest("alice", config, rate=0.5 + n / 100, total=100 + n)
    return {layout.agent_path(body["agent_id"], "manifest.json"): documents.to_bytes(body),
            layout.agent_path(body["agent_id"], "profile.json"): documents.to_bytes(config)}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("second")
    with isolated_module_env(tmp):
        reg = make_registry(tmp / "reg")
        commit_raw(reg, {**agent(1), **agent(2)}, "two agents", index=True)
        yield reg


@pytest.fixture
def reg(template: Path, tmp_path: Path) -> Path:
    return registry_copy(template, tmp_path)


def both(work: Path) -> tuple[verifying.Tip, verifying.Tip]:
    cat = catfile.open_repo(work)
    try:
        return verifying._tip_of(str(work), cat), verifying._tip_of(str(work))
    finally:
        cat.close()


def test_the_tip_and_identity_as_git_reads_them(reg: Path) -> None:
    through_cat, through_git = both(reg)
    assert through_cat == through_git
    assert through_cat.raw == (reg / layout.IDENTITY).read_bytes()
    assert through_cat.identity is not None


@pytest.mark.parametrize("shape", ["absent", "a symlink", "a directory"])
def test_other_shapes_of_identity_at_the_tip(reg: Path, shape: str) -> None:
    (reg / layout.IDENTITY).unlink()
    if shape == "a symlink":
        (reg / layout.IDENTITY).symlink_to("README.md")
    elif shape == "a directory":
        (reg / layout.IDENTITY).mkdir()
        (reg / layout.IDENTITY / "x").write_bytes(b"{}")
    commit_raw(reg, {}, shape)
    through_cat, through_git = both(reg)
    assert through_cat == through_git
    assert (through_cat.raw is None) == (shape != "a symlink")


def test_no_branch_tip(reg: Path) -> None:
    run_git("config", "elite.branch", "nowhere", cwd=reg)
    through_cat, through_git = both(reg)
    assert through_cat == through_git and through_cat.commit is None


@pytest.mark.parametrize("name", ["GIT_DIR", "GIT_OBJECT_DIRECTORY"])
def test_no_cat_reader_when_git_is_pointed_elsewhere(reg: Path, name: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, str(reg / ".git"))
    assert gitcheck.cat_reader(str(reg)) is None
    assert gitcheck.audit_remembered(str(reg), "HEAD") is None


def test_the_command_with_memory(reg: Path, tmp_path: Path) -> None:
    """The second `verify` (memory filled by the first) loads no libgit2 and starts five
    `git` processes fewer than before (the tip and IDENTITY.json through its `git cat-file`);
    its answer is `--no-cache`'s, for a clean and for a spoiled tree."""
    assert run_cli("verify", cwd=reg).returncode == 0  # the first: fills the memory
    commit_raw(reg, agent(3), "one more", index=True)
    trace = tmp_path / "trace"
    with_memory = _traced(reg, trace, "verify", "--json")
    assert with_memory.returncode == 0, with_memory.stderr
    calls = trace.read_text()
    assert "_pygit2" not in calls  # no libgit2 loaded
    started = [line for line in calls.splitlines() if "execve(" in line and
               '"git"' in line and "ENOENT" not in line]
    # (git in another directory runs as `git -C DIR …`: the subcommand after DIR)
    words = [line.split('"git", ')[1].split(", ") for line in started]
    # one `git config` (remotes, elite.branch; HEAD's branch from .git/HEAD), the root
    # commit by walking to the tip the first verify remembered (docs/scale.md, "second
    # verify, round 8"); a work tree: its top and uncommitted changes are noted
    assert [w[2] if w[0] == '"-C"' else w[0] for w in words] == \
        ['"config"', '"cat-file"', '"rev-parse"', '"status"']
    full = run_cli("verify", "--json", "--no-cache", cwd=reg)
    assert json.loads(with_memory.stdout) == json.loads(full.stdout)
    (reg / layout.INDEX).write_bytes(b"{}\n")
    commit_raw(reg, {}, "spoiled head")
    assert run_cli("verify", "--json", cwd=reg, check=1).stdout == \
        run_cli("verify", "--json", "--no-cache", cwd=reg, check=1).stdout


def test_the_command_on_a_bare_registry_after_a_push(reg: Path, tmp_path: Path) -> None:
    """A second verify of a bare registry after a one-agent push starts two `git`
    processes — one `git config`, one `git cat-file --batch-command` — and answers as
    `--no-cache` does; a new one cannot creep back (docs/scale.md, "second verify, round
    8": HEAD's branch from its file, no work tree to look for, the root commit walked to
    the tip the first verify remembered)."""
    bare = tmp_path / "bare.git"
    run_git("clone", "-q", "--bare", str(reg), str(bare))
    assert run_cli("verify", str(bare)).returncode == 0  # the first: fills the memory
    commit_raw(reg, agent(3), "one more", index=True)
    run_git("push", "-q", str(bare), "HEAD:main", cwd=reg)
    trace = tmp_path / "trace"
    with_memory = _traced(tmp_path, trace, "verify", "--json", str(bare))
    assert with_memory.returncode == 0, with_memory.stderr
    started = [line for line in trace.read_text().splitlines() if "execve(" in line and
               '"git"' in line and "ENOENT" not in line]
    words = [line.split('"git", ')[1].split(", ") for line in started]
    assert [w[2] if w[0] == '"-C"' else w[0] for w in words] == ['"config"', '"cat-file"']
    full = run_cli("verify", "--json", "--no-cache", str(bare))
    assert json.loads(with_memory.stdout) == json.loads(full.stdout)
    assert with_memory.stderr == full.stderr


def _traced(cwd: Path, trace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    return subprocess.run(["strace", "-f", "-e", "trace=execve,openat", "-o", str(trace),
                           shutil.which("git-elite") or "git-elite", *args], cwd=cwd,
                          capture_output=True, text=True, env=os.environ.copy())
