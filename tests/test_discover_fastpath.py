"""`git elite discover` without click (cli/fastpath.py) against the same command through
click (cli/main.py): a table of argument lists — good ones, bad values, options click
refuses or would have to convert, help — runs through BOTH paths on the same registries;
stdout, stderr and the exit code must be the same bytes. The launcher's path is the
`git-elite` console script; click's is `cli.main.main` called directly."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from git_elite.cli import fastpath
from git_elite.cli.commands import discover as discover_command
from git_elite.cli.discovering import Options
from tests.conftest import BIN, run_cli
from tests.helpers_discover import registry_with
from tests.helpers_fastpath import both
from tests.helpers_registry import isolated_module_env

AGENTS = [
    {"owner": "alice", "n": 1, "rate": 0.95, "total": 200, "recent": 40},
    {"owner": "bob", "n": 2, "rate": 0.85, "total": 60, "recent": 12},
    {"owner": "carol", "n": 4, "rate": 0.9, "total": 1000, "recent": 10},
    {"owner": "bob", "n": 5, "rate": 0.5, "total": 300, "recent": 30},  # not elite
]


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(a registry working copy, its bare copy), the bare one's cache clone filled."""
    tmp = tmp_path_factory.mktemp("fastpath")
    with isolated_module_env(tmp):
        work, bare = registry_with(tmp, "reg", AGENTS)
        run_cli("discover", "--registry", str(bare), cwd=tmp)
        yield work, bare




R = "{bare}"  # stands for the bare registry's path in the table
CASES = {
    "offline-json": ["--registry", R, "--offline", "--json"],
    "offline-table": ["--registry", R, "--offline"],
    "equals-forms": [f"--registry={R}", "--offline", "--top=1", "--json"],
    "top-0": ["--registry", R, "--offline", "--top", "0"],
    "filters": ["--registry", R, "--offline", "--min-success", "0.9", "--min-tasks", "100",
                "--json"],
    "rate-forms": ["--registry", R, "--offline", "--min-success", ".9", "--min-tasks", "010"],
    "unknown-task-type": ["--registry", R, "--offline", "--task-type", "nope"],
    "trusted-only": ["--registry", R, "--offline", "--trusted-only", "--json"],
    "attested": ["--registry", R, "--offline", "--attested", "--allow-stale"],
    "working-copy": [],
    "working-copy-json": ["--json", "--top", "2"],
    "top-negative": ["--top", "-1"],
    "top-word": ["--top", "x"],
    "top-plus": ["--top", "+1"],
    "top-space": ["--top", " 1"],
    "top-twice": ["--top", "1", "--top", "2", "--json"],
    "rate-too-big": ["--min-success", "1.5", "--json"],
    "rate-nan": ["--min-success", "nan"],
    "rate-exponent": ["--min-success", "1e-1", "--json"],
    "flag-with-value": ["--json=1"],
    "abbreviation": ["--jso"],
    "missing-value": ["--registry"],
    "value-like-option": ["--task-type", "--json"],
    "positional": ["extra"],
    "double-dash": ["--", "--json"],
    "short-help": ["-h"],
    "help": ["--help"],
    "httpd-without-rid": ["--httpd", "http://127.0.0.1:9/", "--json"],
    "unknown-registry": ["--registry", "no-such-registry", "--offline", "--json"],
    "missing-path": ["--registry", "/nonexistent/elites.git", "--offline"],
}


@pytest.mark.parametrize("name", CASES)
def test_same_bytes_with_and_without_click(name: str, place: tuple[Path, Path]) -> None:
    work, bare = place
    args = [a.replace(R, str(bare)) for a in CASES[name]]
    fast, slow = both("discover", args, work)
    assert (fast.returncode, fast.stdout, fast.stderr) == \
        (slow.returncode, slow.stdout, slow.stderr)


def test_the_table_takes_both_paths(place: tuple[Path, Path]) -> None:
    """The comparison means something: the good lists are answered without click, the
    others are handed to it."""
    taken = {name for name, args in CASES.items() if fastpath.parse(args) is not None}
    assert taken == {"offline-json", "offline-table", "equals-forms", "top-0", "filters",
                     "rate-forms", "unknown-task-type", "trusted-only", "attested",
                     "working-copy", "working-copy-json", "httpd-without-rid",
                     "unknown-registry", "missing-path"}


def test_fast_path_runs_without_click(place: tuple[Path, Path]) -> None:
    work = place[0]
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    proc = subprocess.run([str(BIN / "git-elite"), "discover", "--json"], cwd=work, env=env,
                          capture_output=True, text=True, check=True)
    loaded = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
              if line.startswith("import time:") and "|" in line}
    assert "git_elite.cli.fastpath" in loaded
    assert not {m for m in loaded if m.split(".")[0] == "click"}
    assert "git_elite.cli.main" not in loaded


def test_parsed_as_click_parses() -> None:
    """What the fast path parses is click's value for the same list."""
    for args in ([], ["--top", "3", "--registry", "a", "--registry=b", "--json"],
                 ["--min-success=1", "--min-tasks", "0", "--url", "u", "--rid", "r",
                  "--httpd", "h", "--offline", "--allow-stale", "--trusted-only",
                  "--attested", "--task-type", "t"]):
        parsed = fastpath.parse(args)
        assert parsed is not None
        ctx = discover_command.command.make_context("discover", list(args))
        assert Options(**parsed) == Options(**ctx.params)


def test_option_table_is_the_click_commands() -> None:
    """Every option of the click command is in the fast path's table with the same
    destination and kind (and nothing else is): the two cannot drift apart."""
    kinds: dict[str, tuple[str, str]] = {}
    flags: dict[str, str] = {}
    for param in discover_command.command.params:
        assert isinstance(param, click.Option) and param.name is not None
        long = [o for o in param.opts if o.startswith("--")]
        assert long == param.opts, param.opts  # no short forms to parse
        if param.is_flag:
            flags[long[0]] = param.name
        elif param.multiple:
            kinds[long[0]] = (param.name, "many")
        elif isinstance(param.type, click.IntRange):
            assert (param.type.min, param.type.max) == (0, None) and not param.type.min_open
            kinds[long[0]] = (param.name, "count")
        elif isinstance(param.type, click.FloatRange):
            assert (param.type.min, param.type.max) == (0, 1)
            assert not (param.type.min_open or param.type.max_open or param.type.clamp)
            kinds[long[0]] = (param.name, "rate")
        else:
            assert param.type is click.STRING
            kinds[long[0]] = (param.name, "text")
    assert kinds == fastpath.VALUED and flags == fastpath.FLAGS
    assert set(Options._fields) == {p.name for p in discover_command.command.params}
