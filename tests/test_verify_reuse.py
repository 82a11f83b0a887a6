"""Per-agent reuse inside a changed piece (SPEC §12, docs/registry.md "What verify
remembers"): after a one-agent change in a big `agents/<ab>/` directory, the second verify
runs the rule engine on that agent only, takes the other agents' index entries from the
remembered shard (today's shard less the new agents' items when that is the remembered
one, else read by its blob id), and says exactly what a full audit says: for good
and bad changes, a forged or thinned shard, conflicts with unchanged agents, a withdrawn
agent's directory touched, a hostile entry, and when the remembered tree is gone from the
object store (then the whole piece is checked). Real registries, real commits, real
signatures; the engine's per-agent calls are counted, not timed."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import audit as core_audit
from git_elite.core import documents, indexing, layout, rules
from git_elite.edges import git, gitcheck
from tests.conftest import git as run_git
from tests.conftest import run_cli
from tests.helpers_registry import (
    T0,
    agent_id_of,
    attestation,
    commit_raw,
    isolated_module_env,
    make_registry,
    manifest,
    profile,
    registry_copy,
    tombstone,
)

PIECE_SIZE = 12  # agents of the big piece


def _numbers() -> tuple[str, list[int], list[int]]:
    """The piece `ab` most of profiles 0..2999 fall in, PIECE_SIZE of its numbers, and four
    numbers of agents in other pieces."""
    by_piece: dict[str, list[int]] = {}
    for n in range(3000):
        by_piece.setdefault(agent_id_of(profile(n))[:2], []).append(n)
    ab = max(sorted(by_piece), key=lambda k: len(by_piece[k]))
    assert len(by_piece[ab]) >= PIECE_SIZE + 1
    others = [ns[0] for k, ns in sorted(by_piece.items()) if k != ab][:4]
    return ab, by_piece[ab][:PIECE_SIZE + 1], others


AB, MINE, OTHERS = _numbers()
WITHDRAWN = MINE[-1]  # withdrawn by a tombstone in the template
LIVE = MINE[:-1]


def files_of(n: int, owner: str = "alice", **kw: Any) -> dict[str, bytes | None]:
    config = profile(n)
    body = manifest(owner, config, rate=kw.pop("rate", 0.5 + (n % 40) / 100),
                    total=kw.pop("total", 100 + n % 50), **kw)
    return {layout.agent_path(body["agent_id"], "manifest.json"): documents.to_bytes(body),
            layout.agent_path(body["agent_id"], "profile.json"): documents.to_bytes(config)}


def aid(n: int) -> str:
    return agent_id_of(profile(n))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A registry with PIECE_SIZE live agents and one withdrawn agent in `agents/<AB>/` and
    four agents elsewhere, verified clean."""
    tmp = tmp_path_factory.mktemp("reuse")
    with isolated_module_env(tmp):
        reg = make_registry(tmp / "reg")
        files: dict[str, bytes | None] = {}
        for n in [*MINE, *OTHERS]:
            files.update(files_of(n))
        commit_raw(reg, files, "agents", index=True)
        gone = aid(WITHDRAWN)
        commit_raw(reg, {layout.agent_path(gone, "manifest.json"): None,
                         layout.agent_path(gone, "tombstone.json"):
                         documents.to_bytes(tombstone("alice", gone))}, "withdraw", index=True)
        assert audit(reg, remember=False) == []
        yield reg


@pytest.fixture
def reg(template: Path, tmp_path: Path) -> Path:
    """A copy of the template whose tree the verified-tree memory holds (a first verify)."""
    work = registry_copy(template, tmp_path)
    assert audit(work) == []
    return work


READER = ["pygit2"]  # the reader of the audits with memory (the `reader` fixture)
USED: list[str] = []  # "catfile" each time gitcheck.audit_remembered gave the answer


@pytest.fixture(autouse=True, params=["pygit2", "catfile"])
def reader(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test twice: the memory read through libgit2 (gitcheck.audit) and through
    `git cat-file` alone (gitcheck.audit_remembered, what `verify` runs when a memory
    applies); the answers are compared with a full read either way."""
    READER[0] = request.param
    yield request.param
    READER[0] = "pygit2"


def audit(work: Path, remember: bool = True) -> list[Any]:
    if remember and READER[0] == "catfile":
        found = gitcheck.audit_remembered(str(work), "HEAD")
        if found is not None:
            USED.append("catfile")
            return found
    return gitcheck.audit(git.open_reader(work), "HEAD", remember=remember)


PARSED: list[str] = []  # pieces whose remembered shard the last `second` parsed


def second(work: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[str]]:
    """The verify after the change, with the memory: (problems, the agents the rule
    engine checked); asserted equal to a full audit's problems, which checks more agents.
    PARSED: the pieces whose remembered shard was parsed (not spliced)."""
    checked: list[str] = []
    real, kept = rules.check_agent, core_audit._kept

    def counting(ctx: Any, agent_id: str, files: Any) -> None:
        checked.append(agent_id)
        real(ctx, agent_id, files)

    def parsing(old: Any, ab: str, *args: Any) -> Any:
        PARSED.append(ab)
        return kept(old, ab, *args)

    monkeypatch.setattr(rules, "check_agent", counting)
    monkeypatch.setattr(core_audit, "_kept", parsing)
    PARSED.clear()
    USED.clear()
    found = audit(work)
    assert len(USED) == (READER[0] == "catfile")
    with_memory, checked[:] = list(checked), []
    full = audit(work, remember=False)
    assert found == full
    assert Counter(a[:2] for a in checked)[AB] >= PIECE_SIZE  # the full read: every agent
    monkeypatch.setattr(rules, "check_agent", real)
    return found, with_memory


def rules_of(problems: list[Any]) -> set[tuple[str, str]]:
    return {(p.rule, p.path) for p in problems}


def test_a_good_change_rechecks_that_agent_alone(reg: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    n = LIVE[3]
    commit_raw(reg, files_of(n, created_at=T0 + 10, rate=0.97, total=400), "update",
               index=True)
    problems, checked = second(reg, monkeypatch)
    assert problems == [] and checked == [aid(n)]
    assert PARSED == []  # the shard was the remembered one with this agent spliced in
    # remembered again: nothing is checked by the next verify
    problems, checked = second(reg, monkeypatch)
    assert problems == [] and checked == []


def test_a_new_agent_in_the_big_piece(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = next(k for k in range(3000, 40000) if aid(k)[:2] == AB)
    commit_raw(reg, files_of(n, owner="bob"), "one more", index=True)
    problems, checked = second(reg, monkeypatch)
    assert problems == [] and checked == [aid(n)]


def test_rankings_after_changes_in_the_big_piece(reg: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """An agent of the big piece taken to the top, then to the bottom, then withdrawn: the
    rebuilt head is accepted and the previous one refused, as by a full read."""
    n = LIVE[4]
    gone = aid(n)
    steps = [files_of(n, created_at=T0 + 10, rate=0.999, total=900),
             files_of(n, created_at=T0 + 20, rate=0.01, total=900),
             {layout.agent_path(gone, "manifest.json"): None,
              layout.agent_path(gone, "tombstone.json"):
              documents.to_bytes(tombstone("alice", gone, created_at=T0 + 30))}]
    for files in steps:
        previous = (reg / layout.INDEX).read_bytes()
        commit_raw(reg, files, "step", index=True)
        problems, checked = second(reg, monkeypatch)
        assert problems == [] and checked == [gone] and PARSED == []
        commit_raw(reg, {layout.INDEX: previous}, "stale head")
        problems, _ = second(reg, monkeypatch)
        assert ("index", layout.INDEX) in rules_of(problems)
        run_git("reset", "-q", "--hard", "HEAD~1", cwd=reg)
    head = json.loads((reg / layout.INDEX).read_bytes())
    assert gone not in json.dumps(head)


def test_a_bad_manifest(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = LIVE[0]
    path = layout.agent_path(aid(n), "manifest.json")
    body = json.loads((reg / path).read_bytes())
    body["success_rate"] = 1.0  # not what was signed
    commit_raw(reg, {path: documents.to_bytes(body)}, "forged", index=True)
    problems, checked = second(reg, monkeypatch)
    assert ("signature", path) in rules_of(problems) and checked == [aid(n)]


def test_a_bad_profile(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = LIVE[1]
    path = layout.agent_path(aid(n), "profile.json")
    commit_raw(reg, {path: documents.to_bytes(profile(n, module="Other"))}, "profile")
    problems, checked = second(reg, monkeypatch)
    assert "binding" in {p.rule for p in problems} and checked == [aid(n)]


def _shard(work: Path) -> tuple[Path, dict[str, Any]]:
    path = work / layout.shard_path(AB)
    return path, json.loads(path.read_bytes())


def test_a_forged_entry_of_an_unchanged_agent(reg: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """One agent changes; the shard also lies about another, unchanged one."""
    commit_raw(reg, files_of(LIVE[2], created_at=T0 + 10, rate=0.6), "update", index=True)
    path, shard = _shard(reg)
    shard["agents"][aid(LIVE[5])]["success_rate"] = 1.0
    path.write_bytes(indexing.dumps(shard))
    commit_raw(reg, {}, "forged entry")
    problems, checked = second(reg, monkeypatch)
    assert ("index", layout.shard_path(AB)) in rules_of(problems)
    assert checked == [aid(LIVE[2])] and PARSED == [AB]  # parsed for the exact problem


def test_an_unchanged_agents_entry_removed(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit_raw(reg, files_of(LIVE[2], created_at=T0 + 10, rate=0.6), "update", index=True)
    path, shard = _shard(reg)
    del shard["agents"][aid(LIVE[6])]
    path.write_bytes(indexing.dumps(shard))
    commit_raw(reg, {}, "thinned", index=False)
    problems, checked = second(reg, monkeypatch)
    assert ("index", layout.shard_path(AB)) in rules_of(problems)
    assert checked == [aid(LIVE[2])]


def test_a_copy_of_an_unchanged_agent(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new directory holding an unchanged agent's manifest and profile (a duplicate)."""
    victim = aid(LIVE[4])
    clone = AB + "f" * 62
    files = {layout.agent_path(clone, name): (reg / layout.agent_path(victim, name)
                                              ).read_bytes()
             for name in ("manifest.json", "profile.json")}
    commit_raw(reg, files, "duplicate", index=True)
    problems, checked = second(reg, monkeypatch)
    assert {p.rule for p in problems} == {"binding"} and checked == [clone]


def test_conflicts_with_unchanged_agents(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attestation of an unchanged agent copied under the changed one, and the owner
    attesting her own agent: binding and ownership problems of the changed agent only."""
    mine, other = aid(LIVE[7]), aid(LIVE[8])
    folder = layout.agent_dir(mine) + "/attestations"
    copied = attestation("bob", other)
    own = attestation("alice", mine)
    from tests.helpers_registry import nid

    commit_raw(reg, {f"{folder}/{nid('bob')}.json": documents.to_bytes(copied),
                     f"{folder}/{nid('alice')}.json": documents.to_bytes(own)},
               "attestations", index=True)
    problems, checked = second(reg, monkeypatch)
    assert {"binding", "ownership"} <= {p.rule for p in problems}
    assert checked == [mine]


def test_a_withdrawn_agents_directory_touched(reg: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    gone = aid(WITHDRAWN)
    config = profile(WITHDRAWN)
    back = manifest("alice", config, created_at=T0 + 500)
    commit_raw(reg, {layout.agent_path(gone, "manifest.json"): documents.to_bytes(back),
                     layout.agent_path(gone, "prompt.md"): b"hello\n"}, "revive",
               index=True)
    problems, checked = second(reg, monkeypatch)
    assert problems and checked == [gone]


def test_a_symlink_in_the_big_piece(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (reg / "agents" / AB / "link").symlink_to("../../IDENTITY.json")
    commit_raw(reg, {}, "symlink")
    problems, checked = second(reg, monkeypatch)
    assert ("layout", f"agents/{AB}/link") in rules_of(problems) and checked == []


def test_the_remembered_tree_gone_checks_the_whole_piece(
        reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """History rewritten and garbage-collected: the remembered `agents/<AB>` tree is not in
    the object store any more, so the whole piece is checked again (same answer)."""
    old_tree = run_git("rev-parse", f"HEAD:agents/{AB}", cwd=reg).stdout.strip()
    n = LIVE[9]
    commit_raw(reg, files_of(n, created_at=T0 + 10, rate=0.8), "update", index=True)
    run_git("checkout", "-q", "--orphan", "squashed", cwd=reg)
    run_git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "squashed", cwd=reg)
    run_git("branch", "-D", "main", cwd=reg)
    run_git("branch", "-m", "main", cwd=reg)
    run_git("reflog", "expire", "--expire=now", "--all", cwd=reg)
    run_git("gc", "-q", "--prune=now", cwd=reg)
    assert run_git("cat-file", "-e", old_tree, cwd=reg, check=False).returncode != 0
    problems, checked = second(reg, monkeypatch)
    assert problems == []
    assert sorted(checked) == sorted(aid(k) for k in MINE)  # the whole piece


def test_the_cli_gives_the_full_verdict(reg: Path) -> None:
    n = LIVE[10]
    path = layout.agent_path(aid(n), "manifest.json")
    body = json.loads((reg / path).read_bytes())
    body["metrics"]["total_tasks"] += 1
    commit_raw(reg, {path: documents.to_bytes(body)}, "forged", index=True)
    with_memory = run_cli("verify", "--json", cwd=reg, check=1)
    full = run_cli("verify", "--json", "--no-cache", cwd=reg, check=1)
    assert json.loads(with_memory.stdout) == json.loads(full.stdout)


def test_ranked_entries_not_remembered_are_read(reg: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The memory keeps the entries of the agents the rankings show, not of every kept row:
    an agent whose entry it lacks (here: none is kept) is read from its manifest for
    index/ranked.json, and the answers are still a full read's."""
    from git_elite.edges import store

    [path] = sorted((store.home() / "verified").glob("*.json"))
    value = json.loads(path.read_bytes())
    shown = {r[1] for rows in value["rows"].values() for r in rows[:100]}
    assert value["ranked"] and set(value["ranked"]) <= shown
    value["ranked"] = {}
    path.write_bytes(json.dumps(value).encode())
    n = LIVE[5]
    previous = (reg / layout.INDEX).read_bytes()
    commit_raw(reg, files_of(n, created_at=T0 + 10, rate=0.998, total=700), "up", index=True)
    problems, checked = second(reg, monkeypatch)
    assert problems == [] and checked == [aid(n)]
    commit_raw(reg, {layout.INDEX: previous}, "stale head")
    problems, _ = second(reg, monkeypatch)
    assert ("index", layout.INDEX) in rules_of(problems)


# --- the remembered shard had without reading its blob (core/audit.py `_unspliced`) ---------

def _blob_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The remembered shards read by blob id from now on (git.TreeState.blob_by_id; not
    index/ranked.json, whose remembered bytes a change of the rankings edits:
    `_ranked_edits`)."""
    reads: list[str] = []
    real = git.TreeState.blob_by_id

    def counting(self: git.TreeState, path: str, oid: str) -> bytes | None:
        if path != layout.RANKED:
            reads.append(path)
        return real(self, path, oid)

    monkeypatch.setattr(git.TreeState, "blob_by_id", counting)
    return reads


def _new_in_piece(k: int = 0) -> int:
    return [n for n in range(3000, 40000) if aid(n)[:2] == AB][k]


def test_a_new_agent_is_checked_without_reading_the_old_shard(
        reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual push (agents added): today's shard less the new items is the remembered
    one (same SHA-256), so its blob is not read; the verdict is a full read's."""
    n = _new_in_piece()
    commit_raw(reg, files_of(n, owner="bob", rate=0.99, total=500), "one more", index=True)
    reads = _blob_reads(monkeypatch)
    problems, checked = second(reg, monkeypatch)
    assert problems == [] and checked == [aid(n)]
    assert reads == [] and PARSED == []


def test_two_new_agents_and_a_changed_one_read_the_old_shard(
        reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed agent's old item is not in today's shard: the digest differs, the blob is
    read (once), and the answer is the same."""
    files = {**files_of(_new_in_piece(0), owner="bob"), **files_of(_new_in_piece(1)),
             **files_of(LIVE[1], created_at=T0 + 10, rate=0.9)}
    commit_raw(reg, files, "two more, one changed", index=True)
    reads = _blob_reads(monkeypatch)
    problems, checked = second(reg, monkeypatch)
    assert problems == [] and len(checked) == 3
    assert reads == [layout.shard_path(AB)] and PARSED == []


def test_a_removed_agent_reads_the_old_shard(reg: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    aid_gone = aid(LIVE[7])
    gone: dict[str, bytes | None] = {layout.agent_path(aid_gone, name): None
                                     for name in ("manifest.json", "profile.json")}
    commit_raw(reg, gone, "removed", index=True)
    reads = _blob_reads(monkeypatch)
    problems, checked = second(reg, monkeypatch)
    assert problems == [] and checked == []  # (second: the same as a full read's)
    assert reads == [layout.shard_path(AB)]


def test_a_new_agent_with_a_forged_item_of_its_own(reg: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The shard lies about the new agent only: removing its item gives the remembered
    bytes (no blob read), the splice of its real entry is not today's shard, and the
    problem is a full read's."""
    n = _new_in_piece()
    commit_raw(reg, files_of(n, owner="bob"), "one more", index=True)
    path, shard = _shard(reg)
    shard["agents"][aid(n)]["success_rate"] = 1.0
    path.write_bytes(indexing.dumps(shard))
    commit_raw(reg, {}, "forged entry")
    reads = _blob_reads(monkeypatch)
    problems, checked = second(reg, monkeypatch)
    assert ("index", layout.shard_path(AB)) in rules_of(problems)
    assert checked == [aid(n)] and reads == [] and PARSED == [AB]


def test_a_new_agent_and_a_forged_unchanged_one(reg: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The shard also lies about an unchanged agent: today's shard less the new item is not
    the remembered one, so the remembered blob is read and the forgery found."""
    n = _new_in_piece()
    commit_raw(reg, files_of(n, owner="bob"), "one more", index=True)
    path, shard = _shard(reg)
    shard["agents"][aid(LIVE[5])]["success_rate"] = 1.0
    path.write_bytes(indexing.dumps(shard))
    commit_raw(reg, {}, "forged entry")
    reads = _blob_reads(monkeypatch)
    problems, checked = second(reg, monkeypatch)
    assert ("index", layout.shard_path(AB)) in rules_of(problems)
    assert checked == [aid(n)] and reads == [layout.shard_path(AB)] and PARSED == [AB]


def test_a_new_agent_with_its_item_missing(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new agent is left out of the shard (today's shard is the remembered one): the
    splice of its entry is not today's shard, a full read's problem."""
    n = _new_in_piece()
    path, _ = _shard(reg)
    before = path.read_bytes()
    commit_raw(reg, files_of(n, owner="bob"), "one more", index=True)
    path.write_bytes(before)
    commit_raw(reg, {}, "its item dropped")
    reads = _blob_reads(monkeypatch)
    problems, checked = second(reg, monkeypatch)
    assert ("index", layout.shard_path(AB)) in rules_of(problems)
    assert checked == [aid(n)] and reads == []


def test_a_new_agent_whose_item_nests_too_deep(reg: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Hostile bytes where the new agent's item is (nested past Python's recursion limit):
    taking today's shard apart to stand in for the remembered one meets them first; that is
    no crash, the remembered blob is read instead, and the problem is a full read's."""
    n = _new_in_piece()
    commit_raw(reg, files_of(n, owner="bob"), "one more", index=True)
    path, shard = _shard(reg)
    shard["agents"][aid(n)] = "NESTED"
    path.write_bytes(indexing.dumps(shard).replace(b'"NESTED"', b"[" * 100_000 +
                                                   b"]" * 100_000))
    commit_raw(reg, {}, "a hostile item")
    reads = _blob_reads(monkeypatch)
    problems, checked = second(reg, monkeypatch)
    assert problems and all(p.rule == "index" for p in problems)
    assert checked == [aid(n)] and reads == [layout.shard_path(AB)]


# --- index/ranked.json from the memory (core/audit.py `_ranked_bytes`), the memory's format --

def _ranked_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """index/ranked.json values written by indexing.dumps from now on."""
    writes: list[str] = []
    real = indexing.dumps

    def counting(value: Any) -> bytes:
        if set(value) == {"schema_version", "agents"}:
            writes.append("ranked")
        return real(value)

    monkeypatch.setattr(indexing, "dumps", counting)
    return writes


def _not_elite(k: int = 0) -> dict[str, bytes | None]:
    """A new agent in the big piece that no ranking shows (index/ranked.json unchanged)."""
    return files_of(_new_in_piece(k), owner="bob", rate=0.05, total=40)


def test_ranked_json_unchanged_is_not_written_again(reg: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The rankings show the same agents: the value's digest is the remembered one and the
    file's SHA-256 the remembered bytes', so the file is not written again to compare it;
    the answer is a full read's (which writes it: the one write counted)."""
    before = (reg / layout.RANKED).read_bytes()
    commit_raw(reg, _not_elite(), "one more", index=True)
    assert (reg / layout.RANKED).read_bytes() == before
    writes = _ranked_writes(monkeypatch)
    problems, checked = second(reg, monkeypatch)
    assert problems == [] and checked == [aid(_new_in_piece())]
    assert writes == ["ranked"]  # the full read's alone


def _ranked_edits(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each answer of core/audit.py `_ranked_edited` (the remembered index/ranked.json's
    bytes edited where ranked agents changed) from now on, compared with
    `indexing.dumps` of the same value: True when it gave bytes (equal to the full write:
    asserted), False when it could not decide."""
    found: list[bool] = []
    real, dumps = core_audit._ranked_edited, indexing.dumps  # (not _ranked_writes' counting)

    def checking(state: Any, value: Any, *args: Any) -> tuple[bytes, str] | None:
        edited = real(state, value, *args)
        if edited is not None:
            assert edited[0] == dumps(value)
            assert edited[1] == hashlib.sha256(edited[0]).hexdigest()
        found.append(edited is not None)
        return edited

    monkeypatch.setattr(core_audit, "_ranked_edited", checking)
    return found


def _ranked_live(reg: Path, k: int) -> int:
    """The k-th of the big piece's live agents that index/ranked.json holds."""
    held = json.loads((reg / layout.RANKED).read_bytes())["agents"]
    return [n for n in LIVE if aid(n) in held][k]


def _ranked_blob_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """index/ranked.json read by its remembered blob id from now on (not found in today's
    file: `_ranked_sought`)."""
    reads: list[str] = []
    real = git.TreeState.blob_by_id

    def counting(self: git.TreeState, path: str, oid: str) -> bytes | None:
        if path == layout.RANKED:
            reads.append(oid)
        return real(self, path, oid)

    monkeypatch.setattr(git.TreeState, "blob_by_id", counting)
    return reads


def _change(reg: Path, change: str) -> dict[str, bytes | None]:
    """A push that changes the rankings: an agent enters, moves within them, leaves (no
    longer elite, or withdrawn)."""
    if change == "enters":
        return files_of(_new_in_piece(), owner="bob", rate=0.999, total=900)
    if change == "moves":
        return files_of(_ranked_live(reg, 0), rate=0.999, total=900)
    if change == "not elite":
        return files_of(_ranked_live(reg, 1), rate=0.05, total=40)
    gone = aid(_ranked_live(reg, 2))
    return {layout.agent_path(gone, "manifest.json"): None,
            layout.agent_path(gone, "tombstone.json"):
            documents.to_bytes(tombstone("alice", gone))}


@pytest.mark.parametrize("change", ["enters", "moves", "not elite", "withdrawn"])
def test_ranked_json_of_new_rankings_is_edited(reg: Path, monkeypatch: pytest.MonkeyPatch,
                                               change: str) -> None:
    """The rankings change (an agent enters, moves, leaves): index/ranked.json's expected
    bytes are the remembered file's edited where agents changed, not written whole, and
    they are `indexing.dumps` of the value (asserted by `_ranked_edits`); the answer is a
    full read's (whose write is the one counted). Twice: the memory written by the first
    keeps the new file's blob id."""
    before = (reg / layout.RANKED).read_bytes()
    commit_raw(reg, _change(reg, change), change, index=True)
    assert (reg / layout.RANKED).read_bytes() != before
    edits, writes = _ranked_edits(monkeypatch), _ranked_writes(monkeypatch)
    blobs = _ranked_blob_reads(monkeypatch)
    problems, _ = second(reg, monkeypatch)
    assert problems == [] and edits == [True] and writes == ["ranked"]
    assert blobs == []  # the remembered bytes found in today's file
    commit_raw(reg, files_of(_new_in_piece(1), owner="bob", rate=0.998, total=800),
               "another best", index=True)
    del writes[:], edits[:]
    problems, _ = second(reg, monkeypatch)
    assert problems == [] and edits == [True] and writes == ["ranked"] and blobs == []


@pytest.mark.parametrize("edit", ["reformatted", "forged", "entry left old"])
def test_ranked_json_tampered_with_new_rankings(reg: Path, monkeypatch: pytest.MonkeyPatch,
                                                edit: str) -> None:
    """The rankings change and the pushed index/ranked.json is not the rebuild (written
    with another indentation, an unchanged entry forged, the moved agent's entry left as
    it was), the head's pin moved along: the edited bytes differ from the file, `index`
    is reported, the same problems as a full read's."""
    moved = aid(_ranked_live(reg, 0))
    commit_raw(reg, _change(reg, "moves"), "moves", index=True)
    path = reg / layout.RANKED
    value = json.loads(path.read_bytes())
    if edit == "forged":
        other = next(a for a in value["agents"] if a != moved)
        value["agents"][other]["elite"] = not value["agents"][other]["elite"]
        data = indexing.dumps(value)
    elif edit == "entry left old":
        old = json.loads(run_git("show", "HEAD~1:" + layout.RANKED, cwd=reg).stdout)
        value["agents"][moved] = old["agents"][moved]
        data = indexing.dumps(value)
    else:
        data = json.dumps(value, indent=2).encode()
    _replace_ranked(reg, data, "ranked.json edited")
    edits, blobs = _ranked_edits(monkeypatch), _ranked_blob_reads(monkeypatch)
    problems, _ = second(reg, monkeypatch)
    assert ("index", layout.RANKED) in rules_of(problems)
    # the moved entry left old: today's file with it put back is the remembered one (no
    # blob read), and the edit gives its new entry, which the file lacks; any other edit
    # is not in today's file: the blob is read
    assert edits == [True] and len(blobs) == (edit != "entry left old")


@pytest.mark.parametrize("today", ["good", "tampered"])
def test_ranked_json_remembered_blob_gone(reg: Path, monkeypatch: pytest.MonkeyPatch,
                                          today: str) -> None:
    """The memory names a blob the object store does not hold: today's good file still
    gives the remembered bytes; a tampered one does not, so the edit cannot decide and the
    file is written whole — the answer is a full read's either way (`index` when
    tampered)."""
    path = _memory_file()
    value = json.loads(path.read_bytes())
    assert isinstance(value["ranked_blob"], str)
    value["ranked_blob"] = "0" * len(value["ranked_blob"])
    path.write_bytes(json.dumps(value).encode())
    commit_raw(reg, _change(reg, "enters"), "enters", index=True)
    if today == "tampered":
        data = json.dumps(json.loads((reg / layout.RANKED).read_bytes()), indent=2).encode()
        _replace_ranked(reg, data, "ranked.json reformatted")
    edits, writes = _ranked_edits(monkeypatch), _ranked_writes(monkeypatch)
    problems, _ = second(reg, monkeypatch)
    if today == "good":
        assert problems == [] and edits == [True] and writes == ["ranked"]
    else:
        assert ("index", layout.RANKED) in rules_of(problems)
        assert edits == [False] and writes == ["ranked", "ranked"]


@pytest.mark.parametrize("edit", ["reformatted", "forged"])
def test_ranked_json_edited_with_the_rankings_unchanged(
        reg: Path, monkeypatch: pytest.MonkeyPatch, edit: str) -> None:
    """The value is the remembered one but the file is not its bytes (reformatted, or an
    entry forged, the head's pin moved along): written and compared, a full read's
    problems."""
    commit_raw(reg, _not_elite(), "one more", index=True)
    path = reg / layout.RANKED
    value = json.loads(path.read_bytes())
    if edit == "forged":
        some = next(iter(value["agents"].values()))
        some["elite"] = not some["elite"]
        data = indexing.dumps(value)
    else:
        data = json.dumps(value, indent=4).encode()
    _replace_ranked(reg, data, "ranked.json edited")
    writes = _ranked_writes(monkeypatch)
    problems, _ = second(reg, monkeypatch)
    assert ("index", layout.RANKED) in rules_of(problems)
    assert writes == ["ranked", "ranked"]


def _replace_ranked(reg: Path, data: bytes, message: str) -> None:
    """Commit `data` as index/ranked.json with the head's pin moved along (a registry that
    signs what it serves: only the bytes differ from what the rebuild writes)."""
    (reg / layout.RANKED).write_bytes(data)
    head = json.loads((reg / layout.INDEX).read_bytes())
    head["ranked"]["sha256"] = hashlib.sha256(data).hexdigest()
    (reg / layout.INDEX).write_bytes(indexing.dumps(head))
    commit_raw(reg, {}, message)


def _memory_file() -> Path:
    from git_elite.edges import store

    [path] = sorted((store.home() / "verified").glob("*.json"))
    return path


@pytest.mark.parametrize("damage", ["older format", "truncated", "pin not hex", "pin edited"])
def test_a_memory_of_another_format_or_damaged(reg: Path, monkeypatch: pytest.MonkeyPatch,
                                               damage: str) -> None:
    """A memory written by the previous format (version 1, no "ranked_pin"), cut short, or
    with a malformed pin is not used (the tree is read whole, through libgit2, and the
    memory written again in this format); a well-formed but wrong pin only means
    index/ranked.json is written to be compared. Every answer is a full read's."""
    from git_elite.edges import verified

    path = _memory_file()
    data = path.read_bytes()
    value = json.loads(data)
    assert value["version"] == verified.VERSION == 3 and value["ranked_pin"] is not None
    if damage == "older format":
        value["version"] = 1
        del value["ranked_pin"]
        data = json.dumps(value).encode()
    elif damage == "truncated":
        data = data[:len(data) // 2]
    elif damage == "pin not hex":
        value["ranked_pin"][1] = "z" * 64
        data = json.dumps(value).encode()
    else:
        value["ranked_pin"][1] = "0" * 64
        data = json.dumps(value).encode()
    path.write_bytes(data)
    commit_raw(reg, _not_elite(), "one more", index=True)
    writes = _ranked_writes(monkeypatch)
    found = gitcheck.audit_remembered(str(reg), "HEAD")
    assert (found is None) == (damage != "pin edited")
    assert (found or audit(reg)) == audit(reg, remember=False) == []
    assert writes == ["ranked", "ranked"]
    assert json.loads(path.read_bytes())["version"] == verified.VERSION  # written again
    commit_raw(reg, _not_elite(1), "one more again", index=True)
    del writes[:]
    assert gitcheck.audit_remembered(str(reg), "HEAD") == []
    assert writes == []  # the memory works again
