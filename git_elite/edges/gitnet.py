"""git over the network, bounded (SPEC §13: hostile servers are bounded per registry by a
deadline and bytes, and reported in one line). Part of the git layer with git.py.

`run` starts `git ARGS` in its own process group with git's low-speed limits
(`http.lowSpeedLimit` bytes/s for `http.lowSpeedTime` s, for http(s) remotes) and watches
it: past the wall-clock `deadline`, or once the pack directory it writes into grew by more
than `max_bytes` (every fetched object arrives as a pack: `transfer.unpackLimit=1`), the
whole group (git, its remote helper, ssh) is killed and a RegistryError says which bound
was hit. Limits come from `git config elite.networkTimeout` (seconds, default 90) and
`elite.maxFetchBytes` (default 2 GiB).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from git_elite.core.errors import RegistryError

TIMEOUT = 90.0
MAX_BYTES = 2 * 1024 ** 3
LOW_SPEED = ("-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=30",
             "-c", "transfer.unpackLimit=1", "-c", "fetch.unpackLimit=1")
POLL = 0.1


class Bounded(RegistryError):
    """A network operation hit its deadline or byte cap (not worth retrying)."""


@dataclass(frozen=True)
class Limits:
    deadline: float  # time.monotonic() by which everything must be done
    max_bytes: int

    @classmethod
    def configured(cls) -> Limits:
        from git_elite.edges import git

        def number(key: str, default: float) -> float:
            value = git.config_get(key)
            try:
                return float(value) if value else default
            except ValueError:
                raise RegistryError(f"git config {key}: {value!r} is not a number") from None

        seconds = number("elite.networkTimeout", TIMEOUT)
        return cls(time.monotonic() + seconds, int(number("elite.maxFetchBytes", MAX_BYTES)))


def run(args: Sequence[str], cwd: str | Path | None, limits: Limits, packs: Path
        ) -> subprocess.CompletedProcess[bytes]:
    """`git ARGS` under `limits`; `packs` is the objects/pack directory it writes into."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    start = _size(packs)
    try:
        proc = subprocess.Popen(["git", *LOW_SPEED, *args], cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except FileNotFoundError:
        raise RegistryError("git is not installed or not on PATH") from None
    why, out, err = _watch(proc, limits, packs, start)
    if why is None and _size(packs) - start > limits.max_bytes:  # finished between polls
        why = _too_many(limits)
    if why is not None:
        _kill(proc)
        raise Bounded(why)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _watch(proc: subprocess.Popen[bytes], limits: Limits, packs: Path, start: int
           ) -> tuple[str | None, bytes, bytes]:
    """(None, stdout, stderr) when git finished in bounds, else (what it overran, …).
    Output is drained by reader threads so a chatty git never blocks on a full pipe."""
    import threading

    chunks: dict[str, list[bytes]] = {"out": [], "err": []}
    readers = [threading.Thread(target=_drain, args=(stream, chunks[name]), daemon=True)
               for name, stream in (("out", proc.stdout), ("err", proc.stderr))]
    for reader in readers:
        reader.start()
    why = None
    while proc.poll() is None:
        if time.monotonic() > limits.deadline:
            why = "no complete answer before the deadline (git config elite.networkTimeout)"
        elif _size(packs) - start > limits.max_bytes:
            why = _too_many(limits)
        if why:
            return why, b"", b""
        # returns as soon as git exits (a local fetch takes a few ms, not a whole POLL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=POLL)
    for reader in readers:
        reader.join()
    return None, b"".join(chunks["out"]), b"".join(chunks["err"])


def _too_many(limits: Limits) -> str:
    return f"sent more than {limits.max_bytes} bytes (git config elite.maxFetchBytes)"


def _drain(stream: object, into: list[bytes]) -> None:
    read = getattr(stream, "read", None)
    while read is not None:
        block = read(65536)
        if not block:
            return
        into.append(block)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _size(packs: Path) -> int:
    try:
        return sum(entry.stat().st_size for entry in os.scandir(packs) if entry.is_file())
    except OSError:
        return 0
