"""The hooks' start-up (hooks4, SPEC §12): git's answers begun ahead of the `run` that takes
them (`git.start`), and the shims that start no process git does not need (no `dirname`, no
`cat` without a legacy hook, no `git rev-parse` in post-commit in a plain clone). Each
change has its bad-case twin: a started command that fails fails as `run` says it, a commit
or push refused before is refused with the same line, a linked worktree and an explicit
GIT_DIR still find the post-commit mark, a legacy pre-receive still sees every ref update."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from git_elite.core import layout
from git_elite.core.errors import RegistryError
from git_elite.edges import git as egit
from tests.conftest import BIN, git, run_cli
from tests.helpers_registry import agent_files, make_registry, make_server, write_files

PY_LOG = "import os, sys\nlog = os.environ.get('ELITE_PY_LOG')\n" \
    "if log:\n    open(log, 'a').write(' '.join(sys.argv) + '\\n')\n"


def pythons(where: Path, *args: str, cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    """Run `git ARGS`; the last words of the command lines of the Python processes it began
    (each logs itself from a sitecustomize)."""
    site = where / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(PY_LOG)
    log = where / "python.log"
    log.unlink(missing_ok=True)
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    git(*args, cwd=cwd, env={**(env or {}), "ELITE_PY_LOG": str(log), "PYTHONPATH": path})
    return [line.split()[-1] for line in log.read_text().splitlines()] if log.exists() else []


def broken(files: dict[str, bytes]) -> dict[str, bytes]:
    """The same agent with a manifest that is not JSON (the `json` rule)."""
    return {p: (d[:-2] if p.endswith("manifest.json") else d) for p, d in files.items()}


# --- git.start -------------------------------------------------------------------------------

def test_a_started_answer_is_the_one_run_gets(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    reg = make_registry(tmp_path / "reg")
    write_files(reg, agent_files("alice", 1))
    git("add", "agents", cwd=reg)
    monkeypatch.chdir(reg)
    fresh = egit.run(egit.STAGED_ARGS).stdout
    egit.start(egit.STAGED_ARGS)
    assert egit._STARTED
    taken = egit.run(egit.STAGED_ARGS)
    assert not egit._STARTED and taken.returncode == 0
    assert taken.stdout == fresh and b"manifest.json" in fresh
    assert egit.run(egit.STAGED_ARGS).stdout == fresh  # the next run is its own again


def test_a_started_command_that_fails_fails_as_run_says(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """No commit yet: `diff-index HEAD` fails; begun ahead, it fails with the same words."""
    git("init", "-q", str(tmp_path / "empty"))
    monkeypatch.chdir(tmp_path / "empty")
    with pytest.raises(RegistryError) as plain:
        egit.run(egit.STAGED_ARGS)
    egit.start(egit.STAGED_ARGS)
    with pytest.raises(RegistryError) as started:
        egit.run(egit.STAGED_ARGS)
    assert str(started.value) == str(plain.value) and "diff-index" in str(plain.value)
    assert egit.config_get("elite.nothing") is None
    egit.start(("config", "--get", "elite.nothing"))  # exit 1: no value, as without start
    assert egit.config_get("elite.nothing") is None and not egit._STARTED


def test_start_clear_ends_what_no_run_took(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(make_registry(tmp_path / "reg"))
    egit.start(("cat-file", "--batch"))  # would answer whatever comes on its stdin
    [proc] = egit._STARTED.values()
    egit.start_clear()
    assert not egit._STARTED and proc.returncode is not None


def test_the_commit_hook_takes_every_answer_it_began(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    """pre-commit in this process: each of the three git answers it begins is the one its
    check reads (none is left for start_clear), the verdict as before (a broken manifest
    refused with its rule's line, a good one staged with its index files)."""
    from git_elite.cli import hookrun

    reg = make_registry(tmp_path / "reg")
    monkeypatch.chdir(reg)
    monkeypatch.delenv("GIT_INDEX_FILE", raising=False)
    left: list[list[tuple[str, ...]]] = []
    clear = egit.start_clear

    def spy() -> None:
        left.append([args for args, _ in egit._STARTED])
        clear()

    monkeypatch.setattr(egit, "start_clear", spy)
    bad = broken(agent_files("alice", 1))
    write_files(reg, bad)
    git("add", "agents", cwd=reg)
    assert hookrun.staged("pre-commit") == 1
    err = capsys.readouterr().err
    assert "REJECT" in err and "[json]" in err and "manifest.json" in err, err
    assert left == [[]]
    write_files(reg, agent_files("alice", 1))
    git("add", "agents", cwd=reg)
    assert hookrun.staged("pre-commit") == 0
    assert left == [[], []]
    assert layout.INDEX in git("diff", "--cached", "--name-only", cwd=reg).stdout


def test_not_a_registry_leaves_no_git_process(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from git_elite.cli import hookrun

    work = tmp_path / "plain"
    git("init", "-q", str(work))
    (work / "a.txt").write_text("a\n")
    git("add", "a.txt", cwd=work)
    git("commit", "-q", "--no-verify", "-m", "a", cwd=work)
    (work / "b.txt").write_text("b\n")
    git("add", "b.txt", cwd=work)
    monkeypatch.chdir(work)
    assert hookrun.staged("pre-commit") == 0
    assert not egit._STARTED


# --- the shims ---------------------------------------------------------------------------------

def test_the_shims_start_no_dirname_and_no_cat_without_a_legacy_hook() -> None:
    from importlib import resources

    for name in ("pre-commit", "post-commit", "pre-merge-commit", "pre-receive",
                 "post-receive"):
        text = (resources.files("git_elite.shims") / name).read_text()
        assert "$(dirname" not in text and "here=${0%/*}" in text, name
    for name in ("pre-receive", "post-receive"):
        text = (resources.files("git_elite.shims") / name).read_text()
        legacy, _, plain = text.partition("\nfi\n")
        assert "$(cat)" in legacy and "$(cat)" not in plain, name
        assert f"elite hook {name} \"$@\"" in plain


def test_commit_of_paths_in_a_linked_worktree_runs_post_commit(tmp_path: Path) -> None:
    """.git is a file there: the post-commit shim asks `git rev-parse` where the mark is."""
    reg = make_registry(tmp_path / "reg")
    wt = tmp_path / "wt"
    git("worktree", "add", "-q", "-b", "side", str(wt), cwd=reg)
    assert (wt / ".git").is_file()
    write_files(wt, {**agent_files("alice", 1), **agent_files("bob", 2)})
    git("add", "agents", cwd=wt)
    started = pythons(tmp_path, "commit", "-q", "-m", "alice", "--",
                      *sorted(agent_files("alice", 1)), cwd=wt)
    assert started == ["pre-commit", "post-commit"], started
    assert (wt / layout.INDEX).read_bytes() == \
        git("show", f"HEAD:{layout.INDEX}", cwd=wt).stdout.encode()
    mark = git("rev-parse", "--git-path", "elite-cache/post-commit", cwd=wt).stdout.strip()
    assert not (wt / mark).exists()
    run_cli("verify", cwd=wt)


def test_commit_of_paths_with_git_dir_set_runs_post_commit(tmp_path: Path) -> None:
    """GIT_DIR set (`git --git-dir`): the shim does not guess, it asks git."""
    reg = make_registry(tmp_path / "reg")
    write_files(reg, {**agent_files("alice", 1), **agent_files("bob", 2)})
    git("add", "agents", cwd=reg)
    started = pythons(tmp_path, "--git-dir=.git", "--work-tree=.", "commit", "-q", "-m",
                      "alice", "--", *sorted(agent_files("alice", 1)), cwd=reg)
    # the shim found the mark pre-commit left (post-commit ran, and took it); what that
    # step then writes under an explicit --git-dir is left as it was (see the report)
    assert started == ["pre-commit", "post-commit"], started
    assert not (reg / ".git" / "elite-cache" / "post-commit").exists()


def test_hooks_run_by_an_absolute_path_still_run_their_legacy(tmp_path: Path) -> None:
    """core.hooksPath absolute: git runs the shim by its absolute path; `here` is its
    folder, so the legacy hook kept there runs first (and refuses)."""
    reg = make_registry(tmp_path / "reg")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    git("config", "core.hooksPath", str(hooks), cwd=reg)
    run_cli("hooks", "install", cwd=reg)
    assert (hooks / "pre-commit").exists()
    (hooks / "pre-commit.legacy").write_text("#!/bin/sh\necho legacy-refuses >&2\nexit 3\n")
    (hooks / "pre-commit.legacy").chmod(0o755)
    write_files(reg, agent_files("alice", 1))
    git("add", "agents", cwd=reg)
    proc = git("commit", "-q", "-m", "alice", cwd=reg, check=False)
    assert proc.returncode != 0 and "legacy-refuses" in proc.stderr
    (hooks / "pre-commit.legacy").unlink()
    write_files(reg, broken(agent_files("alice", 1)))
    git("add", "agents", cwd=reg)
    proc = git("commit", "-q", "-m", "alice", cwd=reg, check=False)
    assert proc.returncode != 0 and "REJECT" in proc.stderr and "[json]" in proc.stderr, proc.stderr


def test_a_legacy_pre_receive_and_ours_both_see_every_update(tmp_path: Path) -> None:
    work, server = make_server(tmp_path)
    seen = tmp_path / "legacy-stdin"
    legacy = server / "hooks" / "pre-receive.legacy"
    legacy.write_text(f"#!/bin/sh\ncat >> '{seen}'\n")
    legacy.chmod(0o755)
    write_files(work, broken(agent_files("alice", 1)))
    git("add", "agents", cwd=work)
    git("commit", "-q", "--no-verify", "-m", "broken", cwd=work)
    new = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    proc = git("push", "-q", "origin", "HEAD:main", cwd=work, check=False)
    assert proc.returncode != 0 and "REJECT" in proc.stderr and "[json]" in proc.stderr, proc.stderr
    assert seen.read_text().split()[1:] == [new, "refs/heads/main"]
    git("reset", "-q", "--hard", "origin/main", cwd=work)
    write_files(work, agent_files("alice", 1))
    git("add", "agents", cwd=work)
    git("commit", "-q", "-m", "alice", cwd=work)
    new = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    seen.unlink()
    proc = git("push", "-q", "origin", "HEAD:main", cwd=work, check=False)
    assert proc.returncode == 0 and "1 commit(s) verified" in proc.stderr, proc.stderr
    assert seen.read_text().split()[1:] == [new, "refs/heads/main"]
    legacy.write_text("#!/bin/sh\ncat >/dev/null\necho legacy-refuses >&2\nexit 1\n")
    write_files(work, agent_files("bob", 2))
    git("add", "agents", cwd=work)
    git("commit", "-q", "-m", "bob", cwd=work)
    proc = git("push", "-q", "origin", "HEAD:main", cwd=work, check=False)
    assert proc.returncode != 0 and "legacy-refuses" in proc.stderr
    assert "verified" not in proc.stderr  # ours did not run after the legacy refused


def test_the_pre_receive_shim_without_legacy_reads_git_stdin_itself(tmp_path: Path) -> None:
    """The shim run as git runs it (by path, updates on stdin, GIT_DIR set): no copy of the
    input is needed for our hook to see it; a forged push is refused as before."""
    work, server = make_server(tmp_path)
    write_files(work, broken(agent_files("alice", 1)))
    git("add", "agents", cwd=work)
    git("commit", "-q", "--no-verify", "-m", "broken", cwd=work)
    git("fetch", "-q", str(work), "HEAD:refs/elite-incoming", cwd=server)  # no hook runs
    old = git("rev-parse", "main", cwd=server).stdout.strip()
    new = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    proc = subprocess.run([str(server / "hooks" / "pre-receive")], cwd=server,
                          input=f"{old} {new} refs/heads/main\n", text=True,
                          capture_output=True, check=False,
                          env={**os.environ, "GIT_DIR": ".",
                               "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"})
    assert proc.returncode == 1 and "REJECT" in proc.stderr and "[json]" in proc.stderr, proc.stderr


# --- staging while the work tree is written ----------------------------------------------------

def staged_ids(reg: Path) -> dict[str, str]:
    out = git("ls-files", "-s", cwd=reg).stdout.splitlines()
    return {line.split("\t", 1)[1]: line.split()[1] for line in out}


@pytest.mark.parametrize("count", [2, 400])  # a few lines through the pipe; past PIPE_SAFE: run
def test_stage_files_stages_what_it_wrote_and_runs_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    from git_elite.edges import catfile

    reg = make_registry(tmp_path / "reg")
    monkeypatch.chdir(reg)
    files: dict[str, bytes | None] = {f"free/f{i:03d}.txt": f"{i}\n".encode()
                                      for i in range(count)}
    files[layout.INDEX] = None  # a removal too
    assert (len("".join(f"100644 {'0' * 40}\t{p}\n" for p in files)) > egit.PIPE_SAFE) == \
        (count > 2)
    opened = catfile.open_head()
    assert opened is not None
    ran: list[dict[str, str]] = []
    try:
        egit.stage_files(opened[0], files, lambda: ran.append(staged_ids(reg)))
    finally:
        opened[0].close()
    assert len(ran) == 1
    now = staged_ids(reg)
    assert layout.INDEX not in now
    for path, data in files.items():
        if data is not None:
            assert now[path] == egit.blob_id(data)
            assert git("cat-file", "-p", now[path], cwd=reg).stdout.encode() == data


def test_a_failed_update_index_fails_the_hook_with_git_s_words(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index locked by another git: `update-index` fails; the hook says why (one line,
    exit 1 from the boundary), and the index is as it was."""
    from git_elite.edges import catfile

    reg = make_registry(tmp_path / "reg")
    monkeypatch.chdir(reg)
    before = staged_ids(reg)
    (reg / ".git" / "index.lock").write_bytes(b"")
    opened = catfile.open_head()
    assert opened is not None
    ran: list[int] = []
    try:
        with pytest.raises(RegistryError) as plain:  # the words `run` gives
            egit.stage_files(opened[0], {"free/a.txt": b"a\n"})
        with pytest.raises(RegistryError) as overlapped:
            egit.stage_files(opened[0], {"free/a.txt": b"a\n"}, lambda: ran.append(1))
    finally:
        opened[0].close()
        (reg / ".git" / "index.lock").unlink()
    assert str(overlapped.value) == str(plain.value)
    assert str(plain.value).startswith("git update-index failed: ")
    assert ran == [1] and staged_ids(reg) == before


def test_the_walk_begun_ahead_is_not_taken_under_another_bound(tmp_path: Path) -> None:
    """pre-receive begins each branch update's walk as the default bound asks it; with
    elite.maxCommitsPerPush set, the bound's own walk decides (the early one is ended),
    and a push over it is refused as before; under the default, the same push passes."""
    work, server = make_server(tmp_path)
    for n, owner in ((1, "alice"), (2, "bob")):
        write_files(work, agent_files(owner, n))
        git("add", "agents", cwd=work)
        git("commit", "-q", "-m", owner, cwd=work)
    git("config", "elite.maxCommitsPerPush", "1", cwd=server)
    proc = git("push", "-q", "origin", "HEAD:main", cwd=work, check=False)
    assert proc.returncode != 0 and "the push brings 2 commits; at most 1" in proc.stderr, \
        proc.stderr
    git("config", "--unset", "elite.maxCommitsPerPush", cwd=server)
    proc = git("push", "-q", "origin", "HEAD:main", cwd=work, check=False)
    assert proc.returncode == 0 and "2 commit(s) verified" in proc.stderr, proc.stderr


def test_blobs_are_written_through_a_private_folder_left_behind_by_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """create_blobs without `tempfile`: a folder only this user reads, removed after git
    wrote the blobs, and after git failed to (the error is git's)."""
    from git_elite.edges import catfile

    reg = make_registry(tmp_path / "reg")
    monkeypatch.chdir(reg)
    folder = catfile._private_dir(str(tmp_path / "x-"))
    assert os.stat(folder).st_mode & 0o777 == 0o700
    assert catfile._private_dir(str(tmp_path / "x-")) != folder
    opened = catfile.open_head()
    assert opened is not None
    repo = opened[0]
    datas = [b"one\n", b"two\n", b"one\n"]
    try:
        assert repo.create_blobs(datas) == [egit.blob_id(d) for d in datas]
        assert not list((reg / ".git").glob("elite-blobs-*"))
        monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(tmp_path / "nowhere"))
        with pytest.raises(RegistryError):  # git refuses: no object directory
            repo.create_blobs([b"three\n"])
        assert not list((reg / ".git").glob("elite-blobs-*"))
    finally:
        repo.close()
