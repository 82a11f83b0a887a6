"""The verified-tree memory of `git elite verify` (SPEC §12, docs/registry.md): a second
verify after a one-agent commit reads only the changed `agents/<ab>/` pieces, gives exactly
what a full audit gives (rankings included), never takes a changed or tampered piece from
memory, is keyed by the tree's context and the code's version, survives a damaged file, and
`--no-cache` bypasses it. Real registries, real commits, real signatures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import audit, documents, layout
from git_elite.edges import git, store, verified
from tests.conftest import git as run_git
from tests.conftest import run_cli
from tests.helpers_registry import (
    T0,
    agent_files,
    agent_id_of,
    commit_raw,
    make_registry,
    manifest,
    profile,
)


class Reads:
    """A git.TreeState that records every path read or listed (the audit's only access)."""

    def __init__(self, state: Any):
        self.state, self.paths = state, []

    def read(self, path: str) -> bytes | None:
        self.paths.append(path)
        return self.state.read(path)

    def subtree(self, directory: str) -> dict[str, bytes]:
        self.paths.append(directory)
        return self.state.subtree(directory)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.state, name)


@pytest.fixture
def reg(tmp_path: Path) -> Path:
    work = make_registry(tmp_path / "reg")
    files: dict[str, bytes | None] = {}
    for n in range(12):
        files.update(agent_files("alice", n, rate=0.5 + n / 30, total=100 + n))
    commit_raw(work, files, "twelve agents", index=True)
    return work


def memory_files() -> list[Path]:
    return sorted((store.home() / "verified").glob("*.json"))


def state(work: Path, rev: str = "HEAD") -> Any:
    repo = git.open_reader(work)
    return git.state_at(repo, str(repo.revparse_single(rev).peel(git._pygit2().Commit).id))


def pieces_read(reads: Reads) -> set[str]:
    return {p.split("/")[1] for p in reads.paths if p.startswith("agents/") and "/" in p}


def test_second_verify_reads_only_the_changed_piece(reg: Path) -> None:
    assert run_cli("verify", cwd=reg).returncode == 0
    assert len(memory_files()) == 1
    new = agent_files("bob", 40, rate=0.99)
    commit_raw(reg, new, "one more", index=True)
    changed = {p.split("/")[1] for p in new}
    reads = Reads(state(reg))
    assert audit.audit(reads, verified.open_memory(reads)) == []  # type: ignore[arg-type]
    assert pieces_read(reads) == changed, "\n".join(reads.paths)
    # the same answer as a full read, and the memory now holds the new tree
    assert audit.audit(state(reg)) == []
    reads = Reads(state(reg))
    assert audit.audit(reads, verified.open_memory(reads)) == []  # type: ignore[arg-type]
    assert pieces_read(reads) == set()
    assert run_cli("verify", cwd=reg).returncode == 0


def test_a_tampered_piece_is_checked_again(reg: Path) -> None:
    """A manifest changed without its signature, in a piece remembered clean: found."""
    run_cli("verify", cwd=reg)
    aid = agent_id_of(profile(3))
    path = layout.agent_path(aid, "manifest.json")
    body = json.loads((reg / path).read_bytes())
    body["success_rate"] = 1.0
    commit_raw(reg, {path: documents.to_bytes(body)}, "forged", index=True)
    with_memory = run_cli("verify", "--json", cwd=reg, check=None)
    full = run_cli("verify", "--json", "--no-cache", cwd=reg, check=None)
    assert with_memory.returncode == full.returncode == 1
    assert json.loads(with_memory.stdout) == json.loads(full.stdout)
    assert "signature" in {p["rule"] for p in json.loads(full.stdout)["problems"]}


def test_a_spoiled_head_is_found_with_the_pieces_from_memory(reg: Path) -> None:
    """INDEX.json's rankings reordered (no piece changed): the head is always checked."""
    run_cli("verify", cwd=reg)
    head = json.loads((reg / layout.INDEX).read_bytes())
    head["rankings"]["general"] = list(reversed(head["rankings"]["general"]))
    commit_raw(reg, {layout.INDEX: json.dumps(head).encode()}, "spoiled head")
    reads = Reads(state(reg))
    problems = audit.audit(reads, verified.open_memory(reads))  # type: ignore[arg-type]
    assert [p.rule for p in problems] == ["index"] and pieces_read(reads) == set()
    assert problems == audit.audit(state(reg))


def test_rankings_from_memory_equal_a_full_rebuild(reg: Path) -> None:
    """Agents updated with better and worse scores, one piece at a time: after each commit
    the memory-backed audit accepts the rebuilt index and rejects the previous head."""
    run_cli("verify", cwd=reg)
    for n, rate in ((2, 0.99), (7, 0.1), (11, 0.75)):
        previous = (reg / layout.INDEX).read_bytes()
        update = manifest("alice", profile(n), created_at=T0 + 10, rate=rate, total=150)
        commit_raw(reg, {layout.agent_path(agent_id_of(profile(n)), "manifest.json"):
                         documents.to_bytes(update)}, f"update {n}", index=True)
        current = state(reg)
        assert audit.audit(current, verified.open_memory(current)) == []
        if previous != (reg / layout.INDEX).read_bytes():
            commit_raw(reg, {layout.INDEX: previous}, "stale head")
            stale = state(reg)
            found = audit.audit(stale, verified.open_memory(stale))
            assert found == audit.audit(stale) and found
            run_git("reset", "-q", "--hard", "HEAD~1", cwd=reg)


def test_context_change_means_another_memory(reg: Path) -> None:
    """A change outside agents/ and index/ (here the README) is another context: a new key,
    so nothing is taken from the old one."""
    run_cli("verify", cwd=reg)
    first = memory_files()
    commit_raw(reg, {"README.md": b"# changed\n"}, "readme")
    reads = Reads(state(reg))
    memory = verified.open_memory(reads)
    assert memory is not None and memory.recall() is None
    assert audit.audit(reads, memory) == []  # type: ignore[arg-type]
    assert len(pieces_read(reads)) > 1
    assert len(memory_files()) == 2 and first[0] in memory_files()


def test_key_covers_code_and_libraries(reg: Path) -> None:
    memory = verified.open_memory(state(reg))
    assert memory is not None
    context = audit.memory_context(state(reg))
    import hashlib

    assert memory.key == hashlib.sha256(
        f"{verified.VERSION} {context} {verified.code_version()}".encode()).hexdigest()
    assert len(verified.code_version()) == 64


def test_another_library_version_is_another_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """code_version moves with each checking library's version (and one not installed)."""
    from importlib import metadata

    fresh = verified.compute_code_version
    real = metadata.version
    assert fresh() == verified.code_version()
    for name in verified.LIBRARIES:
        monkeypatch.setattr(metadata, "version",
                            lambda n, name=name: "0.0.0-other" if n == name else real(n))
        assert fresh() != verified.code_version(), name
    monkeypatch.setattr(metadata, "version", real)
    assert fresh() == verified.code_version()


def test_code_version_is_remembered_under_a_stamp(monkeypatch: pytest.MonkeyPatch) -> None:
    """The digest is kept in $AGENTD_HOME/verified/code-version under the files' stamp and
    taken from there while the stamp holds; another stamp, or a damaged file, recomputes."""
    verified.code_version.cache_clear()
    digest = verified.code_version()
    path = store.home() / "verified" / verified.STAMP
    assert path.read_text().split() == [verified.stamp(), digest]
    verified.code_version.cache_clear()
    monkeypatch.setattr(verified, "compute_code_version", lambda: pytest.fail("recomputed"))
    assert verified.code_version() == digest
    for damage in (f"{'0' * 64} {digest}\n", f"{verified.stamp()} {'X' * 64}\n", "", "\xff"):
        path.write_text(damage, encoding="latin-1")
        verified.code_version.cache_clear()
        monkeypatch.setattr(verified, "compute_code_version", lambda: "e" * 64)
        assert verified.code_version() == "e" * 64
        assert path.read_text().splitlines()[0].split() == [verified.stamp(), "e" * 64]
    verified.code_version.cache_clear()


def test_two_ways_of_starting_the_install_keep_their_stamps(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """`git-elite` and `python -m git_elite` see two sys.path lists, so two stamps: each is
    computed once and then found, alternately; the file keeps the last STAMPS of them, the
    newest first."""
    import sys

    path = store.home() / "verified" / verified.STAMP
    computed: list[str] = []

    def compute() -> str:
        computed.append(verified.stamp() or "")
        return f"{len(computed):064x}"

    monkeypatch.setattr(verified, "compute_code_version", compute)
    starts = []
    for n in range(verified.STAMPS + 1):
        (tmp_path / f"bin{n}").mkdir()
        starts.append([str(tmp_path / f"bin{n}"), *sys.path])
    seen = {}
    for start in [starts[0], starts[1], starts[0], starts[1], starts[0]]:
        monkeypatch.setattr(sys, "path", start)
        verified.code_version.cache_clear()
        seen.setdefault(start[0], verified.code_version())
        assert verified.code_version() == seen[start[0]]
    assert len(computed) == 2
    for start in starts[2:]:  # more ways than it keeps: the oldest stamp goes
        monkeypatch.setattr(sys, "path", start)
        verified.code_version.cache_clear()
        verified.code_version()
    lines = path.read_text().splitlines()
    assert len(lines) == verified.STAMPS and len(computed) == verified.STAMPS + 1
    assert lines[0].split()[0] == computed[-1]
    assert computed[0] not in path.read_text()
    monkeypatch.setattr(sys, "path", starts[0])
    verified.code_version.cache_clear()
    verified.code_version()
    assert len(computed) == verified.STAMPS + 2  # forgotten: computed again
    verified.code_version.cache_clear()


def test_the_stamp_moves_with_any_write_and_any_install(tmp_path: Path) -> None:
    """The same bytes written back with the old mtime still move the stamp (ctime); a
    library installed into a sys.path directory moves it too."""
    import os

    root, site = tmp_path / "pkg", tmp_path / "site"
    (root / "schemas").mkdir(parents=True)
    site.mkdir()
    rule = root / "rules.py"
    rule.write_bytes(b"LIMIT = 1\n")
    (root / "schemas" / "a.schema.json").write_bytes(b"{}")
    first = verified.stamp(root, [str(site)])
    assert first is not None and first == verified.stamp(root, [str(site)])
    st = rule.stat()
    rule.write_bytes(b"LIMIT = 2\n")  # same size
    os.utime(rule, ns=(st.st_atime_ns, st.st_mtime_ns))
    while rule.stat().st_ctime_ns == st.st_ctime_ns:  # within the clock's tick: once more
        os.utime(rule, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert rule.stat().st_mtime_ns == st.st_mtime_ns and rule.stat().st_size == st.st_size
    second = verified.stamp(root, [str(site)])
    assert second != first
    (site / "pynacl-9.9.dist-info").mkdir()
    assert verified.stamp(root, [str(site)]) != second
    assert verified.stamp(tmp_path / "absent") is None


@pytest.mark.parametrize("damage", [b"", b"{", b"[]", b'{"version": 1}', b"\xff" * 40,
                                    b'{"version":1,"key":"K","pieces":{"00":[1,2,3,4]},'
                                    b'"counts":{},"rows":{},"cut":{}}'])
def test_a_damaged_memory_is_ignored_and_rebuilt(reg: Path, damage: bytes) -> None:
    run_cli("verify", cwd=reg)
    [path] = memory_files()
    key = json.loads(path.read_bytes())["key"]
    path.write_bytes(damage.replace(b"K", key.encode()))
    result = run_cli("verify", cwd=reg, check=None)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(path.read_bytes())["key"] == key  # written again, whole


def test_no_cache_neither_reads_nor_writes(reg: Path) -> None:
    assert run_cli("verify", "--no-cache", cwd=reg).returncode == 0
    assert memory_files() == []
    run_cli("verify", cwd=reg)
    [path] = memory_files()
    before = path.read_bytes()
    commit_raw(reg, agent_files("bob", 41), "one more", index=True)
    assert run_cli("verify", "--no-cache", cwd=reg).returncode == 0
    assert path.read_bytes() == before


def test_a_failed_verify_is_not_remembered(reg: Path) -> None:
    aid = agent_id_of(profile(5))
    commit_raw(reg, {layout.agent_path(aid, "profile.json"): b'{"not": "it"}'}, "broken",
               index=True)
    assert run_cli("verify", cwd=reg, check=None).returncode == 1
    assert memory_files() == []


def test_a_piece_of_tombstones_only_is_remembered(reg: Path) -> None:
    """A directory whose every agent is tombstoned has no shard; it is remembered as such,
    so the next verify still reads only the changed directory."""
    from tests.helpers_registry import tombstone

    aid = agent_id_of(profile(4))
    others = [agent_id_of(profile(n)) for n in range(12) if n != 4]
    assert all(a[:2] != aid[:2] for a in others)  # alone in its agents/<ab>/
    commit_raw(reg, {layout.agent_path(aid, "tombstone.json"):
                     documents.to_bytes(tombstone("alice", aid)),
                     layout.agent_path(aid, "manifest.json"): None}, "retire", index=True)
    assert run_cli("verify", cwd=reg).returncode == 0
    [path] = memory_files()
    assert json.loads(path.read_bytes())["pieces"][aid[:2]][1] is None
    new = agent_files("bob", 42)
    commit_raw(reg, new, "one more", index=True)
    reads = Reads(state(reg))
    assert audit.audit(reads, verified.open_memory(reads)) == []  # type: ignore[arg-type]
    assert pieces_read(reads) == {p.split("/")[1] for p in new}
