"""The README's commands are run, so they cannot rot (STYLE.md item 10).

1. The `sh` block under "## The story in eight commands" runs as written, in one `sh -e`
   session, in a fresh agent project repo. The environment the block's comment names is all
   the test provides: HOME (hence `~`), AGENTD_HOME and git's global config in tmp (the
   autouse fixture), SERVER (a path for the bare registry) and BOB (bob's did:key). The
   project holds the bundled fixture configs and eval logs at the default places (Racket:
   ~/.agentd/evals.jsonl; TypeScript: .chrysalis/state/…) with their timestamps moved so
   that the fixtures' "now" (1767225600) is the real now: the block calls `generate` without
   `--now`, as a user would.
2. Every `git elite <command>` mentioned anywhere in README.md exists: `-h` exits 0.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS, git, run_cli
from tests.helpers_pipeline import FIXTURES, NOW, keypair

README = (ROOT / "README.md").read_text()
STORY = "## The story in eight commands"
MENTION = re.compile(r"\bgit (?:-C \S+ )?elite (?:-C \S+ )?([a-z][a-z-]*)(?: ([a-z][a-z-]*))?")


def story_block(which: int = 0) -> str:
    """The `which`-th ```sh block under the story's heading (0: the story, 1: the same on the
    bundled fixtures)."""
    after = README[README.index(STORY):]
    blocks = re.findall(r"```sh\n(.*?)```", after, re.DOTALL)
    assert len(blocks) > which, f"no ```sh block {which} under {STORY!r}"
    return str(blocks[which])


def shift_line(line: str, delta: int) -> str:
    """One eval record with its `ts` moved by delta seconds (seconds, ms or ISO-8601, as
    written); a line that is not a record with a readable ts (the fixtures' deliberately
    malformed ones) is kept as it is."""
    try:
        record = json.loads(line)
        ts = record["ts"]
    except (ValueError, KeyError, TypeError):
        return line
    if isinstance(ts, bool) or not isinstance(ts, int | float | str):
        return line
    if isinstance(ts, str):
        try:
            when = datetime.fromisoformat(ts)
        except ValueError:
            return line
        record["ts"] = (when + timedelta(seconds=delta)).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        record["ts"] = ts + (delta * 1000 if ts >= 10**11 else delta)
    return json.dumps(record)


def copy_log(source: Path, target: Path, delta: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = source.read_text().splitlines()
    target.write_text("".join(shift_line(line, delta) + "\n" for line in lines))


def agent_project(tmp: Path, home: Path) -> Path:
    """A git repo with the fixtures' agents.yaml, prompts and demos, and eval logs of both
    formats at their default places, dated as if the fixtures had been made just now."""
    delta = int(time.time()) - NOW
    repo = tmp / "my-agent"
    repo.mkdir()
    shutil.copy(FIXTURES / "agents.yaml", repo)
    for folder in ("prompts", "demos"):
        shutil.copytree(FIXTURES / folder, repo / folder)
    copy_log(FIXTURES / "racket" / "evals.jsonl", home / ".agentd" / "evals.jsonl", delta)
    for log in (FIXTURES / "ts").rglob("evals.jsonl"):
        copy_log(log, repo / log.relative_to(FIXTURES / "ts"), delta)
    (repo / ".gitignore").write_text(".chrysalis/\n")
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "my agent", cwd=repo)
    git("remote", "add", "origin", "https://example.invalid/my-agent.git", cwd=repo)
    return repo


def test_story_block_has_eight_commands() -> None:
    lines = [line for line in story_block().splitlines() if line and not line.startswith("#")]
    assert len(lines) == 8
    assert all(line.startswith("git ") for line in lines)
    assert "SERVER=" in story_block() and "BOB=" in story_block()


def test_story_block_runs_as_written(tmp_path: Path, isolated_env: Path) -> None:
    repo = agent_project(tmp_path, isolated_env)
    server = tmp_path / "srv" / "elites.git"
    bob = keypair("bob").did
    env = {"SERVER": str(server), "BOB": bob, "AGENTD_KEYGEN_SEED": SEEDS["alice"]}
    proc = subprocess.run(["sh", "-e", "-x", "-c", story_block()], cwd=repo,
                          env={**os.environ, **env}, capture_output=True,
                          text=True, check=False, timeout=120)
    assert proc.returncode == 0, f"a README command failed:\n{proc.stderr}\n{proc.stdout}"
    alice = keypair("alice").did
    assert f"created {alice} (alice)" in proc.stderr
    assert "wrote 2 of 6 agent(s) as signed manifests" in proc.stderr  # two qualify
    published = re.findall(r"^published  ([0-9a-f]{64})$", proc.stdout, re.MULTILINE)
    assert len(published) == 2
    assert f"trusting {bob} for *" in proc.stderr
    ranked = re.findall(r"^(\d+)\s+([0-9a-f]{12})\s", proc.stdout, re.MULTILINE)
    assert [rank for rank, _ in ranked] == ["1", "2"]
    assert {short for _, short in ranked} == {agent[:12] for agent in published}
    head = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    first = published[0]
    shown = git("show", f"main:agents/{first[:2]}/{first}/manifest.json", cwd=server).stdout
    assert json.loads(shown)["repo_ref"]["commit"] == head
    run_cli("verify", "--history", str(server))


def test_fixture_story_runs_as_written_from_a_clone(tmp_path: Path, isolated_env: Path) -> None:
    """The second block, run where a user runs it (the project's own directory, which only
    the generate line reads), on the fixtures as they are in the project."""
    env = {"AGENTD_KEYGEN_SEED": SEEDS["alice"]}
    proc = subprocess.run(["sh", "-e", "-x", "-c", story_block(1)], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True,
                          text=True, check=False, timeout=120)
    assert proc.returncode == 0, f"a README command failed:\n{proc.stderr}\n{proc.stdout}"
    assert "wrote 2 of 6 agent(s) as signed manifests" in proc.stderr
    published = re.findall(r"^published  ([0-9a-f]{64})$", proc.stdout, re.MULTILINE)
    ranked = re.findall(r"^(\d+)\s+([0-9a-f]{12})\s", proc.stdout, re.MULTILINE)
    assert len(published) == 2 and {short for _, short in ranked} == {a[:12] for a in published}
    assert "$AGENTD_HOME" not in proc.stderr
    run_cli("verify", "--history", str(isolated_env / "try-elites.git"))


def mentioned() -> list[tuple[str, ...]]:
    """Every distinct `git elite <command>` in README.md, with its subcommand when <command>
    is a group (`id`, `trust`, …; asked of the real click group)."""
    import click

    from git_elite.cli.main import group

    ctx = click.Context(group)
    found = set()
    for match in MENTION.finditer(README):
        first, second = match.groups()
        is_group = isinstance(group.get_command(ctx, first), click.Group)
        found.add((first, second) if is_group and second else (first,))
    return sorted(found)


def test_readme_mentions_commands() -> None:
    assert len(mentioned()) >= 20
    assert ("trust", "endorse") in mentioned() and ("publish",) in mentioned()


@pytest.mark.parametrize("words", mentioned(), ids=lambda words: "-".join(words))
def test_readme_command_exists(words: tuple[str, ...]) -> None:
    proc = run_cli(*words, "-h")
    assert f"Usage: git elite {' '.join(words)} [OPTIONS]" in proc.stdout
