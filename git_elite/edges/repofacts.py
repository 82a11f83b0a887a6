"""What `verify` asks of a repository's configuration and HEAD, read once: the remotes' URLs
(is it a Radicle working copy?), `elite.branch`, the branch HEAD names (from its file, where
git's own discovery makes that exact) and, for a bare repository, that it has no work tree. One `git
config -z --get-regexp` where there were two `git config`, a `git symbolic-ref` and a `git
rev-parse --show-toplevel` (docs/scale.md, "second verify, round 8").

Every answer is git's own or, where this module reads a file instead, one git's rules make
exact; anything it cannot tell that way (a symlinked or detached HEAD, reftable, a work
tree set by `core.worktree` or GIT_WORK_TREE, a `git config` that refused: not a
repository, `safe.directory`, `safe.bareRepository`) is asked of git as before.
"""

from __future__ import annotations

import os

from git_elite.edges import git

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

# the keys a verify reads (git's extended regex, matched against the canonical key name)
PATTERN = (r"^(remote\..*\.url|elite\.branch|core\.bare|core\.worktree"
           r"|core\.repositoryformatversion|extensions\.refstorage)$")
# environment that moves the repository or its work tree away from what the path says
_MOVED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY",
          "GIT_NAMESPACE")
_REF_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-")


def config_args(pattern: str) -> list[str]:
    return ["config", "-z", "--show-scope", "--get-regexp", pattern]


def config_pairs(cwd: str | Path, pattern: str
                 ) -> tuple[list[tuple[str, str | None]], set[str]] | None:
    """`git config -z --show-scope --get-regexp PATTERN` in `cwd`: (key, value) in git's
    order (None for a key written without `=`), and the keys the repository's own config
    file set; None when git answered neither 0 (found) nor 1 (none)."""
    proc = git.run(config_args(pattern), cwd, check=False)
    if proc.returncode not in (0, 1):
        return None
    items = proc.stdout.decode().split("\0")
    pairs: list[tuple[str, str | None]] = []
    local: set[str] = set()
    for scope, item in zip(items[0::2], items[1::2], strict=False):  # (a last "")
        key, newline, value = item.partition("\n")
        pairs.append((key, value if newline else None))
        if scope == "local":
            local.add(key)
    return pairs, local


class Facts:
    """The configuration and HEAD of the repository at `path`, as a verify asks for them,
    read on first use. `ahead`: its `git config` begins now (`git.start`: git answers while
    the verify's modules load; the caller ends it with `git.start_clear` if never used)."""

    __slots__ = ("path", "_read")

    def __init__(self, path: str, ahead: bool = False):
        self.path = path
        self._read: tuple[list[tuple[str, str | None]] | None, str | None, bool] | None = None
        if ahead:
            git.start(config_args(PATTERN), path)

    def _facts(self) -> tuple[list[tuple[str, str | None]] | None, str | None, bool]:
        if self._read is None:
            found = config_pairs(self.path, PATTERN)
            # the branch HEAD names, read from its file where git's rules make that exact,
            # and whether `path` is itself a bare git directory (no work tree); None/False:
            # ask git. Only when git read the repository's own config (its
            # core.repositoryformatversion, which `git init` writes): git did not refuse it
            # (`safe.directory`, where `git config` answers 1, nothing found, and reads no
            # repository config)
            head, bare = _own_head(self.path, found[0]) if found is not None and \
                "core.repositoryformatversion" in found[1] else (None, False)
            self._read = (None if found is None else found[0], head, bare)
        return self._read

    @property
    def pairs(self) -> list[tuple[str, str | None]] | None:
        return self._facts()[0]

    @property
    def head(self) -> str | None:
        return self._facts()[1]

    @property
    def bare(self) -> bool:
        return self._facts()[2]

    def config_get(self, key: str) -> str | None:
        """`git config --get KEY` (KEY one of PATTERN's, lower case): its last value."""
        if self.pairs is None:
            return git.config_get(key, self.path)
        found = [value for name, value in self.pairs if name == key]
        return None if not found else (found[-1] or "").strip()

    def remote_urls(self, prefer: str | None = None) -> list[str]:
        """`git.remote_urls(path, prefer)`: the remotes' URLs, remote `prefer` first."""
        if self.pairs is None:
            return git.remote_urls(self.path, prefer)
        return git.preferred_first([(key, url) for key, url in self.pairs if url is not None
                                    and key.startswith("remote.")
                                    and key[len("remote."):].endswith(".url")], prefer)

    def head_branch(self) -> str | None:
        """`git symbolic-ref -q HEAD`'s answer."""
        return self.head if self.head is not None else git.head_branch(self.path)

    def toplevel(self) -> Path | None:
        """`git.toplevel(path)`: None, without a process, for a bare repository."""
        return None if self.bare else git.toplevel(self.path)


def _own_head(path: str, pairs: list[tuple[str, str | None]]) -> tuple[str | None, bool]:
    """(the branch HEAD names, bare) where git's discovery from `path` is plain: its git
    directory is `path/.git` (a directory) or, with no `.git` there, `path` itself — each
    holding HEAD, objects/ and refs/ — no reftable, nothing in the environment moving it,
    and HEAD a plain file `ref: refs/<name>` (what `git symbolic-ref -q HEAD` answers);
    bare when the git directory is `path` itself with `core.bare` true and no
    `core.worktree` (`git rev-parse --show-toplevel` finds no work tree there). Else (None,
    False): ask git."""
    keys = {key: value for key, value in pairs}
    if "extensions.refstorage" in keys or any(name in os.environ for name in _MOVED):
        return None, False
    dot_git = os.path.join(path, ".git")
    if os.path.lexists(dot_git):
        if os.path.islink(dot_git) or not os.path.isdir(dot_git):
            return None, False
        git_dir, bare = dot_git, False
    else:
        git_dir = path
        bare = keys.get("core.bare") == "true" and "core.worktree" not in keys
    name = _head_file(git_dir)
    return (name, bare) if name is not None else (None, False)


def _head_file(git_dir: str) -> str | None:
    head = os.path.join(git_dir, "HEAD")
    if os.path.islink(head) or os.path.exists(os.path.join(git_dir, "commondir")) or \
            not os.path.isdir(os.path.join(git_dir, "objects")) or \
            not os.path.isdir(os.path.join(git_dir, "refs")):
        return None
    try:
        with open(head, "rb") as handle:
            raw = handle.read(4097)
    except OSError:
        return None
    text = raw.decode("ascii", "replace")
    if not text.startswith("ref: refs/") or not text.endswith("\n") or text.count("\n") != 1:
        return None
    name = text[len("ref: "):-1]
    if not _REF_CHARS.issuperset(name) or ".." in name or "//" in name or \
            name.endswith(("/", ".", ".lock")) or "/." in name:
        return None
    # `git symbolic-ref` follows a chain of symbolic refs: the branch must not be one (a
    # loose ref holding an object id, or none: packed, or an unborn branch)
    target = os.path.join(git_dir, name)
    if os.path.lexists(target):
        if os.path.islink(target) or not os.path.isfile(target):
            return None
        try:
            with open(target, "rb") as handle:
                if handle.read(4).startswith(b"ref:"):
                    return None
        except OSError:
            return None
    return name
