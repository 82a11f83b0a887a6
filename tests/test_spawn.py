"""edges/spawn: the commit hook's processes without `subprocess` (hooks6). Real processes:
what `subprocess.run(..., capture_output=True)` / `Popen` give, byte for byte, and what
`close_fds` and `restore_signals` guarantee."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from git_elite.edges import git, spawn

PY = sys.executable


def test_run_answers_as_subprocess_run_does() -> None:
    """stdout and stderr apart, the exit code, input larger than a pipe holds (the child
    echoes it while we still write: no deadlock)."""
    code = ("import sys; data = sys.stdin.buffer.read(); sys.stdout.buffer.write(data[::-1]);"
            " sys.stderr.write('said %d' % len(data)); sys.exit(3)")
    data = os.urandom(300_000)
    ours = spawn.run([PY, "-c", code], data)
    theirs = subprocess.run([PY, "-c", code], input=data, capture_output=True, check=False)
    assert (ours.returncode, ours.stdout, ours.stderr) == \
        (theirs.returncode, theirs.stdout, theirs.stderr) == (3, data[::-1], b"said 300000")


def test_a_big_answer_and_stdin_as_subprocess_gives_it() -> None:
    """run without input: the child has our stdin (as subprocess.run); Child: /dev/null
    unless told."""
    code = "import sys; print(repr(sys.stdin.read())); sys.stdout.write('x' * 500000)"
    read_end, write_end = os.pipe()
    saved = os.dup(0)
    try:
        os.write(write_end, b"ours")
        os.close(write_end)
        os.dup2(read_end, 0)
        done = spawn.run([PY, "-c", code])
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(read_end)
    assert done.returncode == 0 and done.stdout == b"'ours'\n" + b"x" * 500000
    assert spawn.Child([PY, "-c", code]).communicate()[0][:3] == b"''\n"


def test_the_child_gets_only_its_three_streams(tmp_path: Path) -> None:
    """As close_fds: a pipe of ours (here: another child's stdin) is not the child's."""
    other = spawn.Child([PY, "-c", "import sys; sys.stdin.read()"], stdin=spawn.PIPE)
    try:
        listed = spawn.run([PY, "-c", "import os; print(sorted(os.listdir('/proc/self/fd')))"])
    finally:
        other.communicate()
    assert listed.stdout.decode().strip() == "['0', '1', '2', '3']"  # 3: listdir's own
    assert other.returncode == 0  # it saw its EOF: no sibling held its pipe open


def test_sigpipe_is_the_default_in_the_child() -> None:
    """As restore_signals: a writer whose reader is gone dies of SIGPIPE, as git expects
    (Python ignores SIGPIPE; inherited, `yes` would loop on EPIPE errors instead)."""
    child = spawn.Child(["yes"], stdout=spawn.PIPE, stderr=spawn.DEVNULL)
    assert child.stdout is not None
    child.stdout.read(10)
    child.stdout.close()
    assert child.wait() == -13


def test_stdin_from_a_descriptor_and_kill() -> None:
    read_end, write_end = os.pipe()
    try:
        child = spawn.Child([PY, "-c", "import sys; print(sys.stdin.read().upper())"],
                            stdin=read_end)
    finally:
        os.close(read_end)
    os.write(write_end, b"lines\n")
    os.close(write_end)
    assert child.communicate() == (b"LINES\n\n", b"")
    sleeper = spawn.Child([PY, "-c", "import time; time.sleep(60)"])
    sleeper.kill()
    assert sleeper.communicate() == (b"", b"") and sleeper.returncode == -9


def test_no_such_program_is_file_not_found() -> None:
    with pytest.raises(FileNotFoundError):
        spawn.Child(["git-elite-no-such-program"])


def test_git_run_in_the_callers_directory_and_elsewhere(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """git.run: through spawn in the caller's own directory, through subprocess with a
    cwd; the same answer, and git's own message on failure."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    here = git.run(["rev-parse", "--show-toplevel"], tmp_path)
    monkeypatch.chdir(tmp_path)
    mine = git.run(["rev-parse", "--show-toplevel"])
    assert here.stdout == mine.stdout == (str(tmp_path.resolve()) + "\n").encode()
    assert git.run(["hash-object", "--stdin"], input=b"x").stdout == \
        git.run(["hash-object", "--stdin"], tmp_path, input=b"x").stdout
    with pytest.raises(git.RegistryError, match="git cat-file failed"):
        git.run(["cat-file", "-p", "no-such-object"])



@pytest.mark.parametrize("closed", [(0,), (1,), (0, 1, 2)])
def test_a_closed_standard_stream_here_does_not_become_the_childs(closed: tuple[int, ...]
                                                                 ) -> None:
    """With this process's stdin / stdout / all three closed, the pipes' ends would take
    those numbers; they are moved above 2 first (spawn._pipe), so the child still reads its
    input and writes its answer (`git hash-object --stdin`'s blob id of b"x"), which comes
    back here on a descriptor of its own. The twin: every stream open, the same answer."""
    wanted = subprocess.run(["git", "hash-object", "--stdin"], input=b"x",
                            capture_output=True, check=True).stdout
    assert spawn.run(["git", "hash-object", "--stdin"], b"x").stdout == wanted
    read_end, write_end = os.pipe()
    code = (f"import os\nfor fd in {closed!r}: os.close(fd)\n"
            "from git_elite.edges import spawn\n"
            "ends = spawn._pipe()\n"  # (os.pipe() would give the closed numbers here)
            "assert min(ends) > 2, ends\n"
            "for fd in ends: os.close(fd)\n"
            "r = spawn.run(['git', 'hash-object', '--stdin'], b'x')\n"
            f"os.write({write_end}, r.stdout + b'%d' % r.returncode)\n")
    proc = subprocess.Popen([PY, "-c", code], pass_fds=(write_end,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        said = answer.read()
    assert proc.wait() == 0
    assert said == wanted + b"0"
