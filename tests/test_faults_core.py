"""Local-state faults with the core: read-only $AGENTD_HOME, a full disk, a kill mid-write.

`store.atomic_write` must raise a clear EliteError naming the file, leave no half-written
file (nor its temp file) and keep the previous file intact.

How each fault is made (tests run as root here, where chmod does not stop writes):
- read-only: as root, the directory gets the immutable attribute (`chattr +i`, which stops
  root too); otherwise it is `chmod 0500`. If neither is possible the test says so (skip).
- full disk: a subprocess with RLIMIT_FSIZE = 64 bytes and SIGXFSZ ignored, so a write past
  the limit fails with EFBIG exactly where ENOSPC would. (/dev/full cannot be a target:
  atomic_write writes a temp file beside the target, which in /dev would be a real file.)
- kill: a subprocess rewriting a file in a loop is SIGKILLed at random moments, repeatedly.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from git_elite.core.errors import EliteError
from git_elite.edges import store

OLD = b'{"old": true}\n'
NEW = b'{"new": "' + b"x" * 4096 + b'"}\n'


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[str]:
    """Make `directory` unwritable for this process; yields how it was done."""
    if os.geteuid() != 0:
        directory.chmod(0o500)
        try:
            yield "chmod 0500"
        finally:
            directory.chmod(0o700)
        return
    chattr = shutil.which("chattr")
    done = chattr and subprocess.run([chattr, "+i", str(directory)], capture_output=True)
    if not done or done.returncode != 0:
        pytest.skip("running as root and `chattr +i` is unavailable here: a read-only "
                    "directory cannot be made without mounting a filesystem")
    try:
        yield "chattr +i (root)"
    finally:
        subprocess.run([str(chattr), "-i", str(directory)], check=True)


def _home_with_old_file() -> tuple[Path, Path]:
    home = store.ensure_home()
    target = home / "identity.json"
    store.atomic_write(target, OLD, 0o600)
    return home, target


def test_read_only_home_refuses_clearly_and_keeps_old_file() -> None:
    home, target = _home_with_old_file()
    with read_only(home) as how:
        with pytest.raises(EliteError, match=r"cannot write .*identity\.json") as info:
            store.atomic_write(target, NEW, 0o600)
        assert "\n" not in str(info.value), how
        assert target.read_bytes() == OLD
        assert sorted(p.name for p in home.iterdir()) == ["identity.json"]


def test_read_only_home_refuses_new_directories() -> None:
    home, _ = _home_with_old_file()
    with read_only(home), pytest.raises(EliteError, match="cannot create"):
        store.atomic_write(home / "elite" / ("ab" * 32) / "manifest.json", NEW)
    assert not (home / "elite").exists()


def test_home_that_is_a_file_is_a_clear_error(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    monkeypatch.setenv("AGENTD_HOME", str(blocker))
    with pytest.raises(EliteError, match="cannot create"):
        store.ensure_home()
    with pytest.raises(EliteError, match="cannot create"):
        store.atomic_write(blocker / "identity.json", NEW)


_FULL_DISK = """
import json, resource, signal, sys
from pathlib import Path
from git_elite.edges import store
from git_elite.core.errors import EliteError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
try:
    store.atomic_write(Path(sys.argv[1]), b"y" * 100000, 0o600)
except EliteError as err:
    print(json.dumps({"error": str(err)}))
else:
    print(json.dumps({"error": None}))
"""


def test_full_disk_refuses_clearly_and_keeps_old_file() -> None:
    home, target = _home_with_old_file()
    proc = subprocess.run([sys.executable, "-c", _FULL_DISK, str(target)], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    message = json.loads(proc.stdout)["error"]
    assert message and "cannot write" in message and "identity.json" in message
    assert "File too large" in message  # EFBIG, where a full disk gives ENOSPC
    assert target.read_bytes() == OLD
    assert sorted(p.name for p in home.iterdir()) == ["identity.json"]


_WRITER = """
import sys
from pathlib import Path
from git_elite.edges import store
target, a, b = Path(sys.argv[1]), Path(sys.argv[2]).read_bytes(), Path(sys.argv[3]).read_bytes()
print("ready", flush=True)
while True:
    store.atomic_write(target, a, 0o600)
    store.atomic_write(target, b, 0o600)
"""


@pytest.mark.parametrize("rounds", [8, pytest.param(40, marks=pytest.mark.slow)])
def test_kill_mid_write_never_leaves_a_half_written_file(tmp_path: Path, rounds: int) -> None:
    home, target = _home_with_old_file()
    big = tmp_path / "big"
    big.write_bytes(b"z" * 2_000_000)
    (tmp_path / "old").write_bytes(OLD)
    rng = random.Random(7)
    for _ in range(rounds):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target),
                                 str(tmp_path / "old"), str(big)], stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert target.read_bytes() in (OLD, big.read_bytes())
    leftovers = [p.name for p in home.iterdir() if p.name != "identity.json"]
    # a SIGKILL cannot be cleaned up after: only dot-named temp files may remain, never
    # a partial identity.json
    assert all(n.startswith(".identity.json.") and n.endswith(".tmp") for n in leftovers)
