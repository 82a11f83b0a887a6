"""The build-verify-push loop in-process: a stale cache is rebuilt on the new tip."""

from __future__ import annotations

from pathlib import Path

from git_elite.edges import publish
from git_elite.edges.known_registries import Registry
from tests.conftest import run_cli
from tests.helpers_publish import elite_root, index, write_agent
from tests.helpers_registry import key, make_identity, make_server


def test_concurrent_push_is_fetched_rebuilt_and_retried(tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    make_identity("alice")
    first, second = (write_agent("alice", n) for n in (1, 2))
    items = [publish.agent_item(publish.load_dir(elite_root() / a)) for a in (first, second)]
    early = publish.open_target(Registry("early", str(server)), key("alice"))
    late = publish.open_target(Registry("late", str(server)), key("alice"))
    done = publish.publish_files(early, [items[0]], "first\n")
    assert (done.pushes, done.retries, done.ok) == (1, 0, True)
    waits: list[float] = []
    again = publish.publish_files(late, [items[1]], "second\n", sleep=waits.append)
    assert [o.status for o in again.outcomes] == ["published"]
    assert (again.pushes, again.retries, len(waits)) == (2, 1, 1)
    assert 0 < waits[0] <= publish.BACKOFF_BASE
    assert set(index(server)["agents"]) == {first, second}
    run_cli("verify", "--history", cwd=server)


def test_item_owns_its_agent_directory() -> None:
    a, b = "a" * 64, "b" * 64
    item = publish.Item(a, {f"agents/aa/{a}/manifest.json": b"{}"})
    assert item.owns(f"agents/aa/{a}/")
    assert item.owns(f"agents/aa/{a}/profile.json")
    assert not item.owns(f"agents/bb/{b}/manifest.json")
    assert not item.owns("INDEX.json")


def test_prepare_resigns_only_when_needed(tmp_path: Path) -> None:
    from git_elite.core import documents

    make_identity("alice")
    agent = publish.load_dir(elite_root() / write_agent("alice", 1))
    created = agent.body["created_at"]
    same = publish.prepare(agent, key("alice"), created + 5, None, agent.manifest)
    assert same is agent
    ref = {"type": "git", "url": "u", "commit": "b" * 40, "path": ""}
    moved = publish.prepare(agent, key("alice"), created - 10, ref)
    assert (moved.body["repo_ref"], moved.body["created_at"]) == (ref, created + 1)
    newer = publish.prepare(agent, key("alice"), 0, None, moved.manifest)
    assert newer.body["created_at"] == created + 2
    assert newer.body["eval_window"]["to_ts"] <= newer.body["created_at"]
    _, problems = documents.check(newer.manifest, "manifest.json", documents.MANIFEST)
    assert problems == []


def test_a_ref_lock_left_on_the_server_is_named_when_publish_gives_up(tmp_path: Path) -> None:
    """A receive-pack killed mid-update leaves refs/heads/main.lock in the server; every push
    then loses with `cannot lock ref`. publish retries like a race, then gives up with git's
    own words, so the server's owner can see the lock to remove."""
    _, server = make_server(tmp_path)
    make_identity("alice")
    item = publish.agent_item(publish.load_dir(elite_root() / write_agent("alice", 1)))
    target = publish.open_target(Registry("locked", str(server)), key("alice"))
    lock = server / "refs" / "heads" / "main.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    waits: list[float] = []
    result = publish.publish_files(target, [item], "one\n", attempts=3, sleep=waits.append)
    [outcome] = result.outcomes
    assert outcome.status == publish.NOT_PUSHED
    assert "kept moving: gave up after 3 attempts" in outcome.message
    assert any("cannot lock ref" in line and "main" in line for line in outcome.lines)
    assert (result.pushes, len(waits)) == (3, 2)
    lock.unlink()
    again = publish.publish_files(target, [item], "one\n", sleep=waits.append)
    assert [o.status for o in again.outcomes] == ["published"]



def test_a_failed_push_is_reported_by_git_s_telling_line(tmp_path: Path) -> None:
    """git.telling: of a lock error's seven lines (real git: `git add` with index.lock
    taken), the one that names the file, not the advice's last line; git's last `error:`
    line otherwise, or its last line when it wrote neither."""
    import os
    import subprocess

    from git_elite.edges import git

    work = tmp_path / "w"
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    (work / "x").write_text("x\n")
    (work / ".git" / "index.lock").write_text("")
    proc = subprocess.run(["git", "add", "x"], cwd=work, capture_output=True, text=True,
                          env={**os.environ, "LC_ALL": "C"})
    lines = proc.stderr.splitlines()
    assert proc.returncode != 0 and lines[-1] == "remove the file manually to continue."
    [said] = git.telling(lines)
    assert said.startswith("fatal: Unable to create") and "index.lock" in said
    assert git.telling(["a", "error: first", "b", "error: second", "c"]) == ["error: second"]
    assert git.telling(["only advice", "last"]) == ["last"] and git.telling([]) == []
