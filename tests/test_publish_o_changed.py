"""`publish` of one manifest on a warm cache is O(changed): the push sends only the new
objects (a thin pack), and the cache sync when nothing else was pushed starts no rewind check.
Counted in git's own trace of a real publish into a real hooked bare registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from git_elite.core import layout
from git_elite.edges import git as git_module
from git_elite.edges import publish
from git_elite.edges.known_registries import Registry
from tests.conftest import git, run_cli
from tests.helpers_publish import elite_root, tip, write_agent
from tests.helpers_registry import key, make_identity, make_server


def _publish_traced(server: Path, agent: str, trace: Path) -> list[tuple[int, str]]:
    """(depth, command line) of every git process the publish started (d1 = the client's
    own git calls: `git elite` itself is d0; receive-pack d2; the server hook's git d3)."""
    trace.unlink(missing_ok=True)
    run_cli("publish", str(elite_root() / agent), "--registry", str(server), cwd=trace.parent,
            env={"GIT_TRACE2_PERF": str(trace)})
    found = []
    for line in trace.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 8 and cells[3] == "start":
            words = cells[8].split(" ")
            if words[1:2] == ["-C"]:  # git in another directory, as `git -C DIR` (spawn)
                words = [words[0], *words[3:]]
            found.append((int(cells[1].removeprefix("d")), " ".join(words)))
    return found


def _new_objects(server: Path, old: str, new: str) -> int:
    return len(git("rev-list", "--objects", new, f"^{old}", cwd=server).stdout.split("\n")) - 1


def test_a_warm_publish_pushes_only_the_new_objects_and_skips_the_rewind_check(
        tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    make_identity("alice")
    for n in range(1, 40):  # a registry bigger than what one publish changes
        write_agent("alice", n)
    run_cli("publish", "--registry", str(server))  # and the cache clone is warm
    agent = write_agent("alice", 40)
    old = tip(server)
    procs = _publish_traced(server, agent, tmp_path / "trace.txt")
    new = tip(server)
    packs = [int(m.group(1)) for _, cmd in procs
             for m in [re.search(r"--pack_header=2,(\d+)", cmd)] if m]
    # unpack-objects (or index-pack) names the pack's object count: exactly what the new
    # commit adds (commit, the trees on the changed paths, manifest, profile, INDEX.json,
    # the one shard), none of the 40 agents the server already holds
    assert packs == [_new_objects(server, old, new)] and packs[0] <= 12
    client = [cmd for depth, cmd in procs if depth == 1]
    # the cache's tip was our own last push: the fetch finds nothing new, no ancestry check,
    # no ref rewritten; the push's refs are moved in one update-ref
    assert not [c for c in client if "merge-base" in c], client
    assert [c for c in client if "update-ref" in c] == ["git update-ref --stdin"], client
    assert len(client) <= 15, client  # 17 before the rewind check was skipped


def test_a_publish_after_another_writers_push_reads_only_the_shards_they_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache clone fetched a commit it did not build: its index data (the parent's
    ranks) is derived from the last one it did, not from every shard of the registry."""
    _, server = make_server(tmp_path)
    make_identity("alice")
    names = [write_agent("alice", n) for n in range(1, 41)]
    run_cli("publish", *(str(elite_root() / a) for a in names[:-2]), "--registry",
            str(server), cwd=tmp_path)  # our cache clone is warm on this tip
    other = publish.open_target(Registry("other", str(server)), key("alice"))
    assert publish.publish_files(other, [_item(names[-2])], "another writer\n").ok
    # the registry the CLI was given by path: the same (per-URL) cache clone
    ours = publish.open_target(Registry("server", str(server), None, "url"), key("alice"))
    read: list[str] = []
    real = git_module.TreeState.read

    def counted(self: git_module.TreeState, path: str) -> bytes | None:
        read.append(path)
        return real(self, path)

    monkeypatch.setattr(git_module.TreeState, "read", counted)
    assert publish.publish_files(ours, [_item(names[-1])], "ours\n").ok
    shards = {p for p in read if p.startswith("index/")}
    # every agent here is ranked (40 < 100): ranked.json is read and rewritten (SPEC §6.2)
    touched = {layout.shard_path(a[:2]) for a in names[-2:]} | {layout.RANKED}
    assert shards <= touched, sorted(shards - touched)
    run_cli("verify", "--history", cwd=server)


def _item(agent: str) -> publish.Item:
    return publish.agent_item(publish.load_dir(elite_root() / agent))
