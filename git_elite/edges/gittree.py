"""Reading a registry's git trees and blobs without trusting them (SPEC §3, §4), for git.py's
states and diffs, so every reader (hooks, `verify`, `discover`, `import`, `trust`) and both
registry formats get the same checks:

- every entry is a regular file (100644) or a directory: a symlink (120000), an executable
  (100755) or a gitlink (160000) is a `layout` problem, at any path;
- a blob's size is read from its object header (libgit2's odb read_header) and refused
  (`json`) over its path's limit *before* it is inflated: 16 paths to one 64 MiB blob cost
  nothing;
- two trees are compared by `changed_entries`, an iterative walk that descends only into
  subtrees whose ids differ (a commit that changes one agent reads the few trees on that
  agent's path, whatever the registry's size), and a tree nested deeper than MAX_DEPTH is one
  `layout` problem, not a RecursionError.
"""

from __future__ import annotations

from git_elite.core.errors import Problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

REGULAR = 0o100644
TREE = 0o040000
MODES = {0o120000: "a symlink", 0o100755: "an executable file", 0o160000: "a gitlink (submodule)",
         0o100664: "a group-writable file", 0o040000: "a directory"}
MAX_DEPTH = 8  # format 2's deepest path has 5 parts (agents/<ab>/<id>/attestations/<nid>.json)

KIB = 1024
MIB = 1024 * KIB
# the most any registry may allow for prompt.md / demos.json (IDENTITY policy
# max_prompt_bytes / max_demos_bytes, default 256 KiB, are checked by the rules)
EXTRA_CEILING = MIB
DEFAULT_LIMIT = MIB  # free files (SPEC §3), and any path the layout has no place for
INDEX_BASE, INDEX_PER_AGENT = MIB, 16 * KIB  # an index may grow with the agents it lists
_BY_NAME = {"manifest.json": 64 * KIB, "profile.json": 64 * KIB, "tombstone.json": 8 * KIB,
            "rotation.json": 8 * KIB, "IDENTITY.json": MIB, "prompt.md": EXTRA_CEILING,
            "demos.json": EXTRA_CEILING}
ENDORSEMENT_LIMIT = 16 * KIB


def mode_problem(path: str, mode: int) -> Problem | None:
    """A `layout` problem for anything but a regular file (directories are walked, not read)."""
    if mode == REGULAR:
        return None
    what = MODES.get(mode, f"mode {mode:o}")
    return Problem("layout", path, f"{what} (mode {mode:06o}): every registry entry is a "
                   "regular file (mode 100644) or a directory")


def depth_problem(path: str) -> Problem | None:
    if path.count("/") < MAX_DEPTH:
        return None
    top = "/".join(path.split("/")[:3])
    return Problem("layout", top + "/…", f"a tree nested more than {MAX_DEPTH} levels deep "
                   "has no place in the registry layout")


def limit(path: str, entries: Callable[[str], int]) -> int:
    """The most bytes a blob at `path` may hold, before anything is inflated. An index's limit
    grows with the number of agents it covers (`entries(dir)`: how many names the directory
    holds, counted from the tree or the staging area, not from the blob)."""
    name = path.rsplit("/", 1)[-1]
    if path == "INDEX.json":
        return INDEX_BASE + INDEX_PER_AGENT * entries("agents")
    if path.startswith("index/") and path.count("/") == 1 and name.endswith(".json"):
        return INDEX_BASE + INDEX_PER_AGENT * entries("agents/" + name[:-5])
    if path.startswith("endorsements/"):
        return ENDORSEMENT_LIMIT
    return _BY_NAME.get(name, DEFAULT_LIMIT)


def tree_entries(tree: Any | None) -> Callable[[str], int]:
    """`entries` for a git tree: the length of the directory's tree object."""
    def count(path: str) -> int:
        sub = entry_at(tree, path) if tree is not None else None
        return len(sub) if sub is not None and sub.type_str == "tree" else 0

    return count


def index_entries(index: Any) -> Callable[[str], int]:
    """`entries` for a git index (the staging area): distinct names right under the directory
    (one pass over the index, on first use)."""
    counts: dict[str, set[str]] = {}

    def count(path: str) -> int:
        if not counts:
            counts[""] = set()
            for entry in index:
                parts = entry.path.split("/")
                for depth in range(1, min(len(parts), 3)):
                    counts.setdefault("/".join(parts[:depth]), set()).add(parts[depth])
        return len(counts.get(path, ()))

    return count


class Blobs:
    """Reads blobs of one state (`entries` sizes its index limits), checked before inflating.
    `read` gives (bytes, None) or (None, the problem); with `share` (one diff), paths that
    name the same blob share one bytes object."""

    def __init__(self, repo: Any, entries: Callable[[str], int], *, share: bool = False):
        self.repo = repo
        self.entries = entries
        self._seen: dict[str, bytes] | None = {} if share else None

    def read(self, path: str, oid: Any, mode: int) -> tuple[bytes | None, Problem | None]:
        problem = depth_problem(path) or mode_problem(path, mode)
        if problem is not None:
            return None, problem
        key = str(oid)
        if self._seen is not None and key in self._seen:
            return self._seen[key], None
        problem = self.oversize(path, oid)
        if problem is not None:
            return None, problem
        # the object database directly: ~4x faster than `repo[oid].data` (no object lookup
        # by prefix, no Blob wrapper), which a whole-registry read does twice per agent
        data: bytes = self.repo.odb.read(oid)[1]
        if self._seen is not None:
            self._seen[key] = data
        return data, None

    def read_all(self, items: list[tuple[str, Any, int]], stream: Any
                 ) -> list[tuple[bytes | None, Problem | None]]:
        """`read` of each (path, oid, mode), the same checks first, the bytes of those
        that pass through `stream` (catfile.Stream: one round trip per batch); whatever it
        does not give is read here as `read` does."""
        checked: list[Problem | None] = []
        wanted: list[str] = []
        for path, oid, mode in items:
            problem = depth_problem(path) or mode_problem(path, mode) or \
                self.oversize(path, oid)
            checked.append(problem)
            if problem is None:
                wanted.append(str(oid))
        got = stream.contents(list(dict.fromkeys(wanted))) if wanted else {}
        out: list[tuple[bytes | None, Problem | None]] = []
        for (path, oid, mode), problem in zip(items, checked, strict=True):
            if problem is not None:
                out.append((None, problem))
                continue
            data = got.get(str(oid))
            out.append((data, None) if data is not None else self.read(path, oid, mode))
        return out

    def oversize(self, path: str, oid: Any) -> Problem | None:
        try:
            kind, size = self.repo.odb.read_header(oid)
        except (KeyError, ValueError) as err:
            return Problem("layout", path, f"object {str(oid)[:12]} cannot be read ({err})")
        if int(kind) != 3:  # GIT_OBJECT_BLOB
            return Problem("layout", path, f"entry names a {kind_name(kind)}, not a blob")
        most = limit(path, self.entries)
        if size > most:
            return Problem("json", path, f"{size} bytes exceeds the limit of {most} bytes for "
                           "this file (checked before reading it)")
        return None


class Entry(NamedTuple):
    """One side of a changed path: the entry's object id and git mode."""

    oid: Any
    mode: int


class Changed(NamedTuple):
    """A path that differs between two trees: `old`/`new` None where the path is absent.
    `problem`: the path is a directory that was not walked (too deep, or its entry names no
    readable tree) and stands for everything under it."""

    path: str
    old: Entry | None
    new: Entry | None
    problem: Problem | None = None


def changed_entries(repo: Any, old: Any | None, new: Any | None, prefix: str = ""
                    ) -> Iterator[Changed]:
    """Every non-directory path whose entry differs between trees `old` and `new` (None: an
    empty tree), walked iteratively and only into subtrees whose ids differ: the cost follows
    the change, not the trees' size (libgit2's tree diff expands every subtree of both).
    A file turned into a directory (or back) gives the file's path on one side and every
    path under the directory on the other, as git does. Order: depth first, by name."""
    stack: list[tuple[str, Any | None, Any | None]] = [(prefix, old, new)]
    while stack:
        base, a, b = stack.pop()
        pending: list[tuple[str, Any | None, Any | None]] = []
        for name, x, y in _pairs(a, b):
            path = base + name
            # each entry's mode read once: pygit2 builds a FileMode enum on every access
            # (~5 us; a whole-registry audit walks ~3 entries per agent)
            xmode = x.filemode if x is not None else -1
            ymode = y.filemode if y is not None else -1
            xdir, ydir = xmode == TREE, ymode == TREE
            if xdir or ydir:
                found = _subtrees(repo, path, x if xdir else None, y if ydir else None)
                if isinstance(found, Changed):
                    yield found
                else:
                    pending.append((path + "/", *found))
            if (x is not None and not xdir) or (y is not None and not ydir):
                yield Changed(path, None if x is None or xdir else Entry(x.id, xmode),
                              None if y is None or ydir else Entry(y.id, ymode))
        stack.extend(reversed(pending))


def differing_names(a: Any, b: Any) -> list[str]:
    """The names of the entries of tree `a` or tree `b` whose id or mode differ, or that
    only one of them has (one level: nothing is read below them), sorted."""
    return [name for name, _, _ in _pairs(a, b)]


def _pairs(a: Any | None, b: Any | None) -> Iterator[tuple[str, Any | None, Any | None]]:
    """(name, entry in a, entry in b) for every name whose entries differ (id or mode)."""
    if a is not None and b is not None and hasattr(a, "table") and hasattr(b, "table"):
        # two trees read through `git cat-file` (catfile.Object): their tables of (mode,
        # raw id) compared, entries made only for the names that differ (the two
        # 3,900-entry agents/<ab> trees of a one-agent push into 1M)
        ta, tb = a.table(), b.table()
        for name in sorted(n for n in ta.keys() | tb.keys() if ta.get(n) != tb.get(n)):
            yield name, a.child(name) if name in ta else None, \
                b.child(name) if name in tb else None
        return
    left = {entry.name: entry for entry in a} if a is not None else {}
    right = {entry.name: entry for entry in b} if b is not None else {}
    for name in sorted(left.keys() | right.keys()):
        x, y = left.get(name), right.get(name)
        if x is not None and y is not None and x.id == y.id and x.filemode == y.filemode:
            continue
        yield name, x, y


def _subtrees(repo: Any, path: str, x: Any | None, y: Any | None
              ) -> Changed | tuple[Any | None, Any | None]:
    """The two trees to walk under directory `path` (one side None: absent or a file), or a
    Changed carrying the problem when one is too deep or names no readable tree."""
    problem = depth_problem(path + "/x")
    trees: list[Any | None] = []
    for side in (x, y):
        if side is None or problem is not None:
            trees.append(None)
            continue
        try:
            tree = repo[side.id]
        except (KeyError, ValueError) as err:
            tree, problem = None, Problem("layout", path, f"tree {str(side.id)[:12]} cannot "
                                          f"be read ({err})")
        if tree is not None and tree.type_str != "tree":
            problem = Problem("layout", path, f"a directory entry names a {tree.type_str}, "
                              "not a tree")
        trees.append(tree)
    if problem is not None:
        return Changed(path, Entry(x.id, x.filemode) if x is not None else None,
                       Entry(y.id, y.filemode) if y is not None else None, problem)
    return trees[0], trees[1]


def kind_name(kind: Any) -> str:
    return {1: "commit", 2: "tree", 3: "blob", 4: "tag"}.get(int(kind), f"object type {kind}")


def entry_at(tree: Any, path: str) -> Any | None:
    """The tree entry at `path`, or None (no exception for a gitlink or a missing object)."""
    try:
        return tree[path]
    except (KeyError, ValueError):
        return None
