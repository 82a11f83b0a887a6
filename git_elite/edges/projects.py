"""Per-project local state (SPEC §1, issue 27 item 3): what `generate` makes in one agent
project is kept apart from what another project makes, even for the same agent id.

    $AGENTD_HOME/elite/<agent_id>/                       no project: made outside any git repo,
                                                         by hand, or by an older git elite
    $AGENTD_HOME/elite/projects/<name>-<hash>/<agent_id>/  made in the git repo at `project.json`'s
                                                         path (<hash>: sha256 of that path)
    …/evals-seen.json                                    `publish --from-evals --min-new` state

A project is the work tree root of the git repository the command runs in (not a registry's
work tree: agents are not made there). `publish` run in a project takes that project's
manifests and the unattached ones; run outside any project it takes every project's, each
keeping its own repo_ref.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from git_elite.core import layout
from git_elite.edges import store

PROJECTS = "projects"


@dataclass(frozen=True)
class Project:
    """The agent project a command runs in: its work tree root and its folder in the store."""

    path: Path

    @property
    def key(self) -> str:
        digest = hashlib.sha256(str(self.path).encode()).hexdigest()[:12]
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", self.path.name).strip(".-") or "project"
        return f"{name[:40]}-{digest}"

    @property
    def root(self) -> Path:
        return elite_root() / PROJECTS / self.key


def elite_root() -> Path:
    return store.home() / "elite"


def here(cwd: Path) -> Project | None:
    """The project `cwd` is in: its git work tree root, unless that is a registry's."""
    from git_elite.edges import git

    top = git.toplevel(cwd)
    if top is None or (top / layout.IDENTITY).is_file():
        return None
    return Project(top.resolve())


def root_for(project: Project | None) -> Path:
    """Where `generate` writes for `project` (the unattached store without one)."""
    if project is None:
        return elite_root()
    store.ensure_home()
    store.ensure_dir(project.root)
    marker = project.root / "project.json"
    if not marker.is_file():
        store.atomic_write(marker, json.dumps({"path": str(project.path)}).encode() + b"\n")
    return project.root


def agent_dirs(root: Path) -> list[Path]:
    """The `<agent_id>/` folders directly under `root`."""
    return sorted(p for p in root.iterdir() if p.is_dir() and layout.is_agent_id(p.name)) \
        if root.is_dir() else []


def project_roots() -> list[Path]:
    base = elite_root() / PROJECTS
    return sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


def project_path(root: Path) -> str:
    """The project a store folder belongs to, as recorded in its project.json."""
    try:
        return str(json.loads((root / "project.json").read_bytes())["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return root.name


def dirs_for(project: Project | None) -> tuple[list[Path], list[Path]]:
    """(the folders `publish` takes here, the folders of other projects it leaves alone).
    In a project: its own first, then the unattached ones whose agent it did not make.
    Outside any project: every project's and the unattached ones."""
    unattached = agent_dirs(elite_root())
    if project is None:
        return [d for r in project_roots() for d in agent_dirs(r)] + unattached, []
    mine = agent_dirs(project.root)
    ids = {d.name for d in mine}
    others = [d for r in project_roots() if r != project.root for d in agent_dirs(r)]
    return mine + [d for d in unattached if d.name not in ids], others


def all_dirs() -> list[Path]:
    """Every manifest folder made on this machine (not `imported/`)."""
    return agent_dirs(elite_root()) + [d for r in project_roots() for d in agent_dirs(r)]
