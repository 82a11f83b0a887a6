"""The only module that talks to git: pygit2 for reading objects, `git` subprocesses for
porcelain (push, fetch, config as git reads it). pygit2 is imported lazily."""

from __future__ import annotations

import os

from git_elite.core.errors import EliteError, Problem, RegistryError

TYPE_CHECKING = False
if TYPE_CHECKING:  # not at run time: pathlib costs every hook ~4 ms (docs/scale.md)
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path
    from typing import Any, NamedTuple

    from git_elite.edges.spawn import Completed
else:
    from git_elite.core.records import NamedTuple


def run(args: Sequence[str], cwd: str | Path | None = None, *, input: bytes | None = None,
        env: Mapping[str, str] | None = None, check: bool = True) -> Completed:
    """Run `git ARGS`; on failure (with check) a RegistryError carrying git's own message.
    In the caller's own directory with its environment: through edges/spawn (a commit hook
    does not import `subprocess`: docs/scale.md, "The hooks, round 6")."""
    from git_elite.edges import spawn

    started = _STARTED.pop((tuple(args), str(cwd)), None) if input is None and env is None \
        else None
    try:
        if started is not None:  # begun by `start`: its answer, as `subprocess.run` gives it
            out, err = started.communicate()
            proc = spawn.Completed(["git", *args], started.returncode, out, err)
        elif env is None and (cwd is None or spawnable(cwd)):
            ran = spawn.run(at(cwd, args), input)
            proc = spawn.Completed(["git", *args], ran.returncode, ran.stdout, ran.stderr)
        else:
            import subprocess

            done = subprocess.run(["git", *args], cwd=cwd, input=input,
                                  env=None if env is None else {**os.environ, **env},
                                  capture_output=True, check=False)
            proc = spawn.Completed(done.args, done.returncode, done.stdout, done.stderr)
    except FileNotFoundError:
        raise RegistryError("git is not installed or not on PATH") from None
    if check and proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        if detail and "not a git repository" in detail[-1]:  # say it as git users know it
            raise RegistryError(f"{os.path.realpath(cwd or '.')}: not a git repository")
        raise RegistryError(f"git {args[0]} failed: {detail[-1] if detail else proc.returncode}")
    return proc


# `git` processes begun ahead of the `run` that takes their answer, by (args, cwd):
# spawn.Child or subprocess.Popen (the same `communicate`, `kill`, `args`, `returncode`)
_STARTED: dict[tuple[tuple[str, ...], str], Any] = {}


def start(args: Sequence[str], cwd: str | Path | None = None) -> None:
    """Begin `git ARGS` now; the first `run` of the same args and cwd (no input, no env)
    takes its answer instead of starting it then. For a one-shot hook process whose git
    questions do not depend on each other: git answers them while the checks' modules
    load (SPEC §12's start-up), and each answer is the one `run` would have got, as
    nothing the hook does in between writes to the repository. `start_clear` ends those
    never taken."""
    key = (tuple(args), str(cwd))
    if key in _STARTED:
        return
    try:  # no git: `run` says it
        _STARTED[key] = _child(["git", *args], cwd, None)
    except FileNotFoundError:
        pass


def spawnable(cwd: str | Path) -> bool:
    """Whether `git -C cwd …` through edges/spawn runs as `subprocess` with `cwd=cwd` would:
    `cwd` a directory (else `subprocess`, and its FileNotFoundError, as before)."""
    return bool(cwd) and os.path.isdir(cwd)


def at(cwd: str | Path | None, args: Sequence[str]) -> list[str]:
    """`git ARGS` run in `cwd` (None: here) without `subprocess` (posix_spawn has no chdir):
    `git -C cwd ARGS`, which changes to `cwd` before anything else, as a child started there
    would be (discover7: ~5 ms of `subprocess`, `threading`, `locale`, `signal` and
    `selectors` off `discover --offline`; docs/scale.md)."""
    return ["git", *args] if cwd is None else ["git", "-C", os.fspath(cwd), *args]


def _child(argv: list[str], cwd: str | Path | None, stdin: int | None) -> Any:
    """A process with stdout and stderr piped, stdin from the descriptor `stdin` (None:
    /dev/null): through edges/spawn (`git -C cwd` for another directory), else
    `subprocess`."""
    if cwd is None or (argv[:1] == ["git"] and spawnable(cwd)):
        from git_elite.edges import spawn

        command = at(cwd, argv[1:]) if argv[:1] == ["git"] else argv
        return spawn.Child(command, stdin=spawn.DEVNULL if stdin is None else stdin)
    import subprocess

    return subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL if stdin is None else stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def start_clear() -> None:
    """End (and reap) the processes `start` began that no `run` took."""
    while _STARTED:
        _, proc = _STARTED.popitem()
        proc.kill()
        proc.communicate()


def open_repo(path: str | Path = ".") -> Any:
    """A pygit2.Repository for `path` (searching upwards, like git)."""
    import pygit2

    try:
        found = pygit2.discover_repository(str(path))
        if found is None:
            raise RegistryError(f"{path}: not a git repository")
        return pygit2.Repository(found)
    except pygit2.GitError as err:
        raise RegistryError(f"{path}: cannot open repository: {err}") from None


# registry reading and writing ---------------------------------------------------------------
ZERO = "0" * 40
_BLOB_MODE = 0o100644


def open_env(path: str | Path = ".") -> Any:
    """Open honouring GIT_DIR, GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY and the alternates git sets
    for hooks (pre-receive's quarantine), which `pygit2.Repository(path)` alone ignores."""
    import pygit2

    _tune(pygit2)
    try:
        return pygit2.Repository(str(path), flags=pygit2.enums.RepositoryOpenFlag.FROM_ENV)
    except pygit2.GitError as err:
        raise RegistryError(f"{path}: cannot open repository: {err}") from None


def open_reader(path: str | Path) -> Any:
    """`open_repo` with libgit2's object cache sized for reading a big registry by path: the
    `agents` tree of 100,000 agents (~7 MB) is parsed once, not on every lookup."""
    import pygit2

    repo = open_repo(path)
    pygit2.settings.cache_object_limit(pygit2.enums.ObjectType.TREE, 64 * 1024 * 1024)
    # memory flat in the registry's size: a whole-registry read (`verify`, a filter over
    # every shard) touches every page of the pack; libgit2 maps packs in windows of up to
    # 1 GiB and keeps up to 8 GiB mapped, which counts as resident. Small windows, few kept.
    pygit2.settings.mwindow_size = 4 * 1024 * 1024
    pygit2.settings.mwindow_mapped_limit = 32 * 1024 * 1024
    pygit2.settings.cache_max_size(96 * 1024 * 1024)
    return repo


def _tune(pygit2: Any) -> None:
    # A check reads INDEX.json (8 MB at 10,000 agents) once in the diff and again where the
    # engine parses it, and the agents/ tree (~1 MB) on every lookup by path: keep big blobs
    # and trees cached so each is inflated once per process.
    pygit2.settings.cache_max_size(512 * 1024 * 1024)
    pygit2.settings.cache_object_limit(pygit2.enums.ObjectType.BLOB, 256 * 1024 * 1024)
    pygit2.settings.cache_object_limit(pygit2.enums.ObjectType.TREE, 64 * 1024 * 1024)


class TreeState:
    """A registry state backed by a git tree, read lazily by path (engine's State)."""

    def __init__(self, repo: Any, tree: Any | None):
        from git_elite.edges import gittree

        self.repo = repo
        self.tree = tree
        self.blobs = gittree.Blobs(repo, gittree.tree_entries(tree))
        self.refusals: dict[str, Problem] = {}
        self.stream: Any | None = None  # catfile.Stream: `subtree` reads in batches

    def read(self, path: str) -> bytes | None:
        """The blob at `path`; None when absent, or refused unread (`refused` says why)."""
        return self._blob(path)[0]

    def warm(self, paths: Sequence[str]) -> None:
        """Read ahead what `read` of each of `paths` will ask the batch reader
        (catfile.CatRepo; other repositories: nothing): the trees on the paths one level at
        a time, then the headers of the blobs at them, then the bytes of those `read` will
        accept (regular file, not too deep, within its size limit: the same checks, so a
        refused blob is never inflated) — a round trip per level instead of several per
        path. A directory on the way is found by git (`catfile._Odb.find_dirs`): no tree
        but the agents' own is shipped (docs/discover.md, "Performance"). Only a cache of
        objects by id: `read` walks, checks and refuses as without it (a directory git
        found is the one it names), and whatever was not found is asked again there."""
        from git_elite.edges import gittree

        odb: Any = getattr(self.repo, "odb", None)
        if self.tree is None or not hasattr(odb, "warm"):
            return
        level: list[tuple[Any, list[str], str]] = [(self.tree, p.split("/"), p) for p in paths]
        blobs: list[tuple[str, str]] = []
        while level:
            # a tree the path goes through: git's own lookup of the next directory (no tree
            # through the pipe: an `agents/<ab>` of 1M is ~360 KB); a tree whose file is
            # read, or whose entry git did not find: its bytes, parsed as before
            odb.find_dirs([(t.id, parts[0]) for t, parts, _ in level if len(parts) > 1])
            odb.warm("contents", [t.id for t, parts, _ in level if len(parts) == 1
                                  or odb.dirs.get((t.id, parts[0])) is None])
            deeper = []
            for tree, parts, path in level:
                try:
                    entry = tree.child(parts[0])
                except (KeyError, ValueError, EliteError):
                    continue  # absent, or left for `read` to meet and report
                if len(parts) > 1 and entry.filemode == gittree.TREE:
                    deeper.append((entry, parts[1:], path))
                elif len(parts) == 1 and entry.filemode == gittree.REGULAR:
                    blobs.append((path, entry.id))
            level = deeper
        odb.warm("info", [oid for _, oid in blobs])
        odb.warm("contents", [oid for path, oid in blobs
                              if gittree.depth_problem(path) is None and oid in odb.headers
                              and self.blobs.oversize(path, oid) is None])

    def refused(self, path: str) -> Problem | None:
        """Why `read(path)` gave None for an entry that exists (mode, size), or None."""
        return self._blob(path)[1]

    def _blob(self, path: str) -> tuple[bytes | None, Problem | None]:
        from git_elite.edges import gittree

        entry = gittree.entry_at(self.tree, path) if self.tree is not None else None
        if entry is None or entry.filemode == gittree.TREE:
            return None, None
        if self.stream is not None:  # an audit: git applies a shard's delta chain faster
            data, problem = self.blobs.read_all([(path, entry.id, entry.filemode)],
                                                self.stream)[0]
        else:
            data, problem = self.blobs.read(path, entry.id, entry.filemode)
        if problem is not None:
            self.refusals[path] = problem
        return data, problem

    def names(self, directory: str) -> list[str]:
        """The entries of a directory of the tree ("" = the root; none when not a tree)."""
        if self.tree is None:
            return []
        try:
            found = self.tree[directory] if directory else self.tree
        except KeyError:
            return []
        return [entry.name for entry in found] if found.type_str == "tree" else []

    def agent_ids(self) -> Any:
        from git_elite.core.state import agent_ids_of

        return agent_ids_of(self)

    def derived_load(self) -> Any:
        """What this state's INDEX.json derives to (shards.Ranks data) from the cache, keyed
        by the INDEX.json blob id; None when not cached."""
        oid = self._oid(INDEX_PATH)
        return None if oid is None else index_cache_load(self.repo, oid, "ranks")

    def derived_save(self, value: Any) -> None:
        oid = self._oid(INDEX_PATH)
        if oid is not None:
            index_cache_save(self.repo, oid, value, "ranks")

    def index_value(self) -> Any:
        """INDEX.json parsed (plain `json.loads`; None when absent or not JSON), through the
        cache of parsed indexes: for a trusted parent state, whose INDEX was verified when
        its commit was accepted."""
        from git_elite.core import cjson

        oid = self._oid(INDEX_PATH)
        if oid is None:
            return None
        value = index_cache_load(self.repo, oid)
        if value is None:
            try:
                value = cjson.loads(self.read(INDEX_PATH) or b"")
            except ValueError:
                return None
            index_cache_save(self.repo, oid, value)
        return value

    def remember_index(self, value: Any) -> None:
        """Record that this state's INDEX.json parses to `value` (the engine found it equal
        to the rebuild), so the next push or commit on top of it need not parse it."""
        oid = self._oid(INDEX_PATH)
        if oid is not None:
            index_cache_save(self.repo, oid, value)

    def blob_id(self, path: str) -> str | None:
        """The id of the regular file at `path` (None: absent, or not a regular file),
        without reading the blob."""
        return self._oid(path)

    def tree_id(self, path: str) -> str | None:
        """The mode and id of the entry at `path`, whatever it is (a tree, a blob, a
        symlink); None when absent (the verified-tree memory's keys: audit.piece_key)."""
        from git_elite.edges import gittree

        entry = gittree.entry_at(self.tree, path) if self.tree is not None else None
        return None if entry is None else f"{entry.filemode:o} {entry.id}"

    def changed_names(self, directory: str, old_tree: str) -> list[str] | None:
        """The names right under `directory` whose entries differ from those of the tree
        `old_tree` (id or mode), or that only one side has: one level, one tree object read
        on each side (the verified-tree memory's per-agent reuse, core/audit.py). None when
        `old_tree` is not in the object store or either side is not a tree."""
        from git_elite.edges import gittree

        entry = gittree.entry_at(self.tree, directory) if self.tree is not None else None
        if entry is None or entry.filemode != gittree.TREE:
            return None
        try:
            old = self.repo.get(old_tree)
            new = self.repo[entry.id]
        except (KeyError, ValueError):
            return None
        if old is None or old.type_str != "tree" or new.type_str != "tree":
            return None
        return gittree.differing_names(old, new)

    def has_object(self, oid: str) -> bool:
        """Whether object `oid` is in the object store (not read: an index lookup;
        `oid in repo` would inflate it, a deep delta chain for a big shard)."""
        if hasattr(self.repo, "commit_tree"):  # catfile.CatRepo: git's `info`, a header
            try:
                self.repo.odb.read_header(oid)
            except KeyError:
                return False
            return True
        try:
            return bool(self.repo.odb.exists(_pygit2().Oid(hex=oid)))
        except (KeyError, ValueError):
            return False

    def blob_by_id(self, path: str, oid: str) -> bytes | None:
        """Blob `oid` read as the file at `path` would be (the same mode, depth and size
        checks before inflating); None when it is not in the object store or is refused."""
        from git_elite.edges import gittree

        try:
            item = (path, oid if hasattr(self.repo, "commit_tree") else  # (CatRepo)
                    _pygit2().Oid(hex=oid), gittree.REGULAR)
            # through the cat-file stream when there is one: git's delta base cache makes
            # a packed shard deep in a delta chain ~10x cheaper than libgit2's read
            [(data, problem)] = self.blobs.read_all([item], self.stream) \
                if self.stream is not None else [self.blobs.read(*item)]
        except (KeyError, ValueError):
            return None
        return None if problem is not None else data

    def _oid(self, path: str) -> str | None:
        from git_elite.edges import gittree

        entry = gittree.entry_at(self.tree, path) if self.tree is not None else None
        return str(entry.id) if entry is not None and entry.filemode == gittree.REGULAR \
            else None

    def files(self) -> dict[str, bytes]:
        """Every readable blob of the tree (a full audit reads everything; refused entries
        are kept in `refusals`)."""
        return self.subtree("")

    def subtree(self, directory: str) -> dict[str, bytes]:
        """Every readable blob under `directory` ("" = the whole tree), by path, listed by
        the checked tree reading (`diff_trees`: no recursion, modes, sizes from headers);
        an entry refused unread is kept in `refusals` (path -> Problem) instead."""
        from git_elite.edges import gittree

        if self.tree is None:
            return {}
        tree, prefix = self.tree, ""
        if directory:
            sub = gittree.entry_at(self.tree, directory)
            if sub is None or sub.filemode != gittree.TREE:
                return {}
            tree, prefix = self.repo[sub.id], directory + "/"
        changes = diff_trees(self.repo, None, tree, prefix=prefix, root=self.tree,
                             stream=self.stream)
        out: dict[str, bytes] = {}
        for change in changes:
            if change.refused is not None:
                self.refusals[change.path] = change.refused
            elif change.new is not None:
                out[change.path] = change.new
        return out

    def take_refusals(self) -> list[tuple[str, Problem]]:
        """The entries refused unread since the last call (path, problem), once each."""
        found, self.refusals = sorted(self.refusals.items()), {}
        return found


# the cache of parsed INDEX.json values ($GIT_DIR/elite-cache/index-<blob id>) --------------
# Content-addressed: a file holds the blob id it was made from and `marshal` of what that blob
# parses to. It is read only when the id matches, anything unreadable is ignored (and
# rewritten), and it is never trusted for more than "this blob parses to this value".
INDEX_PATH = "INDEX.json"
INDEX_CACHE_KEEP = 4


def _index_cache_file(repo: Any, oid: str, kind: str = "index") -> str:
    return os.path.join(repo.path, "elite-cache", f"{kind}-{oid}")


def index_cache_load(repo: Any, oid: str, kind: str = "index") -> dict[str, Any] | None:
    """The value cached for INDEX.json blob `oid`: `index` = what a format-1 INDEX.json
    parses to, `ranks` = the rankings data a format-2 head derives from (shards.Ranks)."""
    import marshal

    try:
        with open(_index_cache_file(repo, oid, kind), "rb") as handle:
            data = handle.read()
        if not data.startswith(oid.encode() + b"\n"):
            return None
        value = marshal.loads(memoryview(data)[len(oid) + 1:])  # (no copy of the file)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def index_cache_save(repo: Any, oid: str, value: Any, kind: str = "index") -> None:
    """Best effort (a read-only repository simply gets no cache); keeps the newest few."""
    import marshal

    from git_elite.edges import store

    if not isinstance(value, dict):
        return
    target = _index_cache_file(repo, oid, kind)
    try:
        folder = os.path.dirname(target)
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass
        store.atomic_write(target, oid.encode() + b"\n" + marshal.dumps(value),
                           durable=False)  # a cache: rebuilt when lost
        with os.scandir(folder) as entries:  # (as a glob of `{kind}-*`: no hidden file)
            older = sorted((e for e in entries if e.name.startswith(f"{kind}-")),
                           key=lambda e: e.stat().st_mtime)
        for stale in older[:-INDEX_CACHE_KEEP]:
            try:
                os.unlink(stale.path)
            except FileNotFoundError:
                pass
    except (OSError, ValueError, EliteError):
        pass


class IndexState:
    """The state a git index (the staging area) would commit."""

    def __init__(self, repo: Any, index: Any):
        self.repo = repo
        self.index = index
        self._blobs: Any = None

    def read(self, path: str) -> bytes | None:
        """The staged blob at `path`; None when absent or refused (mode, size) unread."""
        from git_elite.edges import gittree

        try:
            entry = self.index[path]
        except KeyError:
            return None
        if self._blobs is None:
            self._blobs = gittree.Blobs(self.repo, gittree.index_entries(self.index))
        data: bytes | None = self._blobs.read(path, entry.id, entry.mode)[0]
        return data

    def same(self, path: str, data: bytes) -> bool:
        """Whether the staged blob at `path` holds exactly `data` (compared by object id,
        without reading the blob: INDEX.json is 8 MB at 10,000 agents)."""
        try:
            entry = self.index[path]
        except KeyError:
            return False
        return str(entry.id) == blob_id(data)

    def names(self, directory: str) -> list[str]:
        from git_elite.core.state import names_in

        prefix = directory.rstrip("/") + "/"
        return names_in((e.path for e in self.index if e.path.startswith(prefix)), directory)

    def subtree(self, directory: str) -> dict[str, bytes]:
        prefix = directory + "/" if directory else ""
        return {e.path: self.repo[e.id].data for e in self.index if e.path.startswith(prefix)}

    def agent_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for entry in self.index:
            agent_id = _agent_id_in(entry.path)
            if agent_id is not None:
                seen[agent_id] = None
        return list(seen)


def _agent_id_in(path: str) -> str | None:
    from git_elite.core.layout import agent_id_in

    return agent_id_in(path)


def blob_id(data: bytes) -> str:
    """The object id git gives a blob of `data` (without writing it)."""
    from git_elite.core.state import blob_id as of

    return of(data)


def commit_tree(repo: Any, rev: str | None) -> Any | None:
    """The tree of `rev` (None: no commit yet)."""
    if rev is None or rev == ZERO:
        return None
    if hasattr(repo, "commit_tree"):  # catfile.CatRepo: no libgit2
        try:
            return repo.commit_tree(rev)
        except KeyError:
            raise RegistryError(f"unknown revision {rev}") from None
    try:
        return repo.revparse_single(rev).peel(_pygit2().Commit).tree
    except (KeyError, ValueError, _pygit2().GitError):
        raise RegistryError(f"unknown revision {rev}") from None


def _pygit2() -> Any:
    import pygit2

    return pygit2


def state_at(repo: Any, rev: str | None) -> TreeState:
    return TreeState(repo, commit_tree(repo, rev))


def parent_of(repo: Any, commit_id: str) -> str | None:
    """The first parent of a commit (None for a root commit)."""
    commit = repo[commit_id]
    return str(commit.parent_ids[0]) if commit.parent_ids else None


def parent_ids(repo: Any, commit_id: str) -> list[str]:
    """Every parent of a commit, first parent first (empty for a root commit)."""
    return [str(p) for p in repo[commit_id].parent_ids]


def diff_trees(repo: Any, old: Any | None, new: Any | None, prefix: str = "",
               root: Any | None = None, stream: Any | None = None) -> list[Any]:
    """The (path, old bytes, new bytes) changes between two trees, by gittree's walk, which
    descends only into subtrees whose ids differ (iterative: no recursion however deep the
    trees; one changed agent reads the few trees on its path, whatever the registry's size).
    Blobs are checked before they are inflated (gittree: modes, sizes from object headers);
    a refused one comes back as a Change with `refused` set and no bytes. `old` None: every
    entry of `new`, added. `prefix`: the trees are the directory `prefix` (ending in "/") of
    the registry tree `root` (whose agents size the index limits). `stream` (with `old`
    None: catfile.Stream) reads the bytes of the listed blobs in batches, after the same
    checks."""
    from git_elite.edges import gittree

    before = gittree.Blobs(repo, gittree.tree_entries(old if root is None else None))
    after = gittree.Blobs(repo, gittree.tree_entries(new if root is None else root),
                          share=True)
    if stream is not None and old is None:
        items = list(gittree.changed_entries(repo, None, new, prefix))
        blobs = [i for i in items if i.new is not None and i.problem is None]
        read = dict(zip((i.path for i in blobs), after.read_all(
            [(i.path, i.new.oid, i.new.mode) for i in blobs if i.new is not None], stream),
            strict=True))
        return _by_path([_change(i.path, (None, None), (None, i.problem) if i.problem else
                                 read.get(i.path, (None, None))) for i in items])
    changes = []
    for item in gittree.changed_entries(repo, old, new, prefix):
        a, b = item.old, item.new
        was = (None, None) if a is None else (b"", None) if _old_unread(item.path) or \
            item.problem is not None else before.read(item.path, a.oid, a.mode)
        now = (None, None) if b is None else (None, item.problem) if item.problem else \
            after.read(item.path, b.oid, b.mode)
        changes.append(_change(item.path, was, now))
    return _by_path(changes)


def _old_unread(path: str) -> bool:
    """The index files, whose old bytes no rule looks at (a Change then holds b"" for them:
    present, not read): the engine reads the parent's head through its state (from the
    cache of parsed indexes), and the parent's shard only when the pushed one with the
    touched agents put back does not hash to the parent head's digest (indexcheck). A
    parent's shard of a large registry may sit at the end of a long delta chain."""
    return path == INDEX_PATH or (path.startswith("index/") and path.count("/") == 1)


def files_under(repo: Any, tree: Any, top: str) -> list[Any]:
    """Every entry under the directory `top` of `tree`, as additions (refused ones with
    their problem): what a reader lists without reading the rest of the registry."""
    from git_elite.edges import gittree

    sub = gittree.entry_at(tree, top)
    if sub is None or sub.filemode != gittree.TREE:
        return []
    return diff_trees(repo, None, repo[sub.id], prefix=f"{top}/", root=tree)


def _by_path(changes: list[Any]) -> list[Any]:
    """Sorted by path, with libgit2's split of a type change (a deletion and an addition of
    one path: a file turned into a symlink or gitlink) joined into one Change."""
    out: list[Any] = []
    for change in sorted(changes, key=_present):
        if out and out[-1].path == change.path:
            out[-1] = change._replace(old=out[-1].old)
        else:
            out.append(change)
    return out


def _present(change: Any) -> tuple[str, bool]:
    return change.path, change.new is not None or change.refused is not None


def _change(path: str, was: tuple[bytes | None, Any], now: tuple[bytes | None, Any]) -> Any:
    """A Change from two Blobs.read results: an old side refused reads as b"" (present,
    unreadable); a new side refused carries its problem."""
    from git_elite.core.state import Change

    old = b"" if was[1] is not None else was[0]
    return Change(path, old, now[0], now[1])


def index_changes(repo: Any, index: Any, head: Any | None) -> list[Any]:
    """The changes an index holds against HEAD's tree (checked as `diff_trees`)."""
    from git_elite.edges import gittree

    before = gittree.Blobs(repo, gittree.tree_entries(head))
    after = gittree.Blobs(repo, gittree.index_entries(index), share=True)
    if head is None:
        return _by_path([_change(e.path, (None, None), after.read(e.path, e.id, e.mode))
                         for e in index])
    changes = []
    for delta in index.diff_to_tree(head).deltas:
        status, a, b = delta.status_char(), delta.old_file, delta.new_file  # tree -> index
        was = (None, None) if status == "A" else before.read(a.path, a.id, a.mode)
        now = (None, None) if status == "D" else after.read(b.path, b.id, b.mode)
        changes.append(_change(b.path if status != "D" else a.path, was, now))
    return _by_path(changes)


def staged_changes(repo: Any, parent: TreeState) -> tuple[list[Any], Any]:
    """(changes, new state) of what the index git is using (GIT_INDEX_FILE for a hook) would
    commit on top of `parent`, HEAD's tree: the entries `git diff-index --cached` lists (git
    reads its index in C; libgit2 would load every entry into Python objects and diff every
    file, ~1 s at 100,000 agents), checked as `diff_trees`; the new state is HEAD's tree with
    those changes over it, so nothing else of the index is read."""
    from git_elite.core.state import Change
    from git_elite.edges import gittree

    items = staged_entries(None)
    shape = StagedState(parent, [Change(i.path, None, None if i.new is None else b"")
                                 for i in items])
    before = gittree.Blobs(repo, gittree.tree_entries(parent.tree))
    after = gittree.Blobs(repo, lambda path: len(shape.names(path)), share=True)
    changes = []
    for item in items:
        a, b = item.old, item.new
        was = (None, None) if a is None else (b"", None) if _old_unread(item.path) else \
            before.read(item.path, a.oid, a.mode)
        now = (None, None) if b is None else after.read(item.path, b.oid, b.mode)
        changes.append(_change(item.path, was, now))
    changes = _by_path(changes)
    return changes, StagedState(parent, changes)


# what `staged_entries` asks git (a hook may `start` it ahead)
STAGED_ARGS = ("diff-index", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames", "HEAD",
               "--")


def staged_entries(cwd: str | Path | None) -> list[Any]:
    """The index entries that differ from HEAD's (gittree.Changed: path, old and new id and
    mode), from `git diff-index --cached --raw -z` (no renames: a move is a deletion and an
    addition, as the engine wants it)."""
    from git_elite.edges import gittree

    out = run(STAGED_ARGS, cwd).stdout.split(b"\0")
    items = []
    for meta, raw in zip(out[:-1:2], out[1::2], strict=True):
        mode_a, mode_b, oid_a, oid_b, status = meta.decode().lstrip(":").split(" ")
        path = raw.decode("utf-8", "surrogateescape")
        items.append(gittree.Changed(
            path, None if status == "A" else gittree.Entry(oid_a, int(mode_a, 8)),
            None if status == "D" else gittree.Entry(oid_b, int(mode_b, 8))))
    return items


class StagedState:
    """HEAD's tree with the staged changes over it: what the commit being made will hold
    (engine's State; `same` as IndexState's)."""

    def __init__(self, base: TreeState, changes: list[Any]):
        from git_elite.core.state import Overlay

        self.overlay = Overlay(base, changes)

    def read(self, path: str) -> bytes | None:
        return self.overlay.read(path)

    def same(self, path: str, data: bytes) -> bool:
        return self.overlay.read(path) == data

    def names(self, directory: str) -> list[str]:
        return self.overlay.names(directory)

    def subtree(self, directory: str) -> dict[str, bytes]:
        return self.overlay.subtree(directory)

    def agent_ids(self) -> Any:
        return self.overlay.agent_ids()


POST_COMMIT_MARK = "post-commit"  # $GIT_DIR/elite-cache/post-commit (hooks/post-commit)


def index_becomes_real() -> bool:
    """Whether the index git gave a commit hook (GIT_INDEX_FILE) is, or becomes, the real
    index: a plain `git commit` or a merge (`$GIT_DIR/index`), `commit -a`/`-i`/`--amend`
    (`index.lock`, renamed onto it). Not `git commit <paths>`: a temporary
    `next-index-*.lock` that is dropped after the commit."""
    name = os.environ.get("GIT_INDEX_FILE")
    return not name or os.path.basename(name) in ("index", "index.lock")


def post_commit_mark(git_dir: str | Path, wanted: bool) -> None:
    """Leave (or clear) the mark that makes the post-commit shim run `git-elite hook
    post-commit` (best effort: without it post-commit does nothing)."""
    folder = os.path.join(git_dir, "elite-cache")
    target = os.path.join(folder, POST_COMMIT_MARK)
    try:
        if wanted:
            try:
                os.mkdir(folder)
            except FileExistsError:
                pass
            with open(target, "wb"):
                pass
        else:
            try:
                os.unlink(target)
            except FileNotFoundError:
                pass
    except OSError:
        pass


def post_commit_take(cwd: str | Path | None) -> bool:
    """post-commit: whether pre-commit left the mark (taken: it is used once)."""
    git_dir = run(["rev-parse", "--absolute-git-dir"], cwd).stdout.decode().strip()
    target = os.path.join(git_dir, "elite-cache", POST_COMMIT_MARK)
    try:
        os.unlink(target)
    except OSError:
        return False
    return True


def staged_ids(cwd: str | Path | None, paths: Sequence[str]) -> dict[str, str]:
    """The blob id staged at each of `paths` that the index holds (`git ls-files -s`: only
    those entries, not the whole index in Python)."""
    if not paths:
        return {}
    out = run(["ls-files", "-s", "-z", "--", *paths], cwd,
              env={"GIT_LITERAL_PATHSPECS": "1"}).stdout.split(b"\0")
    found = {}
    for line in out:
        if b"\t" in line:
            meta, path = line.split(b"\t", 1)
            found[path.decode("utf-8", "surrogateescape")] = meta.split(b" ")[1].decode()
    return found


def new_commits(cwd: str | Path | None, old: str, new: str) -> list[str]:
    """Commits a ref update brings, oldest first (for a new ref: those not on any ref)."""
    walked = _WALKS.get((old, new)) if cwd is None and _SNAPSHOT else None
    if walked is not None:  # `--reverse` is the same list backwards
        return [line.split(" ", 1)[0] for line in reversed(walked)]
    args = ["rev-list", "--reverse", "--topo-order", new]
    args += ["--not", "--all"] if old == ZERO else [f"^{old}"]
    return run(args, cwd).stdout.decode().split()


MAX_COMMITS_PER_PUSH = 1000  # `git config elite.maxCommitsPerPush` unset (gitcheck's bound)


def walk_args(old: str, new: str, most: int) -> tuple[str, ...]:
    """`count_new_commits`'s walk of `new ^old` in a hook (a hook may `start` it)."""
    return ("rev-list", "--topo-order", "--parents", f"--max-count={most + 1}", new, f"^{old}")


def count_new_commits(cwd: str | Path | None, old: str, new: str,
                      most: int | None = None) -> int:
    """How many commits `new_commits` would list, without listing them. In a hook process
    (the snapshot held, an update of an existing ref) with a bound `most`: one
    `git rev-list --topo-order --parents` of at most `most` + 1 commits instead, kept for
    `is_ancestor` and `new_commits` of the same update (one git process instead of three,
    SPEC §12's start-up); over the bound, the exact count as before."""
    if most is not None and cwd is None and _SNAPSHOT and ZERO not in (old, new):
        lines = run(walk_args(old, new, most), None).stdout.decode().splitlines()
        if len(lines) <= most:  # the whole walk
            _WALKS[(old, new)] = lines
            return len(lines)
    args = ["rev-list", "--count", new, "--not", "--all"] if old == ZERO else \
        ["rev-list", "--count", new, f"^{old}"]
    return int(run(args, cwd).stdout.decode().strip() or 0)


def first_parent_history(cwd: str | Path | None, rev: str) -> list[str]:
    return run(["rev-list", "--reverse", "--first-parent", rev], cwd).stdout.decode().split()


def is_ancestor(cwd: str | Path | None, old: str, new: str) -> bool:
    walked = _WALKS.get((old, new)) if cwd is None and _SNAPSHOT else None
    if walked is not None:
        # every commit of `new ^old` with its parents: old is reachable from new exactly
        # when it is new itself or the parent of one of them (the commit next to it on a
        # path from new is reachable from new and not from old)
        return old == new or any(old in line.split(" ")[1:] for line in walked)
    return run(["merge-base", "--is-ancestor", old, new], cwd, check=False).returncode == 0


_SNAPSHOT: dict[str, str | None] = {}  # a hook process's config and HEAD, read once
# a hook process's `rev-list --parents` walks of `new ^old` (count_new_commits), newest first
_WALKS: dict[tuple[str, str], list[str]] = {}


SNAPSHOT_ARGS = ("config", "--list", "-z")  # what `snapshot` asks git (a hook may `start` it)


def snapshot() -> None:
    """For a one-shot hook process: read the whole `git config` (and HEAD's branch) once,
    so that `config_get` and `head_branch` in the current directory answer without a `git`
    process per key (five of them cost ~40 ms a push)."""
    out = run(SNAPSHOT_ARGS, None, check=False).stdout
    values: dict[str, str | None] = {}
    for item in out.split(b"\0"):
        if item:
            key, _, value = item.decode(errors="replace").partition("\n")
            values[_config_key(key)] = value  # the last one wins, as with `git config --get`
    values[" HEAD"] = _head_branch(None)
    _SNAPSHOT.clear()
    _WALKS.clear()
    _SNAPSHOT.update(values)
    _SNAPSHOT[" ready"] = "1"


def snapshot_clear() -> None:
    _SNAPSHOT.clear()
    _WALKS.clear()


def _config_key(key: str) -> str:
    """Section and name are case-insensitive, a subsection is not (git-config(1))."""
    parts = key.split(".")
    return ".".join([parts[0].lower(), *parts[1:-1], parts[-1].lower()])


CLOCK_SKEW_KEY = "elite.maxClockSkew"  # gitcheck.max_clock_skew (a hook may `start` it)


def config_get(key: str, cwd: str | Path | None = None) -> str | None:
    """`git config KEY` as git itself reads it (libgit2 ignores `git -c`)."""
    if cwd is None and _SNAPSHOT:
        return _SNAPSHOT.get(_config_key(key))
    proc = run(["config", "--get", key], cwd, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def config_set(key: str, value: str, cwd: str | Path | None = None) -> None:
    _SNAPSHOT.clear()
    run(["config", key, value], cwd)


def head_branch(cwd: str | Path | None = None) -> str | None:
    if cwd is None and _SNAPSHOT:
        return _SNAPSHOT[" HEAD"]
    return _head_branch(cwd)


def _head_branch(cwd: str | Path | None) -> str | None:
    git_dir = os.environ.get("GIT_DIR") if cwd is None else None
    if git_dir:  # a hook (pre-receive: a bare repository's HEAD file, as git reads it)
        try:
            with open(os.path.join(git_dir, "HEAD"), encoding="utf-8",
                      errors="replace") as handle:
                text = handle.read()
        except OSError:
            text = ""
        if text.startswith("ref: refs/") and text.count("\n") <= 1:
            return text[len("ref: "):].strip()
    proc = run(["symbolic-ref", "-q", "HEAD"], cwd, check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def stage_blob(cwd: str | Path | None, path: str, data: bytes,
               env: Mapping[str, str] | None = None) -> None:
    """Write `data` as a blob and stage it at `path` in the index git is using
    (GIT_INDEX_FILE when git set one for a hook)."""
    oid = run(["hash-object", "-w", "--stdin"], cwd, input=data, env=env).stdout.decode().strip()
    run(["update-index", "--add", "--cacheinfo", f"100644,{oid},{path}"], cwd, env=env)


PIPE_SAFE = 16384  # bytes written to a pipe before its reader starts (Linux holds 64 KiB)


# `git update-index --index-info` begun ahead by a commit hook (stage_begin), by the real
# path of its work tree, with the write end of its stdin: git starts and reads the index
# (10 ms of a 4 MB one) while the check runs; stage_files then gives it its lines, or
# stage_end gives it none (docs/scale.md, "The hooks, round 5")
_STAGING: dict[str, tuple[Any, int]] = {}  # (spawn.Child or subprocess.Popen, fd)


def stage_begin(cwd: str | None = None) -> None:
    """Begin the `git update-index --index-info` a later stage_files in `cwd` takes. It
    holds the index's lock from now on (as `git commit` holds its own during the hook);
    whatever happens, stage_end must follow (hookrun: in a `finally`)."""
    where = os.path.realpath(cwd or ".")
    if where in _STAGING:
        return
    read_end, write_end = os.pipe()
    try:
        proc = _child(["git", "update-index", "--index-info"], cwd, read_end)
    except FileNotFoundError:  # no git: stage_files says it
        os.close(write_end)
        return
    finally:
        os.close(read_end)
    _STAGING[where] = (proc, write_end)


def stage_end() -> None:
    """End a begun update-index no stage_files took: its stdin closed with no line, it
    changes nothing and removes its lock; waited for, never killed (a killed one would
    leave the lock behind and fail the commit's own index write)."""
    while _STAGING:
        _, (proc, write_end) = _STAGING.popitem()
        try:
            os.close(write_end)
        except OSError:
            pass
        proc.communicate()


def _write_all(fd: int, data: bytes) -> None:
    """All of `data` to a pipe (its reader is running), then the pipe closed; a reader
    gone early (its stderr says why) is not an error here."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)


def stage_files(repo: Any, files: Mapping[str, bytes | None],
                meanwhile: Callable[[], None] | None = None) -> None:
    """Write each file as a blob and stage it (None: remove it from the index), in one
    `git update-index --index-info` on the index git is using (GIT_INDEX_FILE for a hook);
    `meanwhile` (the hook's work-tree copies) runs while git updates the index. The blobs
    are written first: the index never names an object that is not there."""
    written = sorted(p for p, d in files.items() if d is not None)
    many = getattr(repo, "create_blobs", None)  # catfile.CatRepo: one `git hash-object`
    ids = many([files[p] for p in written]) if many else \
        [str(repo.create_blob(files[p])) for p in written]
    oid = dict(zip(written, ids, strict=True))
    lines = []
    for path, data in sorted(files.items()):
        if data is None:
            lines.append(f"0 {ZERO}\t{path}\n")
        else:
            lines.append(f"100644 {oid[path]}\t{path}\n")
    data = "".join(lines).encode()
    begun = _STAGING.pop(os.path.realpath(repo.workdir or "."), None) if _STAGING else None
    if begun is not None:  # started by stage_begin: it has read the index meanwhile
        staging, write_end = begun
        _write_all(write_end, data)
        _staged(staging, meanwhile)
        return
    stage_end()  # one begun elsewhere would hold the lock this one needs
    if meanwhile is None or len(data) > PIPE_SAFE:
        run(["update-index", "--index-info"], repo.workdir, input=data)
        if meanwhile is not None:
            meanwhile()
        return
    read_end, write_end = os.pipe()  # the lines wait in the pipe: git reads them when ready
    try:
        try:
            os.write(write_end, data)
        finally:
            os.close(write_end)
        staging = _child(["git", "update-index", "--index-info"], repo.workdir, read_end)
    except FileNotFoundError:
        raise RegistryError("git is not installed or not on PATH") from None
    finally:
        os.close(read_end)
    _staged(staging, meanwhile)


def _staged(staging: Any, meanwhile: Callable[[], None] | None) -> None:
    """`meanwhile` while `git update-index` works; then its exit, a RegistryError with
    git's last line when it failed."""
    try:
        if meanwhile is not None:
            meanwhile()
    finally:
        _, err = staging.communicate()
    if staging.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()
        raise RegistryError(f"git update-index failed: "
                            f"{detail[-1] if detail else staging.returncode}")


def index_files_changed(repo: Any) -> dict[str, bytes | None]:
    """The index files (INDEX.json, index/*) HEAD's commit changed against its first
    parent: path -> bytes at HEAD (None: removed)."""
    commit = repo.head.peel(_pygit2().Commit)
    tree = commit.tree
    base = commit.parents[0].tree if commit.parents else None
    paths: set[str] = set()
    if base is None:
        paths = {INDEX_PATH} | set(TreeState(repo, tree).subtree("index"))
    else:
        from git_elite.edges import gittree

        paths = {item.path for item in gittree.changed_entries(repo, base, tree)
                 if item.path == INDEX_PATH or item.path.startswith("index/")}
    state = TreeState(repo, tree)
    return {path: state.read(path) for path in sorted(paths)}


def build_commit(repo: Any, parent: str | None, files: Mapping[str, bytes | None],
                 message: str) -> str:
    """A commit made in memory: the parent's tree with `files` written (None = removed).
    No work tree, no ref update; returns the new commit id."""
    pygit2 = _pygit2()
    base = commit_tree(repo, parent)
    tree_id = _write_tree(repo, base, _nest(files))
    try:
        sig = repo.default_signature
    except (KeyError, pygit2.GitError):
        sig = pygit2.Signature("git elite", "git-elite@localhost")
    parents = [repo.revparse_single(parent).peel(pygit2.Commit).id] if parent else []
    return str(repo.create_commit(None, sig, sig, message, tree_id, parents))


def _nest(files: Mapping[str, bytes | None]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path, data in files.items():
        node = root
        *dirs, name = path.split("/")
        for part in dirs:
            node = node.setdefault(part, {})
        node[name] = data
    return root


def _write_tree(repo: Any, base: Any | None, changes: dict[str, Any]) -> Any:
    pygit2 = _pygit2()
    builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    for name, change in changes.items():
        if isinstance(change, dict):
            sub = None
            if base is not None and name in base and base[name].type_str == "tree":
                sub = base[name]
            tree_id = _write_tree(repo, sub, change)
            if len(repo[tree_id]):
                builder.insert(name, tree_id, pygit2.enums.FileMode.TREE)
            elif builder.get(name) is not None:
                builder.remove(name)
        elif change is None:
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            builder.insert(name, repo.create_blob(change), _BLOB_MODE)
    return builder.write()


# pushing (publish) ---------------------------------------------------------------------------
PUSHED, STALE, REJECTED, UNREACHABLE = "ok", "stale", "rejected", "unreachable"
_STALE_WORDS = ("fetch first", "non-fast-forward", "stale info", "failed to update ref",
                "cannot lock ref", "incorrect old value", "but expected")


class PushResult(NamedTuple):
    """How a push went: PUSHED, STALE (the branch moved: fetch and rebuild), REJECTED (the
    server refused it) or UNREACHABLE; `lines` are git's and the server's own words."""

    status: str
    lines: list[str]


def push(cwd: str | Path, url: str, refspec: str) -> PushResult:
    """`git push --porcelain URL REFSPEC` from the repo at `cwd`, classified."""
    proc = run(["push", "--porcelain", "--", url, refspec], cwd, check=False,
               env={"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"})
    err = proc.stderr.decode(errors="replace").splitlines()
    remote = [line.removeprefix("remote: ").rstrip() for line in err
              if line.startswith("remote: ") and line[8:].strip()]
    rows = [line.split("\t") for line in proc.stdout.decode(errors="replace").splitlines()
            if line[:1] in "!*+ -=" and line.count("\t") >= 2]
    if proc.returncode == 0 and rows and all(row[0] != "!" for row in rows):
        return PushResult(PUSHED, remote)
    refused = [row[2] for row in rows if row[0] == "!"]
    if not refused:
        fatal = [line for line in err if not line.startswith("remote: ")]
        return PushResult(UNREACHABLE, remote + telling(fatal) or [f"git push exit "
                                                                 f"{proc.returncode}"])
    if any(word in why for why in refused for word in _STALE_WORDS):
        return PushResult(STALE, remote + refused)
    return PushResult(REJECTED, remote + refused)


def telling(lines: list[str]) -> list[str]:
    """The line of git's stderr that says what went wrong: its last `fatal:` or `error:`
    line, else its last line. (A lock git finds taken is reported as "fatal: Unable to
    create '<path>.lock': File exists." and five lines of advice ending "remove the file
    manually to continue.": the first names the file, the last does not.)"""
    said = [line for line in lines if line.startswith(("fatal: ", "error: "))]
    return said[-1:] or lines[-1:]


def set_ref(cwd: str | Path, ref: str, oid: str) -> None:
    run(["update-ref", ref, oid], cwd)


def set_refs(cwd: str | Path, refs: Mapping[str, str]) -> None:
    """Several refs moved in one `git update-ref --stdin` (one process, all or none)."""
    run(["update-ref", "--stdin"], cwd,
        input="".join(f"update {ref} {oid}\n" for ref, oid in refs.items()).encode())


def toplevel(cwd: str | Path) -> Path | None:
    """The work tree root of the repo `cwd` is in (None outside one, or in a bare repo)."""
    proc = run(["rev-parse", "--show-toplevel"], cwd, check=False)
    text = proc.stdout.decode().strip()
    if proc.returncode != 0 or not text:
        return None  # (a bare registry: no pathlib loaded for it)
    from pathlib import Path

    return Path(text)


def remote_urls(path: str | Path, prefer: str | None = None) -> list[str]:
    """Fetch URLs of the remotes of the repo at `path`, remote `prefer` first."""
    proc = run(["config", "--get-regexp", r"^remote\..*\.url$"], cwd=path, check=False)
    pairs = [line.split(" ", 1) for line in proc.stdout.decode().splitlines() if " " in line]
    return preferred_first([(key, url) for key, url in pairs], prefer)


def preferred_first(pairs: list[tuple[str, str]], prefer: str | None) -> list[str]:
    """The URLs of (`remote.<name>.url`, url) pairs in git's order, remote `prefer`'s first."""
    first = [url for key, url in pairs if key == f"remote.{prefer}.url"]
    return first + [url for key, url in pairs if key != f"remote.{prefer}.url"]


# the static site (site.py): tree listings by object id ----------------------------------------
class Blob(NamedTuple):
    """One tree entry of a file: its path, blob id and git mode (0o100644, 0o120000, …)."""

    path: str
    oid: str
    mode: int


def resolve_commit(repo: Any, rev: str) -> str:
    """The commit id `rev` names (RegistryError when it names none)."""
    pygit2 = _pygit2()
    try:
        return str(repo.revparse_single(rev).peel(pygit2.Commit).id)
    except (KeyError, ValueError, pygit2.GitError):
        raise RegistryError(f"unknown revision {rev}") from None


def has_commit(repo: Any, oid: str) -> bool:
    pygit2 = _pygit2()
    try:
        return isinstance(repo[oid].peel(pygit2.Commit), pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return False


def tree_blobs(repo: Any, commit: str, tops: Sequence[str]) -> list[Blob]:
    """Every file entry under the top-level names `tops` (files or folders) at `commit`."""
    tree = repo[commit].peel(_pygit2().Commit).tree
    out: list[Blob] = []
    for top in tops:
        try:
            entry = tree[top]
        except KeyError:
            continue
        _blobs(entry, top, out)
    return out


def _blobs(entry: Any, path: str, out: list[Blob]) -> None:
    if entry.type_str == "tree":
        for child in entry:
            _blobs(child, f"{path}/{child.name}", out)
    elif entry.type_str == "blob":
        out.append(Blob(path, str(entry.id), int(entry.filemode)))


def changed_blobs(repo: Any, old: str, new: str) -> list[tuple[str, Blob | None]]:
    """(path, the new entry or None when the path left) for every file that differs between
    two commits, removals first; gittree's walk skips shared subtrees, so the cost follows
    the change (a directory it refuses to walk, too deep or naming no tree, is left out)."""
    from git_elite.edges import gittree

    pygit2 = _pygit2()
    old_tree = repo[old].peel(pygit2.Commit).tree
    new_tree = repo[new].peel(pygit2.Commit).tree
    out: list[tuple[str, Blob | None]] = []
    for item in gittree.changed_entries(repo, old_tree, new_tree):
        if item.old is not None:
            out.append((item.path, None))
        if item.new is not None and item.problem is None:
            out.append((item.path, Blob(item.path, str(item.new.oid), item.new.mode)))
    return sorted(out, key=lambda pair: (pair[1] is not None, pair[0]))  # removals first


def blob_data(repo: Any, oid: str) -> bytes:
    return bytes(repo[oid].data)


def tree_file_modes(cwd: str | Path, commit: str, tops: Sequence[str]) -> bytes:
    """`git ls-tree -r -z` of `tops` at `commit` as "<mode> <path>\\0" records, in C (a
    million-agent tree lists in seconds; pygit2's walk makes a Python object per entry)."""
    return run(["ls-tree", "-r", "-z", "--format=%(objectmode) %(path)", commit, "--",
                *tops], cwd).stdout


def extract_tree(cwd: str | Path, commit: str, tops: Sequence[str], dest: Path) -> None:
    """Write the files of `tops` at `commit` under `dest` the way `git archive | tar -x`
    does (git and tar write them, not Python): modes 0644/0755, no owner kept."""
    import subprocess

    present = run(["ls-tree", "--name-only", "-z", commit, "--", *tops], cwd).stdout
    tops = [name for name in os.fsdecode(present).split("\0") if name]
    if not tops:
        return
    archive = subprocess.Popen(["git", "-c", "tar.umask=022", "archive", "--format=tar",
                                commit, "--", *tops], cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        untar = subprocess.run(["tar", "-x", "--no-same-owner", "--no-same-permissions",
                                "-C", str(dest)], stdin=archive.stdout, capture_output=True,
                               check=False)
    finally:
        if archive.stdout is not None:
            archive.stdout.close()
        err = archive.stderr.read() if archive.stderr is not None else b""
        archive.wait()
    if archive.returncode != 0 or untar.returncode != 0:
        detail = (err or untar.stderr).decode(errors="replace").strip().splitlines()
        raise RegistryError(f"git archive | tar -x failed: {detail[-1] if detail else '?'}")
