"""`git elite log gossip URL…` (SPEC §15): read the log checkpoint of several copies of a
registry — static sites (`<site>/log/checkpoint` and its tiles), git URLs and paths (their
refs/elite/log) — and name every pair that is not consistent: two checkpoints signed by
the same log key that do not extend one another are the proof of a split view.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from git_elite.core import logrole, tlog, witnessed
from git_elite.core.errors import EliteError
from git_elite.core.logrole import LogRole
from git_elite.core.safetext import escape
from git_elite.edges import freshness, git, gitcheck, tlogstore

SITE_LOG = "log/"  # where `git elite site` puts the log's files


@dataclass
class Copy:
    url: str
    role: LogRole | None = None
    stored: tlogstore.Stored | None = None
    opened: witnessed.Opened | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url, "ok": self.problem is None}
        if self.opened is not None:
            out.update(origin=self.opened.checkpoint.origin, size=self.opened.size,
                       root=self.opened.root.hex(), cosigned=sorted(self.opened.cosigned))
        if self.problem:
            out["problem"] = self.problem
        return out

    def line(self) -> str:
        if self.opened is None:
            return f"{escape(self.url)}: {escape(self.problem or 'no checkpoint')}"
        return (f"{escape(self.url)}: size {self.opened.size} root "
                f"{self.opened.root.hex()[:16]} cosigned by "
                f"{', '.join(sorted(self.opened.cosigned)) or 'nobody'}")


def compare(urls: list[str]) -> tuple[list[Copy], list[tuple[str, str, str]]]:
    """Every copy read, and every inconsistent pair (url, url, why)."""
    with tempfile.TemporaryDirectory(prefix="git-elite-gossip-") as tmp:
        copies = [_read(url, Path(tmp) / f"c{i}.git") for i, url in enumerate(urls)]
        return copies, _pairs(copies)


def _pairs(copies: list[Copy]) -> list[tuple[str, str, str]]:
    out = []
    good = [c for c in copies if c.opened is not None]
    for i, a in enumerate(good):
        for b in good[i + 1:]:
            why = inconsistency(a, b)
            if why:
                out.append((a.url, b.url, why))
    return out


def inconsistency(a: Copy, b: Copy) -> str | None:
    """Why copies a and b cannot both be honest copies of one log (None: they can)."""
    assert a.opened is not None and b.opened is not None and a.role and b.role
    if a.role.origin != b.role.origin:
        return None  # two different logs: nothing to compare
    if a.role.key != b.role.key:
        return f"they declare different log keys ({a.role.key} and {b.role.key})"
    small, big = (a, b) if a.opened.size <= b.opened.size else (b, a)
    assert small.opened is not None and big.opened is not None and big.stored is not None
    try:
        reader = tlogstore.hash_reader(big.stored, big.opened.size)
        proof = tlog.prove_tree(big.opened.size, small.opened.size, reader) \
            if 0 < small.opened.size < big.opened.size else []
        witnessed.check_consistent(small.opened, big.opened, proof)
    except EliteError as err:
        return err.message
    return None


def _read(url: str, scratch: Path) -> Copy:
    copy = Copy(url)
    try:
        if url.startswith(("http://", "https://")) and _is_site(url):
            copy.role, copy.stored = _from_site(url)
        else:
            copy.role, copy.stored = _from_git(url, scratch)
        if copy.role is None:
            copy.problem = "the registry declares no log role"
        elif copy.stored is None:
            copy.problem = "no log checkpoint"
        else:
            copy.opened = witnessed.open_note(copy.stored.note, copy.role)
            tlogstore.check_tiles(copy.stored, copy.opened)
    except EliteError as err:
        copy.problem, copy.opened = str(err), None
    return copy


def _is_site(url: str) -> bool:
    from git_elite.edges import sparse

    try:
        return sparse.HttpRegistry(url).read(SITE_LOG + tlogstore.CHECKPOINT) is not None
    except EliteError:
        return False


def _from_site(url: str) -> tuple[LogRole | None, tlogstore.Stored | None]:
    """The site's role and log/ files, read as `verify --url` reads them (edges/logread)."""
    from git_elite.edges import logread, sparse

    site = sparse.HttpRegistry(url)
    return logread.site_role(site.read), logread.site_log(site.read)


def _from_git(url: str, scratch: Path) -> tuple[LogRole | None, tlogstore.Stored | None]:
    from git_elite.edges.cache import LOG_SPEC

    if Path(url).exists():
        where: Path | str = url
    else:
        git.run(["clone", "-q", "--bare", "--", url, str(scratch)])
        git.run(["fetch", "-q", "--no-tags", "--", url, LOG_SPEC], scratch, check=False)
        where = scratch
    tip = freshness.resolve(where, gitcheck.registry_branch(where))
    role = LogRole.of(freshness.identity_at(where, tip) if tip else None)
    return role, tlogstore.current(git.open_repo(where), logrole.REF)
