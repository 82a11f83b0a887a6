"""The server side of the witnessed log (SPEC §15) without reachable witnesses: every accepted
push appends its tip's leaf to refs/elite/log (checkpoint + C2SP tiles, signed by the log key),
a witness that is down is a warning and never fails the push, readers refuse a checkpoint
below quorum, and the pre-receive `log` rule governs pushes of refs/elite/log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from git_elite.core import logrole, note, tlog, witnessed
from git_elite.edges import git as gitedge
from git_elite.edges import tlogstore
from tests.conftest import git, run_cli
from tests.helpers_log import Logged, leaf_commits, logged_server, push_agent, stored
from tests.helpers_registry import isolated_module_env, key, push

DOWN = "http://127.0.0.1:9"  # the discard port: connection refused


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Logged, list[str],
                                                                        list[str]]]:
    tmp = tmp_path_factory.mktemp("log_server")
    with isolated_module_env(tmp):
        srv = logged_server(tmp, [("w1.example", "alice", DOWN)], quorum=1)
        tips, said = [], []
        for n in range(3):
            tip, err = push_agent(srv, "alice", n + 1)
            tips.append(tip)
            said.append(err)
        yield srv, tips, said


def test_every_accepted_push_is_a_leaf_in_order(server: tuple[Logged, list[str], list[str]]
                                                ) -> None:
    srv, tips, said = server
    assert leaf_commits(srv.bare) == tips
    assert all("witness w1.example: unreachable" in s for s in said), said[0]
    assert "checkpoint size 3" in said[-1] and "BELOW QUORUM 1" in said[-1]


def test_the_ref_holds_a_signed_checkpoint_and_tiles_that_give_its_root(
        server: tuple[Logged, list[str], list[str]]) -> None:
    srv, tips, _ = server
    files = git("ls-tree", "-r", "--name-only", logrole.REF, cwd=srv.bare).stdout.split()
    assert files == ["checkpoint", "tile/0/000.p/3", "tile/entries/000.p/3"]
    parents = git("rev-list", logrole.REF, cwd=srv.bare).stdout.split()
    assert len(parents) == 3  # one log commit per push, each on the previous one
    log = stored(srv.bare)
    role = logrole.LogRole.of({"log": {"origin": "example.org/chrysalis-elites",
                                       "key": key("dave").did, "quorum": 1,
                                       "witnesses": [{"name": "w1.example",
                                                      "key": key("alice").did, "url": DOWN}]}})
    assert role is not None
    opened = witnessed.open_note(log.note, role)
    assert opened.size == 3 and opened.cosigned == {}
    tlogstore.check_tiles(log, opened)
    index = git("show", f"{tips[-1]}:INDEX.json", cwd=srv.bare).stdout.encode()
    import hashlib

    assert witnessed.tip_problem(tlogstore.leaves(log, 2, 3)[0], branch="main", tip=tips[-1],
                                 index_sha256=hashlib.sha256(index).hexdigest()) is None


def test_readers_refuse_a_checkpoint_below_quorum(server: tuple[Logged, list[str], list[str]]
                                                  ) -> None:
    srv, _, _ = server
    result = run_cli("verify", str(srv.bare), check=1)
    assert "[log] checkpoint of size 3 has 0 valid witness cosignature(s)" in result.stdout
    shown = run_cli("log", cwd=srv.bare, check=1)
    assert "quorum   0 of 1 needed: NOT met" in shown.stdout


def _log_commit(repo: Path, parent: str | None, files: dict[str, bytes | None]) -> str:
    return tlogstore.write(gitedge.open_repo(repo), parent, files, "forged\n")


def _clone_log(srv: Logged, tmp: Path) -> tuple[Path, str]:
    clone = tmp / "clone"
    git("clone", "-q", str(srv.bare), str(clone))
    git("fetch", "-q", "origin", f"{logrole.REF}:{logrole.REF}", cwd=clone)
    return clone, git("rev-parse", logrole.REF, cwd=clone).stdout.strip()


def _resigned(data: bytes, who: str, origin: str = "example.org/chrysalis-elites") -> bytes:
    body = note.Note.parse(data).text
    return note.sign_note(body, origin, key(who))


@pytest.mark.parametrize("case", ["forged-key", "wrong-parent", "tiles-lie", "delete",
                                  "shrinks", "extra-file"])
def test_the_log_rule_refuses_bad_pushes_of_the_log_ref(
        server: tuple[Logged, list[str], list[str]], tmp_path: Path, case: str) -> None:
    srv, _, _ = server
    clone, old = _clone_log(srv, tmp_path)
    log = stored(clone)
    parent = git("rev-parse", f"{old}^", cwd=clone).stdout.strip()
    if case == "delete":
        result = push(clone, f":{logrole.REF}")
        assert result.returncode == 1 and "[log] the log cannot be deleted" in result.stderr
        return
    files: dict[str, bytes | None] = {}
    base: str | None = old
    expect = "[log]"
    if case == "forged-key":
        files = {"checkpoint": _resigned(log.note, "mallory")}
        expect = "not signed by the log key"
    elif case == "wrong-parent":
        base = parent
        expect = "only parent must be the current log commit"
    elif case == "tiles-lie":
        files = {"tile/0/000.p/3": b"\x00" * 96}
        expect = "tiles do not hash to the checkpoint's root"
    elif case == "shrinks":
        two = note.Checkpoint("example.org/chrysalis-elites", 2,
                              tlog.tree_hash(2, tlogstore.hash_reader(log, 3)))
        files = {"checkpoint": note.sign_note(two.body(), "example.org/chrysalis-elites",
                                              key("dave")),
                 "tile/entries/000.p/2": tlog.entry_bundle(tlogstore.leaves(log, 0, 2, 3)),
                 **tlog.new_tiles(0, 2, tlogstore.hash_reader(log, 3))}
        expect = "[split-view] the log shrank"
    elif case == "extra-file":
        files = {"README": b"x"}
        expect = "holds only `checkpoint` and `tile/`"
    commit = _log_commit(clone, base, files)
    result = push(clone, f"+{commit}:{logrole.REF}", force=True)
    assert result.returncode == 1, result.stderr
    assert expect in result.stderr, result.stderr


def test_the_log_rule_accepts_a_valid_extension(server: tuple[Logged, list[str], list[str]],
                                                tmp_path: Path) -> None:
    srv, _, _ = server
    clone, old = _clone_log(srv, tmp_path)
    log = stored(clone)
    resigned = _resigned(log.note, "dave")  # same checkpoint, signed again by the log key
    commit = _log_commit(clone, old, {"checkpoint": resigned})
    result = push(clone, f"{commit}:{logrole.REF}")
    assert result.returncode == 0, result.stderr
    git("update-ref", logrole.REF, old, commit, cwd=srv.bare)  # put the module's log back


def _stored(leaves: list[bytes]) -> tlogstore.Stored:
    files, _, _ = tlogstore.append(None, 0, leaves)
    return tlogstore.Stored("memory", b"", lambda path: files[path])


@pytest.mark.parametrize(("order", "expected"), [
    ([0, 1, 2], []),
    ([0, 0, 2], []),  # a push that moved nothing logged twice: still in order
    ([0, 2, 1], ["leaf 2 (c1"]),
    ([0, 9, 2], ["leaf 1 names"]),
])
def test_history_requires_every_leaf_on_the_branch_in_order(order: list[int],
                                                            expected: list[str]) -> None:
    from git_elite.edges import logread

    commits = [f"c{i}".ljust(40, "0") for i in range(4)]
    leaves = [logrole.leaf("main", f"c{i}".ljust(40, "0"), "00" * 32) for i in order]
    found = logread.history_problems(_stored(leaves), len(leaves), "main", commits)
    assert len(found) == len(expected)
    for message, start in zip(found, expected, strict=True):
        assert message.startswith(start), message


def test_a_copy_with_a_lying_log_is_refused_in_one_line(
        server: tuple[Logged, list[str], list[str]], tmp_path: Path) -> None:
    """A mirror's refs/elite/log whose checkpoint (signed by the log key) claims 10^12
    leaves it does not hold: one `[log]` line, exit 1."""
    srv, _, _ = server
    for case, files in {
        "huge": {"checkpoint": note.sign_note(
            note.Checkpoint("example.org/chrysalis-elites", 10**12, b"\x01" * 32).body(),
            "example.org/chrysalis-elites", key("dave"))},
    }.items():
        mirror = tmp_path / f"{case}.git"
        git("clone", "-q", "--mirror", str(srv.bare), str(mirror))
        commit = _log_commit(mirror, git("rev-parse", logrole.REF, cwd=mirror).stdout.strip(),
                             files)
        git("update-ref", logrole.REF, commit, cwd=mirror)
        result = run_cli("verify", str(mirror), check=1)
        lines = [line for line in result.stdout.splitlines() if "refs/elite/log" in line]
        assert len(lines) == 1, (case, result.stdout)
        assert "[log] the log's tiles cannot give the checkpoint's root" in lines[0]
