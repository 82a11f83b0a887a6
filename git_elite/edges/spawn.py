"""git's processes for the commit hook without the `subprocess` module: its import (with
`locale`, `threading`, `signal` and `selectors`) is ~5 ms of CPU on every `git commit`
(docs/scale.md, "The hooks, round 6"). `os.posix_spawnp` (vfork and exec, as
`subprocess` does) and `select.poll` give the part the hook uses: a child with its standard
streams piped, to /dev/null or to a given descriptor, `communicate`, `wait`, `kill`. Only
for processes run in the caller's own directory (posix_spawn has no chdir): edges/git.py
and catfile.py take `subprocess` for the others.

As `subprocess.Popen(..., close_fds=True, restore_signals=True)` does: the child gets only
its three standard streams (every descriptor Python opens is close-on-exec: the pipes'
other ends never leak into a sibling, which would hold its EOF back; one this process was
given inheritable is closed in the child), and SIGPIPE and SIGXFSZ back to their default
actions (Python ignores them; git expects a closed pipe to end it)."""

from __future__ import annotations

import os
import select

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as signals
    from collections.abc import Sequence
    from typing import IO
else:
    try:  # the signal numbers without `signal`'s enums (~0.7 ms to import)
        import _signal as signals
    except ImportError:  # another Python than CPython
        import signal as signals

PIPE = -1
DEVNULL = -3
INHERIT = -4  # the stream this process has (subprocess's None)
_SIGNALS = tuple(getattr(signals, name) for name in ("SIGPIPE", "SIGXFSZ")
                 if hasattr(signals, name))


class Completed:
    """What `subprocess.run` returns, for the fields the callers read."""

    def __init__(self, args: Sequence[str], returncode: int, stdout: bytes, stderr: bytes):
        self.args = list(args)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class Child:
    """A started process; each stream PIPE, DEVNULL, INHERIT or a descriptor of ours.
    `stdin`, `stdout`: buffered binary files when PIPE (as Popen's), else None; `stderr`
    likewise. `returncode` once waited for (negative: the signal)."""

    def __init__(self, args: Sequence[str], *, stdin: int = DEVNULL, stdout: int = PIPE,
                 stderr: int = PIPE):
        self.args = list(args)
        self.returncode: int | None = None
        self.stdin: IO[bytes] | None = None
        self.stdout: IO[bytes] | None = None
        self.stderr: IO[bytes] | None = None
        actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = []
        ours: list[int] = []  # the child's ends, closed here once it has them
        try:
            for target, how in ((0, stdin), (1, stdout), (2, stderr)):
                if how == INHERIT:
                    continue
                if how == DEVNULL:
                    flags = os.O_RDONLY if target == 0 else os.O_WRONLY
                    actions.append((os.POSIX_SPAWN_OPEN, target, os.devnull, flags, 0))
                    continue
                if how == PIPE:
                    read_end, write_end = _pipe()
                    child_end, mine = (read_end, write_end) if target == 0 else \
                        (write_end, read_end)
                    ours.append(child_end)
                    if target == 0:
                        self.stdin = open(mine, "wb")  # noqa: SIM115 - closed by its user
                    else:
                        setattr(self, ("stdout", "stderr")[target - 1], open(mine, "rb"))  # noqa: SIM115
                    how = child_end
                actions.append((os.POSIX_SPAWN_DUP2, how, target))
            actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited()]
            self.pid = os.posix_spawnp(self.args[0], self.args, os.environ,
                                       file_actions=actions, setsigdef=_SIGNALS)
        except BaseException:
            for handle in (self.stdin, self.stdout, self.stderr):
                if handle is not None:
                    handle.close()
            raise
        finally:
            for fd in ours:
                os.close(fd)

    def communicate(self, input: bytes | None = None) -> tuple[bytes, bytes]:
        """`input` written to its stdin (then closed), stdout and stderr read to their ends,
        the process waited for: (stdout, stderr), b"" for a stream not piped."""
        chunks: dict[int, list[bytes]] = {}
        poller = select.poll()
        streams: dict[int, IO[bytes]] = {}
        keys = []  # stdout's and stderr's descriptors (-1: not piped, or already read)
        for handle in (self.stdout, self.stderr):
            keys.append(-1 if handle is None or handle.closed else handle.fileno())
            if keys[-1] >= 0:
                streams[keys[-1]] = handle  # type: ignore[assignment]
                chunks[keys[-1]] = []
                poller.register(keys[-1], select.POLLIN | select.POLLPRI)
        view = memoryview(input or b"")
        in_fd = -1  # stdin's descriptor while `input` is being written
        if self.stdin is not None and not self.stdin.closed:
            try:
                self.stdin.flush()
            except BrokenPipeError:
                pass
            if view:
                in_fd = self.stdin.fileno()
                streams[in_fd] = self.stdin
                poller.register(in_fd, select.POLLOUT)
            else:
                self._close_stdin()
        while streams:
            for fd, event in poller.poll():
                if fd == in_fd:
                    if event & select.POLLOUT:  # room for PIPE_BUF bytes at least
                        try:
                            view = view[os.write(fd, view[:select.PIPE_BUF]):]
                        except BrokenPipeError:
                            view = view[:0]
                    if not view or event & (select.POLLERR | select.POLLHUP):
                        poller.unregister(fd)
                        del streams[fd]
                        in_fd = -1
                        self._close_stdin()
                    continue
                data = os.read(fd, 32768)
                if data:
                    chunks[fd].append(data)
                    continue
                poller.unregister(fd)
                streams.pop(fd).close()
        self.wait()
        out, err = (b"".join(chunks.get(key, ())) for key in keys)
        return out, err

    def _close_stdin(self) -> None:
        if self.stdin is not None:
            try:
                self.stdin.close()
            except BrokenPipeError:
                pass

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signals.SIGKILL)
            except ProcessLookupError:
                pass


def _pipe() -> tuple[int, int]:
    """`os.pipe()` with both ends above 2. With a standard stream closed in this process a
    new descriptor takes its number, and the child's dup2 of an end onto the same number
    would be a no-op that leaves it close-on-exec wherever the C library follows the older
    POSIX text, which did not clear the flag for equal numbers (`subprocess` guards the
    same case in its child). The ends are moved up by dup (close-on-exec, as Python makes
    every descriptor), the low numbers closed again."""
    ends, low = [], []
    for fd in os.pipe():
        while fd <= 2:
            low.append(fd)
            fd = os.dup(fd)
        ends.append(fd)
    for fd in low:
        os.close(fd)
    return ends[0], ends[1]


def _inherited() -> list[int]:
    """Descriptors above 2 this process was given inheritable by its own parent (git, a
    shell): closed in the child, as `close_fds` closes them (Python's own are close-on-exec
    already). Read from /proc/self/fd where there is one."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return []
    out = []
    for name in names:
        fd = int(name)
        if fd > 2:
            try:  # (listdir's own, closed by now)
                if os.get_inheritable(fd):
                    out.append(fd)
            except OSError:
                pass
    return out


def run(args: Sequence[str], input: bytes | None = None) -> Completed:
    """`subprocess.run(args, input=input, capture_output=True, check=False)` (without
    `input`, the child has this process's stdin)."""
    child = Child(args, stdin=PIPE if input is not None else INHERIT)
    out, err = child.communicate(input)
    return Completed(args, child.wait(), out, err)
