"""The commit hooks end without the interpreter's teardown (hooks5, SPEC §12): once
pre-commit's answer is known, stdout and stderr are flushed and the process ends by
`os._exit` (launcher.leave). Each path through a real `git commit` with the installed shims:
a staged agent (the index files committed, the work tree's copies written, nothing left
behind), a refused one (its REJECT line and exit 1 still reach git), a failing
`git update-index` (one line with git's words, exit 1, the commit not made). An atexit
handler planted by a sitecustomize shows which processes ended by the quick exit."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from git_elite import launcher
from git_elite.core import layout
from tests.conftest import git
from tests.helpers_registry import agent_files, isolated_module_env, make_registry, write_files

# every Python process the test's git starts logs its hook at start and again at exit
SITE = ("import atexit, os, sys\n"
        "log = os.environ.get('ELITE_EXIT_LOG')\n"
        "if log and sys.argv[1:2] == ['hook']:\n"
        "    open(log, 'a').write('start ' + sys.argv[-1] + '\\n')\n"
        "    atexit.register(lambda: open(log, 'a').write('atexit ' + sys.argv[-1] + '\\n'))\n")


@pytest.fixture(scope="module")
def where(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("exit")
    with isolated_module_env(tmp):
        (tmp / "site").mkdir()
        (tmp / "site" / "sitecustomize.py").write_text(SITE)
        yield tmp


def commit(where: Path, work: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str],
                                                          list[str]]:
    log = where / "exit.log"
    log.unlink(missing_ok=True)
    path = os.pathsep.join(filter(None, [str(where / "site"), os.environ.get("PYTHONPATH")]))
    proc = git("commit", "-q", "-m", "one agent", *extra, cwd=work, check=False,
               env={"ELITE_EXIT_LOG": str(log), "PYTHONPATH": path})
    return proc, log.read_text().splitlines() if log.exists() else []


def test_a_staged_agent_is_committed_and_the_hook_ends_without_teardown(where: Path) -> None:
    work = make_registry(where / "good")
    write_files(work, agent_files("alice", 51))
    git("add", "agents", cwd=work)
    proc, log = commit(where, work)
    assert proc.returncode == 0, proc.stderr
    assert log == ["start pre-commit"]  # no atexit: the quick exit
    assert layout.INDEX in git("show", "--name-only", "--format=", "HEAD", cwd=work).stdout
    committed = git("show", f"HEAD:{layout.INDEX}", cwd=work).stdout
    assert (work / layout.INDEX).read_text() == committed  # the work tree's copy written
    assert git("status", "--porcelain", cwd=work).stdout == ""  # index = HEAD = work tree
    assert not (work / ".git" / "elite-cache" / "post-commit").exists()
    assert not [p for p in (work / ".git").iterdir() if p.name.startswith("elite-blobs")]


def test_a_refused_agent_still_says_why_and_fails(where: Path) -> None:
    work = make_registry(where / "bad")
    files = agent_files("alice", 52)
    write_files(work, {p: (d[:-2] if p.endswith("manifest.json") else d)
                       for p, d in files.items()})
    git("add", "agents", cwd=work)
    head = git("rev-parse", "HEAD", cwd=work).stdout
    proc, log = commit(where, work)
    assert proc.returncode != 0
    assert log == ["start pre-commit"]
    lines = proc.stderr.splitlines()
    assert any(line.startswith("git-elite: REJECT") and "[json]" in line and "manifest.json" in line
               for line in lines), proc.stderr
    assert "git-elite: pre-commit: commit refused: 1 problem(s)" in lines, proc.stderr
    assert git("rev-parse", "HEAD", cwd=work).stdout == head
    # the update-index begun ahead was given no line: no lock left, the index as staged
    assert not (work / ".git" / "index.lock").exists()
    assert layout.INDEX not in git("diff", "--cached", "--name-only", cwd=work).stdout
    write_files(work, files)
    git("add", "agents", cwd=work)
    proc, log = commit(where, work)
    assert proc.returncode == 0, proc.stderr


def test_a_failed_update_index_fails_the_commit_with_git_s_words(where: Path) -> None:
    """`git commit -a`: the hook stages into the lock git holds (`index.lock`), locked once
    more here: its `git update-index` fails; the hook says so in one line with git's words,
    exits 1, and nothing is committed."""
    work = make_registry(where / "locked")
    write_files(work, agent_files("alice", 53))
    git("add", "agents", cwd=work)
    head = git("rev-parse", "HEAD", cwd=work).stdout
    lock = work / ".git" / "index.lock.lock"
    lock.write_bytes(b"")
    try:
        proc, log = commit(where, work, "-a")
    finally:
        lock.unlink()
    assert proc.returncode != 0
    assert log == ["start pre-commit"]
    said = [line for line in proc.stderr.splitlines() if line.startswith("git-elite: ")]
    assert len(said) == 1 and said[0].startswith("git-elite: error: git update-index failed: "), \
        proc.stderr
    assert said[0].endswith("remove the file manually to continue.")  # git's last line
    assert git("rev-parse", "HEAD", cwd=work).stdout == head
    proc, log = commit(where, work, "-a")  # the lock gone: the same commit passes
    assert proc.returncode == 0, proc.stderr


def test_update_index_is_begun_before_the_check_and_given_its_lines_after(
        where: Path) -> None:
    """hooks5: the hook's `git update-index` starts with its first git questions (git
    reads the index while the check runs), before `cat-file` and `hash-object`; it is the
    one that stages the index files (one update-index in all)."""
    work = make_registry(where / "early")
    write_files(work, agent_files("alice", 55))
    git("add", "agents", cwd=work)
    trace = where / "trace2.txt"
    trace.unlink(missing_ok=True)
    proc = git("commit", "-q", "-m", "one agent", cwd=work, check=False,
               env={"GIT_TRACE2": str(trace)})
    assert proc.returncode == 0, proc.stderr
    began = [line.split("| ")[-1] if "| " in line else line
             for line in trace.read_text().splitlines() if " start " in line]
    order = [next((i for i, argv in enumerate(began) if what in argv), -1)
             for what in ("update-index", "cat-file --batch-command", "hash-object")]
    assert -1 not in order and order == sorted(order), began
    assert sum("update-index" in argv for argv in began) == 1, began
    assert layout.INDEX in git("show", "--name-only", "--format=", "HEAD", cwd=work).stdout
    assert git("status", "--porcelain", cwd=work).stdout == ""


def test_one_begun_for_another_work_tree_is_ended_first(
        where: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """stage_files in a work tree other than the one an update-index was begun in: that
    one is ended (given no line, its lock removed) before this one stages."""
    from git_elite.edges import catfile
    from git_elite.edges import git as egit

    one, two = make_registry(where / "one"), make_registry(where / "two")
    monkeypatch.delenv("GIT_INDEX_FILE", raising=False)
    monkeypatch.chdir(one)
    egit.stage_begin()
    assert len(egit._STAGING) == 1
    monkeypatch.chdir(two)
    opened = catfile.open_head()
    assert opened is not None
    try:
        egit.stage_files(opened[0], {"free/a.txt": b"a\n"})
    finally:
        opened[0].close()
        egit.stage_end()
    assert not egit._STAGING and not (one / ".git" / "index.lock").exists()
    assert "free/a.txt" in git("diff", "--cached", "--name-only", cwd=two).stdout
    assert git("diff", "--cached", "--name-only", cwd=one).stdout == ""


def test_other_hooks_and_commands_end_as_usual(where: Path) -> None:
    """Only the commit hooks leave early: post-commit (after `git commit <paths>`) runs its
    exit handlers."""
    work = make_registry(where / "paths")
    files = agent_files("alice", 54)
    write_files(work, files)
    git("add", "agents", cwd=work)
    proc, log = commit(where, work, "--", *files)
    assert proc.returncode == 0, proc.stderr
    assert log == ["start pre-commit", "start post-commit", "atexit post-commit"]
    assert {"pre-commit", "pre-merge-commit"} == launcher.QUICK_EXIT


# buffered streams, as git gives a hook (what `leave` must flush)
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def test_leave_flushes_what_was_written_and_exits_with_the_code(tmp_path: Path) -> None:
    code = ("import sys\nfrom git_elite import launcher\n"
            "sys.stdout.write('out, unflushed'); sys.stderr.write('err, unflushed')\n"
            "launcher.leave(3)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, cwd=tmp_path, env=BUFFERED)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out, unflushed",
                                                           "err, unflushed")


def test_leave_with_stdout_closed_fails_as_python_would(tmp_path: Path) -> None:
    """stdout's reader gone: the flush fails, and a hook that had succeeded exits 120, as
    the interpreter's own exit gives a failed flush."""
    code = ("import sys\nfrom git_elite import launcher\n"
            "sys.stdout.write('x' * 100)\n"
            "sys.stdin.read()\n"  # (until the reader of stdout is gone)
            "launcher.leave(0)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                            env=BUFFERED)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    proc.stdin.close()
    proc.wait()
    proc.stderr.close()
    assert proc.returncode == 120


def test_atomic_write_takes_a_str_path_and_says_what_it_cannot_create(tmp_path: Path) -> None:
    """hooks5: the hooks write through store.atomic_write with os.path strings (no
    pathlib): the file written whole, no temporary left; a folder that cannot be made is
    one EliteError naming it."""
    from git_elite.core.errors import EliteError
    from git_elite.edges import store

    target = os.path.join(str(tmp_path), "a", "b", "INDEX.json")
    store.atomic_write(target, b"{}\n", durable=False)
    assert Path(target).read_bytes() == b"{}\n"
    assert sorted(p.name for p in Path(target).parent.iterdir()) == ["INDEX.json"]
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(EliteError, match="cannot create .*file"):
        store.atomic_write(os.path.join(str(tmp_path), "file", "x.json"), b"{}")
