"""Shared test set-up: no test can touch the real key store, git config or clock.

An autouse fixture points HOME, AGENTD_HOME and git's global config at tmp dirs and pins
git identities and dates. Area-specific helpers live in tests/helpers_*.py, not here; the
one exception is the hooked server shared by the push tests (`shared`, `srv` below), which
six modules use.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SEEDS = {name: (bytes([i]) * 32).hex() for i, name in enumerate(
    ["alice", "bob", "carol", "dave", "eve", "mallory", "server", "rotated"], start=1)}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AGENTD_HOME", str(home / ".agentd"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("AGENTD_KEYGEN_SEED", raising=False)
    monkeypatch.delenv("RAD_HOME", raising=False)
    return home


@pytest.fixture(scope="module")
def pieces_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A registry of 12 agents in several pieces, committed with its index
    (helpers_registry.pieces_registry), built once per test module; tests copy it
    (`registry_copy`)."""
    from tests.helpers_registry import pieces_registry

    with pieces_registry(tmp_path_factory.mktemp("pieces")) as reg:
        yield reg


@pytest.fixture(scope="module")
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Any]:
    """One bare registry with the server hook per test module (helpers_attacks.start: alice's
    agent 1, bob's agent 2), built once: a push test resets it (`srv`) instead of building
    its own."""
    from tests.helpers_attacks import start
    from tests.helpers_registry import isolated_module_env

    tmp = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    with isolated_module_env(tmp):
        yield start(tmp)


@pytest.fixture
def srv(shared: Any) -> Any:
    """The module's hooked server, put back to its starting tip (helpers_attacks.reset)."""
    from tests.helpers_attacks import reset

    reset(shared)
    return shared


def run_cli(*args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None,
            input: str | None = None, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    """Run the real `git elite` (through git's dispatch) in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(["git", "elite", *args], cwd=cwd, env=full_env, input=input,
                          capture_output=True, text=True, check=False)
    if check is not None and proc.returncode != check:
        raise AssertionError(f"git elite {' '.join(args)} exited {proc.returncode}, "
                             f"expected {check}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def git(*args: str, cwd: Path | str | None = None, check: bool = True,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(["git", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, check=check)
