"""verify's second core over a real git registry (issue 26 item 3, docs/scale.md "verify
throughput, round 5"): a forged manifest in the forked child's half is found with the same
`signature` problem, and the `git cat-file` the child started for its blobs is closed and
waited for by the child itself before it exits (it was left behind unreaped, its CPU missing
from verify's resource usage). Real registry, real commits, real signatures, real git."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import audit, documents, layout
from git_elite.edges import catfile, git, gitcheck
from tests.helpers_registry import commit_raw, registry_copy


def test_the_childs_half_is_checked_and_its_git_reaped(pieces_template: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    reg = registry_copy(pieces_template, tmp_path)
    listing = git.open_reader(reg).revparse_single("HEAD").peel(git._pygit2().Tree)
    last = max(e.name for e in listing / "agents")  # the last piece: the child's half
    agent_dir = next(e.name for e in listing / "agents" / last)
    path = layout.agent_path(agent_dir, "manifest.json")
    body = json.loads((reg / path).read_bytes())
    body["metrics"]["total_tasks"] += 1  # the signature no longer verifies
    commit_raw(reg, {path: documents.to_bytes(body)}, "forged")

    started = tmp_path / "started"
    real = catfile.Stream._started

    def recording(self: catfile.Stream) -> Any:
        proc = real(self)
        if proc is not None:
            with started.open("a") as out:
                out.write(f"{os.getpid()} {proc.pid}\n")
        return proc

    monkeypatch.setattr(catfile.Stream, "_started", recording)
    monkeypatch.setattr(audit, "PARALLEL_MIN_PIECES", 2)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    problems = gitcheck.audit(git.open_reader(reg), "HEAD")
    assert ("signature", path) in {(p.rule, p.path) for p in problems}
    gits = {int(a): int(b) for a, b in (line.split() for line in
                                         started.read_text().splitlines())}
    assert os.getpid() in gits and len(gits) == 2  # this process's git and the child's
    child_git = next(g for pid, g in gits.items() if pid != os.getpid())
    with pytest.raises(ProcessLookupError):
        os.kill(child_git, 0)  # closed and waited for by the child, which was joined
