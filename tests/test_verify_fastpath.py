"""`git elite verify [PATH]` without click (cli/fastpath.py) against the same command through
click (cli/main.py): a table of argument lists — a clean and a broken registry, a working
copy and a bare one, the flags, a missing path, and lists click must parse (`--rev`, `-h`,
`--`, two paths, an unknown or repeated option) — runs through BOTH paths; stdout, stderr
and the exit code must be the same bytes. The launcher's path is the `git-elite` console
script; click's is `cli.main.main` called directly."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from git_elite.cli import fastpath
from git_elite.cli.commands import verify as verify_command
from git_elite.core import documents
from tests.conftest import BIN
from tests.helpers_discover import registry_with
from tests.helpers_fastpath import both
from tests.helpers_registry import commit_raw, isolated_module_env

AGENTS = [
    {"owner": "alice", "n": 1, "rate": 0.95, "total": 200, "recent": 40},
    {"owner": "bob", "n": 2, "rate": 0.85, "total": 60, "recent": 12},
]


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    """(a clean working copy, its bare copy, a working copy whose last commit forged a
    manifest's numbers and has an uncommitted file)."""
    tmp = tmp_path_factory.mktemp("verifyfast")
    with isolated_module_env(tmp):
        work, bare = registry_with(tmp, "reg", AGENTS)
        bad, _ = registry_with(tmp, "bad", AGENTS)
        [path] = sorted(p for p in bad.rglob("manifest.json"))[:1]
        body = json.loads(path.read_bytes())
        body["metrics"]["total_tasks"] += 1
        commit_raw(bad, {str(path.relative_to(bad)): documents.to_bytes(body)}, "forged")
        (bad / "notes.txt").write_text("not committed\n")
        yield work, bare, bad




W, B, X = "{work}", "{bare}", "{bad}"  # stand for the registries' paths in the table
CASES = {
    "here": [],
    "here-json": ["--json"],
    "bare": [B],
    "bare-json-no-cache": [B, "--json", "--no-cache"],
    "flags-first": ["--no-cache", "--allow-stale", W],
    "history": ["--history", B],
    "bad": [X],
    "bad-json": ["--json", X],
    "missing-path": ["/nonexistent/registry"],
    "rev": ["--rev", "HEAD~1", B],
    "help": ["-h"],
    "two-paths": [W, B],
    "dashdash": ["--", B],
    "unknown": ["--nope", B],
    "repeated-flag": ["--json", "--json", B],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_bytes_both_ways(place: tuple[Path, Path, Path], name: str) -> None:
    work, bare, bad = place
    args = [a.replace(W, str(work)).replace(B, str(bare)).replace(X, str(bad))
            for a in CASES[name]]
    cwd = bad if name.startswith("bad") else work
    fast, slow = both("verify", args, cwd)
    assert (fast.returncode, fast.stdout, fast.stderr) == \
        (slow.returncode, slow.stdout, slow.stderr)
    if name.startswith("bad"):
        assert fast.returncode == 1 and fast.stderr  # the comparison covers a failure


def test_the_table_takes_both_paths() -> None:
    """The comparison means something: the plain lists are answered without click, the
    others are handed to it."""
    taken = {name for name, args in CASES.items() if fastpath.parse_verify(args) is not None}
    assert taken == {"here", "here-json", "bare", "bare-json-no-cache", "flags-first",
                     "history", "bad", "bad-json", "missing-path"}


def test_fast_path_runs_without_click(place: tuple[Path, Path, Path]) -> None:
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    proc = subprocess.run([str(BIN / "git-elite"), "verify", str(place[1])], env=env,
                          capture_output=True, text=True, check=True)
    loaded = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
              if line.startswith("import time:") and "|" in line}
    assert "git_elite.cli.fastpath" in loaded and "git_elite.cli.verifying" in loaded
    assert not {m for m in loaded if m.split(".")[0] == "click"}
    assert "git_elite.cli.main" not in loaded


def test_parsed_as_click_parses() -> None:
    """What the fast path parses is click's value for the same list."""
    for args in ([], ["x"], ["--json", "--history", "--no-cache", "--allow-stale", "p"],
                 ["--allow-stale", "p", "--json"]):
        parsed = fastpath.parse_verify(args)
        assert parsed is not None
        ctx = verify_command.command.make_context("verify", list(args))
        assert parsed == ctx.params


def test_flag_table_is_the_click_commands() -> None:
    """Every flag of the click command is in the fast path's table with the same
    destination (and nothing else is); its other options are left to click."""
    flags = {}
    for param in verify_command.command.params:
        if isinstance(param, click.Option) and param.is_flag:
            [long] = [o for o in param.opts if o.startswith("--")]
            flags[long] = param.name
    assert flags == fastpath.VERIFY_FLAGS
