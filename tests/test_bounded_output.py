"""Bounded output (issue 10.6, SPEC §13): a refused push prints at most 100 REJECT lines, then
how many more problems there were; `verify --json` still lists every problem."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from git_elite.core.errors import MAX_REJECT_LINES, Problem, reject_lines
from tests.conftest import git, run_cli
from tests.helpers_registry import commit_raw, make_server, push

REJECT = re.compile(r"^(?:remote: )?git-elite: REJECT ", re.MULTILINE)


@pytest.mark.parametrize("count, shown, more", [
    (0, 0, None), (1, 1, None), (100, 100, None), (101, 100, 1), (3000, 100, 2900)],
    ids=["none", "one", "exactly-100", "101", "3000"])
def test_reject_lines_bounded(count: int, shown: int, more: int | None) -> None:
    problems = [Problem("layout", f"junk/{i}.json", "not a registry path", "c" * 40)
                for i in range(count)]
    lines = reject_lines(problems)
    assert sum(line.startswith("git-elite: REJECT ") for line in lines) == shown
    tail = [line for line in lines if not line.startswith("git-elite: REJECT ")]
    assert tail == ([] if more is None else
                    [f"git-elite: ... and {more} more problem(s) not shown (`git elite verify "
                     "--history --json` on the pushed branch lists every one)"])
    assert MAX_REJECT_LINES == 100


def test_push_of_3000_invalid_paths_prints_100_lines_and_the_count(tmp_path: Path) -> None:
    work, server = make_server(tmp_path)
    before = git("rev-parse", "main", cwd=server).stdout
    files: dict[str, bytes | None] = {f"junk/{i:04d}.json": b"{}\n" for i in range(3000)}
    commit_raw(work, files, "3000 files at invalid paths")
    proc = push(work)
    assert proc.returncode != 0
    assert len(REJECT.findall(proc.stderr)) == MAX_REJECT_LINES
    problems = json.loads(run_cli("verify", "--json", str(work), check=1).stdout)["problems"]
    assert len(problems) >= 3000
    assert sum(p["rule"] == "layout" for p in problems) >= 3000
    assert f"... and {len(problems) - MAX_REJECT_LINES} more problem(s) not shown" \
        in proc.stderr
    assert f"push refused: {len(problems)} problem(s)" in proc.stderr
    assert git("rev-parse", "main", cwd=server).stdout == before
    assert len(proc.stderr.splitlines()) < MAX_REJECT_LINES + 20
