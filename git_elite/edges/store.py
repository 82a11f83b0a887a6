"""Local state under $AGENTD_HOME (SPEC §1): paths, modes and atomic writes."""

from __future__ import annotations

import os

from git_elite.core.errors import EliteError

TYPE_CHECKING = False
if TYPE_CHECKING:  # not at run time: pathlib costs every hook ~4 ms (docs/scale.md)
    from pathlib import Path


def home() -> Path:
    """$AGENTD_HOME, default ~/.agentd (not created)."""
    from pathlib import Path

    configured = os.environ.get("AGENTD_HOME")
    return Path(configured) if configured else Path.home() / ".agentd"


def home_dir() -> str:
    """`str(home())` without pathlib (~4 ms of a reader's start-up, docs/scale.md "discover
    --offline, round 7"): the paths a checked read opens are joined with os.path."""
    configured = os.environ.get("AGENTD_HOME")
    return as_path(configured) if configured else \
        as_path(os.path.join(os.path.expanduser("~"), ".agentd"))


def as_path(text: str) -> str:
    """`str(PurePosixPath(text))`: repeated slashes and `.` parts dropped, no trailing slash
    (a leading `//` kept, as POSIX and pathlib keep it); `..` left as it is."""
    if not text:
        return "."
    root = "//" if text[:2] == "//" and text[:3] != "///" else "/" if text[:1] == "/" else ""
    return root + "/".join(part for part in text.split("/") if part and part != ".") or "."


def ensure_home() -> Path:
    """Create $AGENTD_HOME with mode 0700 (and tighten it if it exists)."""
    path = home()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except OSError as err:
        raise EliteError(f"cannot create {path}: {err.strerror}") from None
    return path


def ensure_home_dir() -> str:
    """`str(ensure_home())` without pathlib (a second verify writes its root-commit memory:
    docs/scale.md, "second verify, round 7")."""
    path = home_dir()
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o700)
    except OSError as err:
        raise EliteError(f"cannot create {path}: {err.strerror}") from None
    return path


def ensure_dir(path: Path, mode: int = 0o700) -> Path:
    try:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
    except OSError as err:
        raise EliteError(f"cannot create {path}: {err.strerror}") from None
    return path


def atomic_write(path: str | Path, data: bytes, mode: int = 0o644, *,
                 durable: bool = True) -> None:
    """Write via a temp file in the same directory, fsync, then os.replace: all or nothing.
    `durable=False` skips the fsync, for files that can be made again (caches, the work
    tree's copies of committed index files: git does not fsync a checkout either)."""
    folder = os.path.dirname(path) or "."
    try:  # (ensure_dir's, for a str)
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError as err:
        raise EliteError(f"cannot create {folder}: {err.strerror}") from None
    fd, tmp = -1, ""
    try:
        fd, tmp = _create_temp(path)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
        tmp = ""
    except OSError as err:
        raise EliteError(f"cannot write {path}: {err.strerror or err}") from None
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _create_temp(path: str | Path) -> tuple[int, str]:
    """A new file next to `path`, as `tempfile.mkstemp` makes one (O_EXCL, mode 0600, a name
    no one can guess, no symlink followed) without importing tempfile, which brings shutil,
    random, bz2 and lzma (~5 ms of every hook that saves a cache; branch prerecv)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | \
        getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        folder, base = os.path.split(path)
        name = os.path.join(folder, f".{base}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no unused temporary name next to {path}")


def read_bytes(path: str | Path) -> bytes:
    try:
        with open(path, "rb") as handle:  # (Path.read_bytes, for a str too)
            return handle.read()
    except FileNotFoundError:
        raise EliteError(f"{path}: no such file") from None
    except OSError as err:
        raise EliteError(f"{path}: cannot read: {err.strerror}") from None
