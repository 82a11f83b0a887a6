"""A repository read through one `git cat-file --batch-command` process, for the paths that
read a few objects and must start fast (the pre-commit hook: importing the libgit2 binding
costs more than the whole check). It offers the part of pygit2's Repository that
git.TreeState and gittree read (`repo[oid]`, `odb.read`, `odb.read_header`, trees iterated
and looked up by path, `path`, `workdir`), so the same checks run over it unchanged.

Objects are read as git reads them, alternates and GIT_OBJECT_DIRECTORY included; a missing
object is a KeyError, as with pygit2. One process per CatRepo, ended by `close`.
"""

from __future__ import annotations

import os

from git_elite.core.errors import RegistryError

TYPE_CHECKING = False
if TYPE_CHECKING:  # not at run time: pathlib costs every hook ~4 ms (docs/scale.md)
    import subprocess
    from collections.abc import Iterator
    from pathlib import Path
    from typing import Any

_KINDS = {"commit": 1, "tree": 2, "blob": 3, "tag": 4}
_TREE_MODE = 0o040000
# objects are immutable by id: one process reads each at most once (pre-receive at 1M read
# the pushed 2.9 MB shard four times and each 3,900-entry agents/<ab> tree two or three
# times), up to this many bytes kept; past it, objects are read again as before
CACHE_BYTES = 32 * 1024 * 1024
_HEX = frozenset("0123456789abcdef")


class CatRepo:
    """`path`: the git directory (with a trailing slash, as pygit2's); `workdir`: the work
    tree's top (None when bare)."""

    def __init__(self, git_dir: str, workdir: str | None, cwd: str | Path | None = None):
        self.path = git_dir.rstrip("/") + "/"
        self.workdir = None if workdir is None else workdir.rstrip("/") + "/"
        self.cwd = cwd
        self.odb = _Odb(self, cwd)
        # per tree id, parsed once: name -> (mode, raw id), and the entries made so far
        self._tables: dict[str, dict[str, tuple[int, bytes]]] = {}
        self._made: dict[str, dict[str, Object]] = {}

    def __getitem__(self, oid: Any) -> Object:
        kind, _ = self.odb.read_header(oid)
        return Object(self, str(oid), _TREE_MODE if kind == 2 else 0o100644, "",
                      {1: "commit", 2: "tree", 3: "blob", 4: "tag"}[kind])

    def get(self, oid: str) -> Object | None:
        """`self[oid]`, or None when it is not there (pygit2's `Repository.get`)."""
        try:
            return self[oid]
        except KeyError:
            return None

    def commit_tree(self, rev: str) -> Object:
        """The tree of the commit `rev` names (KeyError: none)."""
        return self[rev].tree

    @property
    def head_is_unborn(self) -> bool:
        return self.odb.resolve("HEAD^{commit}") is None

    def create_blobs(self, datas: list[bytes]) -> list[str]:
        """Write blobs with one `git hash-object -w --stdin-paths` (from temporary files
        under the git directory; no filters: the bytes are the blob); their ids."""
        from git_elite.edges import git

        if not datas:
            return []
        # a private folder made here, not with `tempfile` (its import, with shutil and
        # random, is ~4 ms of a commit hook's start-up)
        tmp = _private_dir(f"{self.path}elite-blobs-{os.getpid()}-")
        names: list[str] = []
        try:
            for i, data in enumerate(datas):
                names.append(os.path.join(tmp, str(i)))
                with open(names[-1], "xb") as out_file:
                    out_file.write(data)
            out = git.run(["hash-object", "-w", "--no-filters", "--stdin-paths"], self.cwd,
                          input="".join(f"{n}\n" for n in names).encode()).stdout
        finally:
            for name in names:
                try:
                    os.unlink(name)
                except OSError:
                    pass
            try:
                os.rmdir(tmp)
            except OSError:
                pass
        ids = out.decode().split()
        if len(ids) != len(datas):
            raise RegistryError("git hash-object did not write every blob")
        return ids

    def close(self) -> None:
        self.odb.close()


def _private_dir(prefix: str) -> str:
    """A new folder `prefix<random>` only this user can read (as tempfile.mkdtemp)."""
    for _ in range(100):
        path = prefix + os.urandom(6).hex()
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        return path
    raise RegistryError(f"cannot make a temporary folder {prefix}*")


class _Odb:
    """The `git cat-file --batch-command` of one process: a forked child (fanout's second
    core) starts its own on first use, never writing to its parent's pipe."""

    def __init__(self, repo: CatRepo, cwd: str | Path | None):
        self.repo = repo
        self.cwd = cwd
        self.headers: dict[str, tuple[int, int]] = {}
        # (tree id, name) -> the id of the directory entry `name` of that tree, as git's own
        # path lookup finds it (`find_dirs`); None: git found none
        self.dirs: dict[tuple[str, str], str | None] = {}
        self._contents: dict[str, tuple[int, bytes]] = {}  # by full object id
        self._cached = 0
        self._start()

    def _start(self) -> None:
        self.proc: Any
        try:
            from git_elite.edges import git

            # no `subprocess` import (docs/scale.md, "hooks, round 6"; elsewhere `git -C`,
            # "discover --offline, round 7")
            if self.cwd is None or git.spawnable(self.cwd):
                from git_elite.edges import spawn

                self.proc = spawn.Child(git.at(self.cwd, ["cat-file", "--batch-command"]),
                                        stdin=spawn.PIPE, stdout=spawn.PIPE,
                                        stderr=spawn.DEVNULL)
            else:
                import subprocess

                self.proc = subprocess.Popen(["git", "cat-file", "--batch-command"],
                                             cwd=self.cwd, stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except FileNotFoundError:
            raise RegistryError("git is not installed or not on PATH") from None
        self.pid = os.getpid()

    def _ask(self, command: str, oid: str) -> tuple[int, int] | None:
        if self.pid != os.getpid():
            self._start()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if "\n" in oid or not oid:
            return None
        try:
            self.proc.stdin.write(f"{command} {oid}\n".encode())
            self.proc.stdin.flush()
            line = self.proc.stdout.readline().decode(errors="replace").split()
        except OSError:  # the process is gone (a broken pipe): git exits on a damaged pack
            line = []
        if len(line) != 3 or line[1] not in _KINDS:
            if not line:
                raise self._died(oid)
            return None  # "<oid> missing" / "ambiguous"
        found = (_KINDS[line[1]], int(line[2]))
        self.headers[oid] = found
        return found

    def resolve(self, rev: str) -> str | None:
        """The object id `rev` names (any revision syntax git takes), or None."""
        if self.pid != os.getpid():
            self._start()
        assert self.proc.stdout is not None
        if "\n" in rev or not rev:
            return None
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(f"info {rev}\n".encode())
            self.proc.stdin.flush()
            line = self.proc.stdout.readline().decode(errors="replace").split()
        except OSError:
            line = []
        if not line:
            raise self._died(rev)
        return line[0] if len(line) == 3 and line[1] in _KINDS else None

    def read_header(self, oid: Any) -> tuple[int, int]:
        key = str(oid)
        found = self.headers.get(key) or self._ask("info", key)
        if found is None:
            raise self._missing(key)
        return found

    def read(self, oid: Any) -> tuple[int, bytes]:
        key = str(oid)
        kept = self._contents.get(key)
        if kept is not None:
            return kept
        assert self.proc.stdout is not None
        found = self._ask("contents", key)
        if found is None:
            raise self._missing(key)
        data = self.proc.stdout.read(found[1] + 1)  # the content, then a newline
        if len(data) != found[1] + 1:
            raise self._died(key)
        got = found[0], data[:-1]
        if self._cached + found[1] <= CACHE_BYTES and is_object_id(key):
            self._contents[key] = got  # a name (HEAD, a ref) may move: never kept
            self._cached += found[1]
        return got

    WARM_BATCH = 256  # commands per write: they always fit in the pipe's buffer

    def warm(self, command: str, oids: list[str]) -> None:
        """Ask git for the `info` (headers) or `contents` (headers and bytes, kept as `read`
        keeps them, within CACHE_BYTES) of many objects in one round trip per batch: every
        command written, then every answer read (no `--buffer`: git answers each as it
        comes; the commands fit in the pipe, so neither side waits on the other). Only a
        cache: `read_header` and `read` give what was found, as git gives it; a missing
        object is left for them to report. Anything unexpected (git gone, an answer out of
        step) ends this process and starts a new one, so the reads that follow see git
        exactly as without the read-ahead."""
        if self.pid != os.getpid():
            return
        store: dict[str, Any] = self._contents if command == "contents" else self.headers
        asked = [oid for oid in dict.fromkeys(oids) if is_object_id(oid) and oid not in store]
        for at in range(0, len(asked), self.WARM_BATCH):
            if not self._warm_batch(command, asked[at:at + self.WARM_BATCH]):
                self._restart()
                return

    def _warm_batch(self, command: str, oids: list[str]) -> bool:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write("".join(f"{command} {oid}\n" for oid in oids).encode())
            self.proc.stdin.flush()
            for oid in oids:
                line = self.proc.stdout.readline().decode(errors="replace").split()
                if len(line) == 2 and line[0] == oid:
                    continue  # "<oid> missing" / "ambiguous": `read` reports it
                if len(line) != 3 or line[0] != oid or line[1] not in _KINDS:
                    return False
                found = (_KINDS[line[1]], int(line[2]))
                if command == "contents":
                    data = self.proc.stdout.read(found[1] + 1)  # the content, a newline
                    if len(data) != found[1] + 1:
                        return False
                    if self._cached + found[1] <= CACHE_BYTES:
                        self._contents[oid] = (found[0], data[:-1])
                        self._cached += found[1]
                self.headers[oid] = found
        except (OSError, ValueError):
            return False
        return True

    def find_dirs(self, asked: list[tuple[str, str]]) -> None:
        """Ask git for the directory entry `name` of each tree (`info <tree>:<name>/`), all
        in one round trip per batch, and keep the answers in `dirs`: git finds the entry in
        C and ships neither the tree (a 3,900-entry `agents/<ab>` at 1M: ~360 KB) nor its
        entries through the pipe. git answers only for an entry whose mode is a directory
        and names it by the first entry of that name in the tree's sorted order;
        `Object.child` takes an answer only when the object is a tree, and parses the tree
        for anything git did not find (docs/discover.md, "Performance"); a tree already
        parsed or read is not asked about (no round trip). Only a cache, as
        `warm`: anything unexpected starts a new process and leaves the rest unasked."""
        if self.pid != os.getpid():
            return
        parsed = getattr(self.repo, "_tables", {})  # a tree at hand is looked up in Python
        todo = [key for key in dict.fromkeys(asked)
                if key not in self.dirs and is_object_id(key[0]) and _plain(key[1])
                and key[0] not in parsed and key[0] not in self._contents]
        for at in range(0, len(todo), self.WARM_BATCH):
            if not self._dirs_batch(todo[at:at + self.WARM_BATCH]):
                self._restart()
                return

    def _dirs_batch(self, keys: list[tuple[str, str]]) -> bool:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write("".join(f"info {tree}:{name}/\n"
                                          for tree, name in keys).encode())
            self.proc.stdin.flush()
            for tree, name in keys:
                line = self.proc.stdout.readline().decode(errors="replace")
                if line == f"{tree}:{name}/ missing\n":
                    self.dirs[tree, name] = None
                    continue
                words = line.split()
                if len(words) != 3 or not is_object_id(words[0]) or words[1] not in _KINDS:
                    return False
                self.headers[words[0]] = (_KINDS[words[1]], int(words[2]))
                self.dirs[tree, name] = words[0] if words[1] == "tree" else None
        except (OSError, ValueError):
            return False
        return True

    def _restart(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        self.close()
        self._start()

    def _missing(self, oid: str) -> Exception:
        """KeyError for an object that is not there (as pygit2's); a RegistryError with git's
        own words when it is there but cannot be read (a damaged clone: cache.Mender then
        clones again), asked once more of a `git cat-file -t` whose stderr is kept."""
        if "\n" in oid or not oid:
            return KeyError(oid)  # not an object name (never sent to the batch process)
        import subprocess

        proc = subprocess.run(["git", "cat-file", "-t", oid], cwd=self.cwd,
                              capture_output=True, check=False)
        said = proc.stderr.decode(errors="replace").strip().splitlines()
        # a missing object (a valid id) is git's last line alone; a damaged one has git's
        # reasons (inflate, unpack...) before it
        absent = len(said) == 1 and "could not get object info" in said[0]
        if proc.returncode != 0 and said and not absent and \
                "not a valid object name" not in said[-1].lower():
            return RegistryError(f"git cat-file failed: {said[0]}")
        return KeyError(oid)

    def _died(self, oid: str) -> RegistryError:
        """The batch process ended (git exits on a damaged pack): git's words about `oid`,
        from a one-shot `git cat-file -p`, for cache.Mender to recognise."""
        import subprocess

        proc = subprocess.run(["git", "cat-file", "-p", oid], cwd=self.cwd,
                              capture_output=True, check=False)
        said = proc.stderr.decode(errors="replace").strip().splitlines()
        return RegistryError(f"git cat-file failed: {said[0]}" if said else
                             "git cat-file ended early: objects cannot be read (damaged pack?)")

    def close(self) -> None:
        if self.pid != os.getpid():
            return  # the parent's process: the parent ends it
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        self.proc.wait()


class Object:
    """A tree entry or object: `id`, `filemode`, `name`, `type_str`; a tree also has its
    entries (iteration, `len`, lookup by a slash-separated path), read on first use."""

    def __init__(self, repo: CatRepo, oid: str, mode: int, name: str, kind: str):
        self.repo, self.id, self.filemode, self.name, self.type_str = \
            repo, oid, mode, name, kind
        self._entries: dict[str, Object] | None = None
        self._kids: dict[str, Object] | None = None  # (a tree named by a short id or a ref)

    @property
    def size(self) -> int:
        return self.repo.odb.read_header(self.id)[1]

    @property
    def data(self) -> bytes:
        return self.repo.odb.read(self.id)[1]

    @property
    def parent_ids(self) -> list[str]:
        return self._commit()[1]

    @property
    def tree(self) -> Object:
        tree = self._commit()[0]
        return Object(self.repo, tree, _TREE_MODE, "", "tree")

    def _commit(self) -> tuple[str, list[str]]:
        """(tree id, parent ids) of a commit object, from its header lines."""
        if self.type_str != "commit":
            raise KeyError(f"{self.id} is not a commit")
        head = self.repo.odb.read(self.id)[1].split(b"\n\n", 1)[0].decode("ascii", "replace")
        tree, parents = "", []
        for line in head.splitlines():
            if line.startswith("tree "):
                tree = line[5:].strip()
            elif line.startswith("parent "):
                parents.append(line[7:].strip())
        return tree, parents

    def table(self) -> dict[str, tuple[int, bytes]]:
        """name -> (mode, 20-byte id) of a tree's entries, parsed once per tree id, with no
        entry object made (a 3,900-entry `agents/<ab>` at 1M: gittree's diff compares two
        tables and makes objects only for the names that differ)."""
        if self.type_str != "tree":
            raise KeyError(self.name)
        found = self.repo._tables.get(self.id)
        if found is None:
            found = _parse_table(self.repo.odb.read(self.id)[1])
            if is_object_id(self.id):
                self.repo._tables[self.id] = found
        return found

    def child(self, name: str) -> Object:
        """The entry `name` of this tree (KeyError: none), made once per tree id: the
        directory git's own lookup found for it (`_Odb.find_dirs`, asked by the read-ahead),
        else the entry of the tree's parsed table."""
        made = self._made()
        found = made.get(name)
        if found is None:
            oid = self.repo.odb.dirs.get((self.id, name)) if self.type_str == "tree" \
                else None
            if oid is not None:
                found = made[name] = Object(self.repo, oid, _TREE_MODE, name, "tree")
            else:
                mode, raw = self.table()[name]
                found = made[name] = _entry(self.repo, name, mode, raw)
        return found

    def _made(self) -> dict[str, Object]:
        """The entries made so far: shared by every object of this tree id."""
        if is_object_id(self.id):
            return self.repo._made.setdefault(self.id, {})
        if self._kids is None:
            self._kids = {}
        return self._kids

    def entries(self) -> dict[str, Object]:
        if self._entries is None:
            made = self._made()
            self._entries = {name: self.child(name) if name not in made else made[name]
                             for name in self.table()}
        return self._entries

    def __iter__(self) -> Iterator[Object]:
        return iter(self.entries().values())

    def __len__(self) -> int:
        return len(self.table())

    def __getitem__(self, path: str) -> Object:
        node = self
        for part in path.split("/"):
            node = node.child(part)  # KeyError: absent, or not a directory
        return node


def is_object_id(name: str) -> bool:
    """A full object id (SHA-1 or SHA-256 hex): content-addressed, safe to remember."""
    return len(name) in (40, 64) and _HEX.issuperset(name)


_PLAIN = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-")


def _plain(name: str) -> bool:
    """A name git's `<tree>:<name>/` takes as itself: no path syntax (`.`, `..`, a slash),
    nothing that ends or splits a batch command."""
    return bool(name) and name not in (".", "..") and _PLAIN.issuperset(name)


def _parse_table(data: bytes) -> dict[str, tuple[int, bytes]]:
    """The entries of a raw tree object: `<octal mode> <name>\\0<20-byte id>` each (a name
    given twice keeps its first place and its last entry, as a dict of the entries did)."""
    out: dict[str, tuple[int, bytes]] = {}
    at, end = 0, len(data)
    while at < end:
        space = data.index(b" ", at)
        nul = data.index(b"\0", space)
        out[data[space + 1:nul].decode("utf-8", "surrogateescape")] = \
            (int(data[at:space], 8), data[nul + 1:nul + 21])
        at = nul + 21
    return out


def _entry(repo: CatRepo, name: str, mode: int, raw: bytes) -> Object:
    kind = "tree" if mode == _TREE_MODE else "commit" if mode == 0o160000 else "blob"
    return Object(repo, raw.hex(), mode, name, kind)


def open_repo(path: str | Path) -> CatRepo:
    """A repository by path: a git directory (a bare clone) or a work tree's top. (By
    os.path, not pathlib: a second verify loads no pathlib, docs/scale.md "second verify,
    round 7".)"""
    where = str(path)
    if os.path.isfile(os.path.join(where, "HEAD")) and \
            os.path.isdir(os.path.join(where, "objects")):
        return open_git_dir(where)
    if os.path.isfile(os.path.join(where, ".git", "HEAD")):
        return CatRepo(os.path.realpath(os.path.join(where, ".git")), os.path.realpath(where),
                       where)
    from git_elite.edges import git

    found = git.run(["rev-parse", "--absolute-git-dir"], where).stdout.decode().strip()
    return CatRepo(found, None, where)


def open_git_dir(git_dir: str | Path) -> CatRepo:
    """A repository by its git directory (a bare one: the server's, in pre-receive, where git
    sets GIT_DIR and, for quarantined objects, GIT_OBJECT_DIRECTORY and the alternates).
    The current directory (pre-receive's GIT_DIR=.) is git's own: its processes start there
    without a cwd (edges/spawn: no `subprocess` import, docs/scale.md "hooks, round 6")."""
    return CatRepo(os.path.realpath(git_dir), None, None if str(git_dir) == "." else git_dir)


# what `open_head` asks git (a hook may `git.start` it ahead)
HEAD_ARGS = ("rev-parse", "--absolute-git-dir", "--show-toplevel", "--verify", "-q",
             "HEAD^{tree}")


def open_head(cwd: str | Path | None = None) -> tuple[CatRepo, Object] | None:
    """(the repository, HEAD's tree) from one `git rev-parse`; None when HEAD has no commit
    yet or the repository uses another object format (the caller reads it with pygit2)."""
    from git_elite.edges import git

    proc = git.run(HEAD_ARGS, cwd, check=False)
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    if proc.returncode != 0 or len(lines) != 3 or len(lines[2]) != 40:
        return None
    repo = CatRepo(lines[0], lines[1], cwd)
    return repo, Object(repo, lines[2], _TREE_MODE, "", "tree")


class Stream:
    """Many blobs' contents in one round trip each batch, through one `git cat-file
    --batch-command --buffer` (a whole-registry audit: git inflates the delta chains of a
    pack several times faster than libgit2's reads one by one, in a process of its own).
    Only the bytes: the modes, depths and sizes are checked by the caller (gittree.Blobs)
    before an id is asked for, and whatever the stream does not give (a missing or damaged
    object, git gone) the caller reads on its own, as without it. A forked child (fanout's
    second core) starts its own."""

    BATCH = 256  # ids per round trip: their commands always fit in the pipe's buffer
    # git maps a pack in windows of up to 1 GiB, 8 GiB in all, and every page it touches
    # counts as resident: reading a whole registry mapped its whole pack (the 100k verify's
    # peak, 228 MiB, was this process's: 128 MB of pack + 96 MB of delta base cache). As
    # libgit2's windows are (git.open_reader), these are capped: memory stays flat in the
    # pack's size (~130 MiB at 100k), for ~1 s more of git's CPU per 100k blobs (mapping
    # churn: ~4 % of a 100k verify). The delta base cache stays at git's default: 32 MiB
    # doubled git's CPU on 50-deep chains.
    PACK_WINDOWS = ("-c", "core.packedGitWindowSize=32m", "-c", "core.packedGitLimit=64m")

    def __init__(self, git_dir: str):
        self.git_dir = git_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid = 0
        self.broken = False

    def _started(self) -> subprocess.Popen[bytes] | None:
        import subprocess

        if self.pid != os.getpid():
            self.proc, self.broken = None, False
        if self.proc is None and not self.broken:
            try:
                self.proc = subprocess.Popen(
                    ["git", f"--git-dir={self.git_dir}", *self.PACK_WINDOWS, "cat-file",
                     "--batch-command", "--buffer"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL)
            except OSError:
                self.broken = True
            self.pid = os.getpid()
            if self.proc is not None:
                from git_elite.core import fanout

                # in fanout's forked child: its git is waited for there, not left unreaped
                # (its CPU then counts in the child's, and so in verify's, resource usage)
                fanout.at_child_end(self.close)
        return self.proc

    def contents(self, oids: list[str]) -> dict[str, bytes]:
        """The bytes of each blob of `oids` that git gives (an id it cannot read, or that
        names no blob, is left out)."""
        found: dict[str, bytes] = {}
        for at in range(0, len(oids), self.BATCH):
            found.update(self._batch(oids[at:at + self.BATCH]))
        return found

    def _batch(self, oids: list[str]) -> dict[str, bytes]:
        proc = self._started()
        asked = [oid for oid in oids if len(oid) == 40 and oid.isalnum()]
        found: dict[str, bytes] = {}
        if proc is None or proc.stdin is None or proc.stdout is None or not asked:
            return found
        try:
            proc.stdin.write("".join(f"contents {oid}\n" for oid in asked).encode()
                             + b"flush\n")
            proc.stdin.flush()
            for oid in asked:
                line = proc.stdout.readline().split()
                if len(line) == 2:
                    continue  # "<oid> missing" / "ambiguous"
                if len(line) != 3:
                    raise OSError("git cat-file ended early")
                size = int(line[2])
                data = proc.stdout.read(size + 1)
                if len(data) != size + 1:
                    raise OSError("git cat-file ended early")
                if line[1] == b"blob" and line[0] == oid.encode():
                    found[oid] = data[:-1]
        except (OSError, ValueError):  # git is gone (it exits on a damaged pack)
            self.broken = True
            self.close()
        return found

    def close(self) -> None:
        if self.proc is None or self.pid != os.getpid():
            return  # none, or the parent's process: the parent ends it
        proc, self.proc = self.proc, None
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        if self.broken:
            try:
                proc.kill()
            except OSError:
                pass
        proc.wait()
