"""Writing to a registry: `publish`, `unpublish` and endorsement pushes (SPEC §10, §11, §13).

Everything goes through one function, `publish_files(target, items, message)`: on the
registry's tip (in the bare cache clone) it builds a commit in memory with the items' files
and the rebuilt INDEX.json, checks it with the same engine the server hook runs, pushes it,
and on a concurrent push fetches, rebuilds on the new tip and tries again (bounded, with
jitter). An item whose files break a rule is refused by name; the others still go.

Core (no git, no network): `Item`, `LocalAgent`, `load_dir`, `prepare`, `agent_item`,
`tombstone_item`, `endorsement_item`, `Result`.
Edges (git, network, disk), kept apart below: `save_local`, `repo_ref_here`, `open_target`,
`publish_files`, `announce`.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from git_elite.core import documents, keys, layout
from git_elite.core.errors import EliteError, ManifestError, Problem, RegistryError
from git_elite.edges import store
from git_elite.edges.known_registries import Registry

# A push that loses a race has paid for the server hook (~1 s on a loaded server) and is
# rebuilt on the new tip. With N publishers racing, one wins per hook run, so the last needs
# ~N attempts unless they spread out: full jitter up to 8 s spreads 20 publishers over ~8
# hook runs per window. 30 attempts carried 20 racing publishers (tests/test_load.py, max
# in docs/publish.md "Load"); unreachable registries are bounded by NETWORK_ATTEMPTS.
ATTEMPTS = 30
NETWORK_ATTEMPTS = 3
BACKOFF_BASE, BACKOFF_CAP = 0.3, 8.0
OPTIONAL = ("prompt.md", "demos.json")
PUBLISHED, UP_TO_DATE, REFUSED, BUILT, NOT_PUSHED = (
    "published", "up to date", "refused", "built", "not pushed")
SUCCESS = (PUBLISHED, UP_TO_DATE, BUILT)


@dataclass(frozen=True)
class Item:
    """Files that go into the registry together, or are refused together (None = remove)."""

    name: str
    files: dict[str, bytes | None]

    def owns(self, path: str) -> bool:
        return path in self.files or any(path.startswith(p.rsplit("/", 1)[0] + "/")
                                         for p in self.files if p.startswith("agents/"))


@dataclass
class Outcome:
    name: str
    status: str
    message: str = ""
    lines: list[str] = field(default_factory=list)


@dataclass
class Result:
    """What happened to each item; `commit` is the commit pushed (or built with no push)."""

    registry: str
    outcomes: list[Outcome] = field(default_factory=list)
    commit: str | None = None
    pushes: int = 0
    retries: int = 0
    rotations: set[bytes] = field(default_factory=set)  # statements to publish with the agents

    @property
    def ok(self) -> bool:
        return all(o.status in SUCCESS for o in self.outcomes)

    def add(self, items: list[Item], status: str, message: str = "",
            lines: list[str] | None = None) -> None:
        self.outcomes += [Outcome(i.name, status, message, list(lines or [])) for i in items]

    def to_json(self) -> list[dict[str, Any]]:
        return [{"agent_id": o.name, "status": o.status, "registry": self.registry,
                 "commit": self.commit if o.status in (PUBLISHED, BUILT) else None,
                 "message": o.message} for o in self.outcomes]


# core: local manifests ---------------------------------------------------------------------
@dataclass(frozen=True)
class LocalAgent:
    """One `$AGENTD_HOME/elite/<agent_id>/`: manifest.json, profile.json, opt-in extras."""

    folder: Path
    manifest: bytes
    body: dict[str, Any]
    extra: dict[str, bytes]

    @property
    def agent_id(self) -> str:
        return str(self.body["agent_id"])


def load_dir(folder: Path) -> LocalAgent:
    """Read a manifest directory; ManifestError (one line) when it cannot be published."""
    path = folder / "manifest.json"
    if not path.is_file() or not (folder / "profile.json").is_file():
        raise ManifestError(f"{folder}: needs manifest.json and profile.json")
    raw = store.read_bytes(path)
    doc = documents.parse(raw, str(path), documents.MANIFEST)
    problems = documents.check_shape(doc)
    if problems:
        raise ManifestError(problems[0].line())
    if layout.is_agent_id(folder.name) and folder.name != doc.body["agent_id"]:
        raise ManifestError(f"{path}: [binding] agent_id is not the directory's name")
    extra = {name: store.read_bytes(folder / name) for name in ("profile.json", *OPTIONAL)
             if (folder / name).is_file()}
    return LocalAgent(folder, raw, doc.body, extra)


def prepare(agent: LocalAgent, key: keys.Keypair, now: int, repo_ref: dict[str, Any] | None,
            previous: bytes | None = None) -> LocalAgent:
    """The manifest to publish: re-signed when `repo_ref` is new or the registry's version
    (`previous`) is not older, with created_at = max(now, local + 1, registry's + 1)."""
    body = agent.body
    before = _created_at(previous) if previous is not None and previous != agent.manifest \
        else None
    want = body.get("repo_ref") if repo_ref is None else repo_ref
    if want == body.get("repo_ref") and (before is None or body["created_at"] > before):
        return agent
    created = max(now, body["created_at"] + 1, (before or 0) + 1)
    fresh = {k: v for k, v in body.items() if k != "signature_ed25519"}
    fresh.update(repo_ref=want, created_at=created)
    signed = documents.sign(fresh, key, documents.MANIFEST)
    return replace(agent, manifest=documents.to_bytes(signed), body=signed)


def _created_at(raw: bytes) -> int | None:
    try:
        return documents.parse(raw, "registry manifest", documents.MANIFEST).created_at
    except EliteError:
        return None


def agent_item(agent: LocalAgent) -> Item:
    files: dict[str, bytes | None] = {
        layout.agent_path(agent.agent_id, "manifest.json"): agent.manifest}
    files.update({layout.agent_path(agent.agent_id, n): d for n, d in agent.extra.items()})
    return Item(agent.agent_id, files)


def tombstone_item(agent_id: str, tombstone: dict[str, Any]) -> Item:
    """A tombstone replaces manifest.json; opt-in prompt/demos go with the manifest."""
    files: dict[str, bytes | None] = {
        layout.agent_path(agent_id, "tombstone.json"): documents.to_bytes(tombstone),
        layout.agent_path(agent_id, "manifest.json"): None}
    files.update({layout.agent_path(agent_id, n): None for n in OPTIONAL})
    return Item(agent_id, files)


def make_tombstone(key: keys.Keypair, agent_id: str, manifest_created: int, now: int,
                   reason: str) -> dict[str, Any]:
    body = {"type": documents.TOMBSTONE, "schema_version": 1, "agent_id": agent_id,
            "owner_did": key.did, "created_at": max(now, manifest_created + 1),
            "reason": reason}
    return documents.sign(body, key, documents.TOMBSTONE)


def endorsement_item(body: dict[str, Any]) -> Item:
    path = layout.endorsement_path(keys.nid_from_did(body["from"]),
                                   keys.nid_from_did(body["to"]))
    return Item(path, {path: documents.to_bytes(body)})


def refusal(problem: Problem) -> str:
    """Why the local check refused an item, with what to do when the fix is known (the
    commit was never pushed, so it is not named)."""
    hint = HINTS.get(problem.rule, "").format(elite=store.home() / "elite")
    return problem.line() + (f" — {hint}" if hint else "")


HINTS = {
    "rollback": "the registry holds a newer version of this agent: regenerate it from newer "
                "eval logs (git elite generate), or skip it (publish only the other "
                "directories, or move it out of {elite})",
    "ownership": "it belongs to another key; after `git elite id rotate` publish the "
                 "rotation first (git elite id rotate --registry R publishes it)",
}


def also_lines(problems: list[Problem]) -> list[str]:
    return [f"git-elite:   also {p.line()}" for p in problems]


def reject_lines(problems: list[Problem]) -> list[str]:
    from git_elite.core import errors

    return errors.reject_lines(problems)


# edges: local disk and the repo we stand in ------------------------------------------------
def elite_root() -> Path:
    return store.home() / "elite"


def elite_dirs() -> list[Path]:
    """Every manifest folder made on this machine, of every project (not `imported/`)."""
    from git_elite.edges import projects

    return projects.all_dirs()


def save_local(agent: LocalAgent) -> None:
    """Write a (re-)signed manifest back before any push: nothing is lost if it fails."""
    store.atomic_write(agent.folder / "manifest.json", agent.manifest)


def repo_ref_here(cwd: Path) -> dict[str, Any] | None:
    """The repo_ref of the agent project we stand in; None outside a git repo, in a repo
    without commits, or inside a registry work tree (that is not where agents live)."""
    from git_elite.edges import agent_files, git

    top = git.toplevel(cwd)
    if top is None or (top / layout.IDENTITY).is_file():
        return None
    ref = agent_files.detect_repo_ref(cwd)
    return ref if ref.get("type") == "git" else None


# edges: the registry -----------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """A registry made ready to write: its synced cache clone, branch and push URL."""

    registry: Registry
    cache: Path
    branch: str
    push_url: str
    rid: str | None = None


def open_target(registry: Registry, key: keys.Keypair) -> Target:
    """Sync the cache clone (network). A rad:// registry needs git-remote-rad; we push to
    our own namespace `rad://<rid>/<own nid>`, never into $RAD_HOME/storage."""
    from git_elite.core import radicle
    from git_elite.edges import cache

    push_url, rid = registry.url, None
    if radicle.is_rad_url(registry.url):
        if shutil.which("git-remote-rad") is None:
            raise RegistryError(f"{registry.url} is a Radicle remote, but git-remote-rad is "
                                "not on PATH: install Radicle (https://radicle.xyz) or "
                                "publish to a plain git URL")
        url = radicle.parse_url(registry.url)
        registry = registry._replace(url=str(url))
        push_url, rid = f"rad://{url.z_rid}/{keys.nid_from_did(key.did)}", url.rid
    path = Path(cache.sync(registry))
    return Target(registry, path, cache.branch(registry, path), push_url, rid)


def choose(name_or_url: str | None, cwd: Path | None = None) -> Registry:
    """`--registry` (name, path or URL), else the single known registry."""
    from git_elite.edges import known_registries

    if name_or_url:
        return known_registries.resolve(name_or_url, cwd)
    known = known_registries.known_registries(cwd)
    if len(known) == 1:
        return known[0]
    if not known:
        raise RegistryError("no registry known: pass --registry URL|PATH or add one with "
                            "`git elite registry add NAME URL`")
    raise RegistryError("several registries known, choose one with --registry: "
                     + ", ".join(r.name for r in known))


def tip_state(target: Target) -> Any:
    """The registry's tip (as last fetched) as a State; None without the branch."""
    from git_elite.edges import cache, git

    tip = cache.tip(target.cache, target.branch)
    return git.state_at(git.open_repo(target.cache), tip) if tip else None


def read_tip(target: Target, path: str) -> bytes | None:
    """`path` at the registry's tip (as last fetched)."""
    state = tip_state(target)
    return state.read(path) if state is not None else None


def publish_files(target: Target, items: list[Item], message: str, *, push: bool = True,
                  attempts: int = ATTEMPTS, sleep: Callable[[float], None] = time.sleep
                  ) -> Result:
    """Build, verify and push `items` on the registry's tip; retry on a concurrent push."""
    from git_elite.edges import cache, git

    result, pending, failures = Result(target.registry.name), list(items), 0
    last: list[str] = []  # git's words on the last push that lost the race
    for attempt in range(attempts):
        commit, pending = _build(target, pending, message, result)
        if commit is None:
            return result
        if not push:
            git.set_ref(target.cache, f"refs/elite/unpushed/{target.branch}", commit)
            result.commit = commit
            result.add(pending, BUILT, f"not pushed: refs/elite/unpushed/{target.branch} in "
                       f"{target.cache}")
            return result
        pushed = git.push(target.cache, target.push_url,
                          f"{commit}:refs/heads/{target.branch}")
        result.pushes += 1
        if pushed.status == git.PUSHED:
            from git_elite.edges.cache import SEEN

            # the registry's branch is now our commit, the tip seen last, so the next sync
            # has no rewind check to run when nothing else was pushed (cache.py); not for a
            # Radicle remote, where we pushed to our own namespace, not the fetched branch
            seen = {} if target.rid else {f"{SEEN}{target.branch}": commit}
            git.set_refs(target.cache, {f"refs/heads/{target.branch}": commit, **seen})
            result.commit = commit
            result.add(pending, PUBLISHED)
            return result
        if pushed.status == git.REJECTED and checked_out(pushed.lines):
            result.add(pending, REFUSED, f"{target.push_url} is a working copy with "
                       f"{target.branch} checked out, so git will not push into it: push to "
                       "a bare clone of it instead (git clone --bare), the way a server holds "
                       "a registry")
            return result
        if pushed.status == git.REJECTED:
            result.add(pending, REFUSED, "the registry refused the push", pushed.lines)
            return result
        failures += pushed.status == git.UNREACHABLE
        last = pushed.lines
        if failures >= NETWORK_ATTEMPTS:
            result.add(pending, NOT_PUSHED, f"cannot reach {target.push_url} after "
                       f"{failures} attempts", pushed.lines[-1:])
            return result
        if attempt + 1 == attempts:
            break  # no wait and fetch for an attempt that will not come
        result.retries += 1
        sleep(backoff(attempt))
        try:
            cache.sync(target.registry)
        except RegistryError as err:
            result.add(pending, NOT_PUSHED, err.message)
            return result
    # git's own reason goes with it: a branch that never stops moving and a ref lock that
    # never goes away (`cannot lock ref ... File exists`: a receive-pack killed on the
    # server left refs/heads/<branch>.lock, which only the server's owner can remove) look
    # alike from here
    result.add(pending, NOT_PUSHED, f"the registry branch kept moving: gave up after "
               f"{attempts} attempts; git's last words follow", last)
    return result


def checked_out(lines: list[str]) -> bool:
    """git's receive.denyCurrentBranch refusal (12 lines of advice we replace by one)."""
    return any("denyCurrentBranch" in line or "branch is currently checked out" in line
               or "refusing to update checked out branch" in line for line in lines)


def backoff(attempt: int) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^attempt)], so racing publishers spread."""
    return random.uniform(0.05, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt))


def _build(target: Target, pending: list[Item], message: str, result: Result
           ) -> tuple[str | None, list[Item]]:
    """A verified commit of the pending items on the current tip (refusing, by name, the
    items whose files break a rule); (None, []) when nothing is left to push."""
    from git_elite.edges import cache, git, gitcheck

    repo = git.open_repo(target.cache)
    tip = cache.tip(target.cache, target.branch)
    if tip is None:
        raise RegistryError(f"{target.registry.name}: no branch {target.branch} (create the "
                            "registry with `git elite init` and push it first)")
    gitcheck.warm(repo, tip)  # other writers' commits since our last: O(their changes)
    parent = git.state_at(repo, tip)
    if _unpinned(parent):  # written before SPEC §6.2: the upgrade commit goes first
        tip = git.build_commit(repo, tip, _pinned_index(parent), "Pin the index (SPEC §6.2)"
                               "\n\nIndex files only, made by git elite publish.\n")
        parent = git.state_at(repo, tip)
    fresh = [i for i in pending if all(parent.read(p) == d for p, d in i.files.items())]
    result.add(fresh, UP_TO_DATE)
    pending = [i for i in pending if i not in fresh]
    while pending:
        commit = git.build_commit(repo, tip, _with_index(parent, pending), message)
        problems = _check(repo, commit)
        if not problems:
            return commit, pending
        blamed = [i for i in pending if any(i.owns(p.path) for p in problems)] or pending
        for item in blamed:
            mine = [p for p in problems if item.owns(p.path)] or problems
            result.add([item], REFUSED, refusal(mine[0]), also_lines(mine[1:]))
        pending = [i for i in pending if i not in blamed]
    return None, []


def _unpinned(parent: Any) -> bool:
    """A format-2 registry whose head was written before SPEC §6.2 (no pins)."""
    from git_elite.core import pinning

    return pinning.written_before_pins(parent)


def _pinned_index(parent: Any) -> dict[str, bytes | None]:
    """The upgrade of an unpinned format-2 registry: every index file rebuilt, those that
    differ (what `git elite index` writes)."""
    from git_elite.core import engine

    return {p: d for p, d in engine.full_index(parent).items() if parent.read(p) != d}


def _with_index(parent: Any, items: list[Item]) -> dict[str, bytes | None]:
    from git_elite.core.state import Change, Overlay
    from git_elite.edges import gitcheck

    files: dict[str, bytes | None] = {}
    for item in items:
        files.update(item.files)
    changes = [Change(p, parent.read(p), d) for p, d in sorted(files.items())
               if parent.read(p) != d]
    files.update(gitcheck.rebuild_index(parent, changes, Overlay(parent, changes)))
    return files


def _check(repo: Any, commit: str) -> list[Problem]:
    """The server hook's check, with this machine's clock (default elite.maxClockSkew)."""
    from git_elite.edges import gitcheck, progress

    with progress.meter("files", "publish: checking the commit"):
        return gitcheck.check_commit(repo, commit, now=int(time.time()))


def announce(rid: str) -> str:
    """`rad sync --announce` after a push to a Radicle remote; what happened, in a line."""
    if shutil.which("rad") is None:
        return f"`rad` is not on PATH: run `rad sync {rid} --announce` to tell the network"
    proc = subprocess.run(["rad", "sync", rid, "--announce"], capture_output=True, check=False)
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        return f"`rad sync --announce` failed: {detail[-1] if detail else proc.returncode}"
    return f"announced {rid} (rad sync --announce)"
