"""Bare cache clones of registries: `$AGENTD_HOME/cache/registries/<name>.git` (SPEC §1;
`<name>-<url hash>.git` for a registry given by path or URL: never shared by two registries).

`sync` brings a cache up to date (cloning it the first time), rebuilds a damaged one, retries
an unreachable registry a bounded number of times with backoff, and refuses a registry whose
branch moved backwards since the tip this cache last saw (a rollback by a mirror).
`publish` builds on the cache's tip; `discover`, `import` and `trust` read from it.

Damage that only shows when an object is read (a garbage loose object, a corrupt pack) is
caught where the cache is read: `Mender` turns git's or libgit2's report of it into one
re-clone and a second try, or (offline, or still damaged) into one line naming the cache.
A clone of a local path copies its objects (`--no-hardlinks`), so damage to the cache can
never reach the registry it was cloned from, nor the other way round.
"""

from __future__ import annotations

import os
import time

from git_elite.core.errors import RegistryError
from git_elite.edges import git, known_registries
from git_elite.edges.known_registries import Registry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any, TypeVar

    from git_elite.edges import gitnet  # the network edge: only when a registry is fetched

    T = TypeVar("T")

ATTEMPTS = 3
SEEN = "refs/elite/seen/"
DAMAGE_WORDS = ("corrupt", "bad object", "missing", "loose object", "inflate", "packfile",
                "did not send all necessary objects", "bad tree", "invalid object",
                "object file", "unknown object type", "zlib", "broken", "bad packed",
                "pack", "bad config", "not a git repository", "failed to parse",
                "failed to read", "invalid oid", "object not found")
# the registry's signed timestamp (SPEC §6.1), replaced by whatever the registry serves now
# and pruned when it serves none: the reader's check decides what that means
TIMESTAMP_SPEC = "+refs/elite/timestamp*:refs/elite/timestamp*"
# the witnessed log (SPEC §15), the same way: the reader's check (edges/logread) decides
LOG_SPEC = "+refs/elite/log*:refs/elite/log*"


REFS_FORMAT = "--format=%(refname) %(objectname)"


def usable(path: str | Path) -> bool:
    """A cache that git can open and whose refs resolve to objects present."""
    found = usable_refs(path)
    drop_reader(path)  # a fetch or a clone follows: refs read after it, by a new reader
    return found is not None


# the batch reader that checked a cache (`usable_refs`), kept open for the read that follows
# when nothing changes the cache in between (`--offline`): `take_reader` hands it over
_READERS: dict[str | Path, Any] = {}


def usable_refs(path: str | Path) -> bytes | None:
    """`usable`, giving the cache's refs (`for-each-ref` "refname objectname" lines) when
    it is: the one listing also serves `_mirrors`. None when not usable. Each ref's tree is
    looked up through one `git cat-file --batch-command`, kept for the read that follows
    (`take_reader`)."""
    drop_reader(path)
    if not os.path.exists(os.path.join(path, "HEAD")):
        return None
    proc = git.run(["for-each-ref", REFS_FORMAT], path, check=False)
    if proc.returncode != 0:
        return None
    oids = [line.split(b" ")[-1].decode() for line in proc.stdout.splitlines()]
    if not oids:
        return proc.stdout
    from git_elite.edges import catfile

    reader = catfile.open_git_dir(path)
    try:
        present = all(reader.odb.resolve(f"{oid}^{{tree}}") is not None for oid in oids)
    except RegistryError:  # the batch process ended: a damaged clone
        present = False
    if not present:
        reader.close()
        return None
    _READERS[path] = reader
    return proc.stdout


def take_reader(path: str | Path) -> Any:
    """The batch reader `usable_refs` opened on this cache (None: none is open); the caller
    closes it."""
    return _READERS.pop(path, None)


def drop_reader(path: str | Path) -> None:
    reader = _READERS.pop(path, None)
    if reader is not None:
        reader.close()


def sync(registry: Registry, *, offline: bool = False, attempts: int = ATTEMPTS) -> str:
    """The registry's cache clone, fetched now unless `offline`. A registry on this machine
    (a path or file:// URL) needs no network: offline, it is fetched all the same (once,
    no retries), so `--offline` works without an earlier online run."""
    path = registry.cache
    if offline and is_local(registry.url):
        refs = usable_refs(path)
        if refs is not None and _mirrors(registry, path, refs):
            return path  # the cache already holds what the local registry's refs name
        drop_reader(path)
        offline, attempts = False, 1
    if offline:
        if usable_refs(path) is None:
            raise RegistryError(f"{registry.name}: no usable cached copy at {path} (missing "
                                "or damaged; run once without --offline to clone it)")
        return path
    gone = known_registries.missing_local(registry.url)
    if gone is not None:  # a path that does not exist will not appear on a retry
        raise RegistryError(f"registry {registry.name}: {gone} does not exist")
    from pathlib import Path

    from git_elite.edges import gitnet

    where = Path(path)  # (registry.cache: os.path's, for the read that needs no fetch)
    last = ""
    limits = _limits(registry)  # one deadline and byte cap for every attempt
    for attempt in range(attempts):
        try:
            if usable(where):
                _fetch(registry, where, limits)
            else:
                _reclone(registry, where, limits)
            return path
        except gitnet.Bounded as err:
            raise RegistryError(f"registry {registry.name} ({registry.url}): {err.message}"
                                ) from None
        except RegistryError as err:
            last = err.message
            if "rewound" in last or type(err).__name__ == "HistoryRefused":
                raise
        if attempt + 1 < attempts:
            import random

            time.sleep(min(2.0, 0.2 * 2**attempt) * (0.5 + random.random()))
    raise RegistryError(f"cannot reach registry {registry.name} ({registry.url}) after "
                        f"{attempts} attempts: {last}")


def _mirrors(registry: Registry, path: str | Path, listed: bytes) -> bool:
    """Whether the cache's registry branch, timestamp and log refs (in `listed`, the cache's
    `for-each-ref`) name exactly the objects the local registry's do (then a fetch would
    change nothing: `--offline` skips it)."""
    name = branch(registry, path)
    refs = [REFS_FORMAT, f"refs/heads/{name}", "refs/elite/timestamp*", "refs/elite/log*"]
    source = registry.url.removeprefix("file://")
    theirs = git.run(["for-each-ref", *refs], source, check=False)
    wanted = (f"refs/heads/{name} ".encode(), b"refs/elite/timestamp", b"refs/elite/log")
    ours = b"".join(line + b"\n" for line in listed.splitlines() if line.startswith(wanted))
    return theirs.returncode == 0 and bool(ours) and theirs.stdout == ours


def is_local(url: str) -> bool:
    """A registry on this machine: a file:// URL or a path (`registries.normalise_url` makes
    paths absolute; a relative one is taken as given)."""
    if url.startswith("file://"):
        return True
    if "://" in url or (":" in url.split("/", 1)[0] and not url.startswith((".", "/"))):
        return False  # another scheme, or scp-like host:path
    return os.path.exists(os.path.expanduser(url))  # (Path(url).expanduser().exists())


def _fetch(registry: Registry, path: Path, limits: gitnet.Limits) -> None:
    """Only the registry branch is fetched (a registry with 3,000 other branches costs
    nothing more), under the network bounds; `--` keeps a URL from reading as an option."""
    before = _heads(path)
    name = branch(registry, path)
    from git_elite.edges import gitnet

    proc = gitnet.run(["fetch", "--quiet", "--prune", "--no-tags", "--", registry.url,
                       f"+refs/heads/{name}:refs/heads/{name}", TIMESTAMP_SPEC, LOG_SPEC],
                      path, limits, path / "objects" / "pack")
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        if usable(path) and not damaged_text(" ".join(detail)):
            raise RegistryError(detail[-1] if detail else f"git fetch exit {proc.returncode}")
        _reclone(registry, path, limits)
        return
    try:
        _refuse_rewind(registry, path, before, name)
    except RegistryError as err:
        if err.rule is not None or not damaged_text(err.message):
            raise
        _reclone(registry, path, limits)  # the clone broke while its history was checked


def damaged_text(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in DAMAGE_WORDS)


def damage(err: BaseException) -> str | None:
    """git's or libgit2's one-line report that a repository is damaged, else None: any
    pygit2.GitError, a `git` command's failure that names damage, a damaged object's
    unreadable bytes (pygit2 raises OSError/ValueError for some)."""
    if type(err).__module__.startswith(("pygit2", "_pygit2")):
        return _first_line(err)
    if (isinstance(err, RegistryError) and not isinstance(err, CacheDamaged)
            and err.rule is None and damaged_text(err.message)):
        return _first_line(err)
    return None


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__


class CacheDamaged(RegistryError):
    """A cache clone git or libgit2 cannot read: the whole registry is unreadable, not one
    agent's files (readers must not turn this into a per-agent problem)."""


def damaged_error(registry: Registry, detail: str, offline: bool) -> CacheDamaged:
    todo = ("run the command again without --offline to clone it again" if offline else
            f"the registry {registry.url} itself may be damaged: check it with "
            f"`git elite verify {registry.url}`")
    return CacheDamaged(f"{registry.name}: the cached copy at {registry.cache} is damaged "
                         f"({detail}); {todo}")


class Mender:
    """Runs reads of one registry's cache clone; the first time git or libgit2 reports the
    clone damaged, it clones the registry again (`rebuild`), calls `reopen` so the caller
    drops the handles to the old one, and tries once more. Offline, or damaged again after
    a fresh clone: one RegistryError naming the cache and what to do."""

    def __init__(self, registry: Registry, *, offline: bool = False,
                 reopen: Callable[[], None] = lambda: None,
                 say: Callable[[str], None] | None = None):
        self.registry, self.offline, self.reopen = registry, offline, reopen
        self.say = say
        self.mended = False

    def __call__(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except Exception as err:  # noqa: BLE001 - classified, re-raised unless damage
            detail = damage(err)
            if detail is None:
                raise
            if self.offline or self.mended or _forked():
                raise damaged_error(self.registry, detail, self.offline) from None
        self._mend(detail)
        try:
            return work()
        except Exception as err:  # noqa: BLE001
            detail = damage(err)
            if detail is None:
                raise
            raise damaged_error(self.registry, detail, False) from None

    def _mend(self, detail: str) -> None:
        from git_elite.edges import output

        (self.say or output.warn)(f"{self.registry.name}: the cached copy at "
                                  f"{self.registry.cache} is damaged ({detail}); cloning "
                                  "it again")
        rebuild(self.registry)
        self.mended = True
        self.reopen()


def _forked() -> bool:
    """In a forked reader (fanout.halves' child): the parent, which redoes the child's work
    when it fails, is the one that clones again."""
    from git_elite.core import fanout

    return fanout.CHILD


def rebuild(registry: Registry) -> str:
    """Replace the cache clone by a fresh clone (keeping the tips seen, for the rewind check,
    when the damaged clone still names them)."""
    from pathlib import Path

    _reclone(registry, Path(registry.cache), _limits(registry))
    return registry.cache


def _limits(registry: Registry) -> gitnet.Limits:
    """The network bounds of one registry's fetch; a local path is not capped in bytes (a
    local clone copies every object: that is not a hostile server sending too much)."""
    from git_elite.edges import gitnet

    limits = gitnet.Limits.configured()
    if "://" not in registry.url and ":" not in registry.url.split("/", 1)[0]:
        return gitnet.Limits(limits.deadline, 1 << 62)
    return limits


def _heads(path: Path) -> dict[str, str]:
    proc = git.run(["for-each-ref", "--format=%(refname) %(objectname)", SEEN], path,
                   check=False)
    pairs = (line.split(" ", 1) for line in proc.stdout.decode().splitlines() if " " in line)
    return {ref[len(SEEN):]: oid for ref, oid in pairs}


def _refuse_rewind(registry: Registry, path: Path, seen: dict[str, str], name: str) -> None:
    """The registry branch must descend from the tip seen last time, and every commit it
    brings must pass the push rules (`cachecheck`); then remember it. A refused fetch puts
    the branch back where it was; a refused first clone is removed."""
    from git_elite.edges import cachecheck

    proc = git.run(["for-each-ref", "--format=%(refname:short) %(objectname)",
                    f"refs/heads/{name}"], path)
    for line in proc.stdout.decode().splitlines():
        branch, oid = line.split(" ", 1)
        old = seen.get(branch)
        if old and old != oid and not git.is_ancestor(path, old, oid):
            git.run(["update-ref", f"refs/heads/{branch}", old], path)
            raise RegistryError(
                f"{registry.name}: branch {branch} was rewound from {old[:12]} to {oid[:12]} "
                "(a rollback or a rewritten history); keeping the tip seen before",
                rule="non-fast-forward")
        if old != oid:  # unchanged (nothing fetched, or our own push): no process
            try:
                cachecheck.check(registry.name, path, old, oid)
            except cachecheck.HistoryRefused:
                if old:
                    git.run(["update-ref", f"refs/heads/{branch}", old], path)
                else:
                    _remove(path)
                raise
            git.run(["update-ref", f"{SEEN}{branch}", oid], path)


def _reclone(registry: Registry, path: Path, limits: gitnet.Limits) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    seen = _heads(path) if path.is_dir() else {}
    import shutil

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    only = ["--branch", registry.branch] if registry.branch else []
    from git_elite.edges import gitnet, progress

    with progress.spinner(f"cloning {registry.name} from {registry.url}"):
        proc = gitnet.run(["clone", "--bare", "--quiet", "--no-tags", "--no-hardlinks",
                           "--single-branch", *only, "--", registry.url, str(tmp)], None,
                          limits, tmp / "objects" / "pack")
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RegistryError(detail[-1] if detail else f"git clone exit {proc.returncode}")
    for name, oid in seen.items():
        git.run(["update-ref", f"{SEEN}{name}", oid], tmp, check=False)
    git.run(["fetch", "--quiet", "--no-tags", "--", registry.url, TIMESTAMP_SPEC, LOG_SPEC],
            tmp, check=False)
    _remove(path)
    os.replace(tmp, path)
    _refuse_rewind(registry, path, seen, branch(registry, path))


def _remove(path: Path) -> None:
    """Whatever is at `path`: a clone, or a file or symlink left where the clone should be."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    else:
        import shutil

        shutil.rmtree(path, ignore_errors=True)


def branch(registry: Registry, path: str | Path) -> str:
    """The registry branch: configured, else the remote's default (the clone's HEAD)."""
    if registry.branch:
        return registry.branch
    try:  # a bare clone's HEAD file, as `git symbolic-ref` reads it (without a process)
        with open(os.path.join(path, "HEAD"), errors="replace") as handle:  # (read_text)
            text = handle.read()
    except OSError:
        text = ""
    if text.startswith("ref: refs/heads/") and text.count("\n") <= 1:
        return text.removeprefix("ref: refs/heads/").strip() or "main"
    head = git.head_branch(path)
    return head.removeprefix("refs/heads/") if head else "main"


def tip(path: str | Path, branch_name: str) -> str | None:
    reader = _READERS.get(path)  # `--offline`: the reader that checked the cache answers
    if reader is not None:
        try:
            found: str | None = reader.odb.resolve(f"refs/heads/{branch_name}^{{commit}}")
            return found
        except RegistryError:
            drop_reader(path)  # it ended (damage): git rev-parse says so in its words
    proc = git.run(["rev-parse", "--verify", "-q", f"refs/heads/{branch_name}^{{commit}}"],
                   path, check=False)
    return proc.stdout.decode().strip() or None


def head_file_branch(git_dir: str | Path, cwd: str | Path) -> str | None:
    """The branch a work tree's HEAD names (without `refs/heads/`; None when detached), from
    the HEAD file as git writes it, as `git symbolic-ref -q HEAD` gives it; anything else (a
    reftable repository's placeholder) is asked of git."""
    try:
        with open(os.path.join(git_dir, "HEAD"), errors="replace") as handle:  # (read_text)
            text = handle.read()
    except OSError:
        text = ""
    if text.count("\n") <= 1 and text.startswith("ref: refs/") and \
            not text.rstrip().endswith("/.invalid"):
        return text[len("ref: "):].strip().removeprefix("refs/heads/") or None
    if text.count("\n") <= 1 and len(text.strip()) in (40, 64) and \
            all(c in "0123456789abcdef" for c in text.strip()):
        return None  # detached
    head = git.head_branch(cwd)
    return (head or "").removeprefix("refs/heads/") or None
