"""`publish --from-evals --min-new N` (SPEC §16): regenerate and publish only when at least N
eval records are new since the last run, cheap enough to call after every eval run.

State, per project (edges/projects), in `<project store>/evals-seen.json`:
`{"version": 1, "logs": {"<absolute log path>": {"offset", "prefix_sha256", "pending"}}}` —
how far each log was read, the sha256 of those bytes, and how many records in them came after
the last run. Eval logs are append-only, so a call reads only the bytes past `offset` (the
prefix is hashed, not parsed); a log that is shorter or whose prefix changed was rewritten, and
all of its records count as new (full count). Below N nothing is fetched, signed or written but
this file. A run that publishes (or finds no agent qualifying) sets `pending` back to 0; a
failed push keeps it, so the next call tries again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from git_elite.core import evals
from git_elite.core.errors import EliteError
from git_elite.edges import generating, projects, publishing, store
from git_elite.edges import publish as core

STATE = "evals-seen.json"
CHUNK = 1 << 20


@dataclass
class Export:
    """What one call did: records new since the last run, whether it ran, generate's rows and
    the publish result (None below `min_new`)."""

    pending: int
    min_new: int
    ran: bool = False
    rows: list[dict[str, Any]] = field(default_factory=list)
    result: core.Result | None = None

    def to_json(self) -> dict[str, Any]:
        return {"pending": 0 if self.ran else self.pending, "new_records": self.pending,
                "min_new": self.min_new, "ran": self.ran,
                "published": self.result.to_json() if self.result else []}


def state_file(cwd: Path) -> Path:
    """This project's state file (the unattached store's outside any project)."""
    return projects.root_for(projects.here(cwd)) / STATE


def load_state(path: Path) -> dict[str, dict[str, Any]]:
    try:
        body = json.loads(path.read_bytes())
        logs = body["logs"]
        return {str(k): dict(v) for k, v in logs.items()} if isinstance(logs, dict) else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # missing or damaged: count every record again (never fewer)


def save_state(path: Path, logs: dict[str, dict[str, Any]]) -> None:
    store.ensure_home()
    store.atomic_write(path, json.dumps({"version": 1, "logs": logs}, indent=1,
                                        sort_keys=True).encode() + b"\n", 0o600)


def scan(path: Path, mark: dict[str, Any] | None) -> dict[str, Any]:
    """The log's new mark: bytes past the old offset parsed (whole lines only), the prefix
    checked by its hash; a rewritten log is counted from its start."""
    hasher = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            pending, start = 0, 0
            if mark and _prefix_matches(handle, int(mark.get("offset", 0)),
                                        str(mark.get("prefix_sha256", "")), hasher):
                pending, start = int(mark.get("pending", 0)), int(mark["offset"])
            else:
                hasher = hashlib.sha256()
            handle.seek(start)
            tail = handle.read()
    except OSError as err:
        raise EliteError(f"{path}: cannot read: {err.strerror}") from None
    whole = tail[:tail.rfind(b"\n") + 1]
    hasher.update(whole)
    found, _ = evals.parse_jsonl(whole, str(path))
    return {"offset": start + len(whole), "prefix_sha256": hasher.hexdigest(),
            "pending": pending + len(found)}


def _prefix_matches(handle: Any, offset: int, digest: str, hasher: Any) -> bool:
    """Hash the first `offset` bytes into `hasher`; do they match `digest`?"""
    left = offset
    while left > 0:
        chunk = handle.read(min(CHUNK, left))
        if not chunk:
            return False  # shorter than before: rewritten
        hasher.update(chunk)
        left -= len(chunk)
    return bool(hasher.hexdigest() == digest)


def count(sources: list[Path], state: dict[str, dict[str, Any]]
          ) -> tuple[int, dict[str, dict[str, Any]]]:
    """(records new since the last run over `sources`, the new marks)."""
    marks = dict(state)
    for source in sources:
        name = str(source.resolve())
        marks[name] = scan(source, state.get(name))
    return sum(int(marks[str(s.resolve())]["pending"]) for s in sources), marks


def export(options: generating.Options, request: publishing.Request, min_new: int, now: int,
           cwd: Path, on_generated: Callable[[generating.Run], None] = lambda run: None
           ) -> Export:
    """Regenerate and publish when at least `min_new` eval records are new since the last
    run (the same generate and publish as the commands); below that, only count."""
    sources = generating.sources(options.eval_paths, cwd)
    path = state_file(cwd)
    pending, marks = count(sources, load_state(path))
    done = Export(pending, min_new)
    if pending < min_new:
        save_state(path, marks)
        return done
    run = generating.generate(options, now if options.now is None else options.now, cwd)
    on_generated(run)
    done.ran, done.rows = True, run.rows()
    written = tuple(sorted(set(run.written.values())))
    if not written:
        save_state(path, _ran(marks, sources))
        raise EliteError("no agent qualified, nothing to publish (see the table above; "
                         "--all publishes every agent)")
    from git_elite.edges.agent_files import load_identity

    done.result = publishing.publish(replace(request, dirs=written), load_identity(), now, cwd)
    save_state(path, _ran(marks, sources) if done.result.ok else marks)
    return done


def _ran(marks: dict[str, dict[str, Any]], sources: list[Path]) -> dict[str, dict[str, Any]]:
    ran = {str(s.resolve()) for s in sources}
    return {k: {**v, "pending": 0} if k in ran else v for k, v in marks.items()}
