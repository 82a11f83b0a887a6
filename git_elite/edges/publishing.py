"""`publish` as a function (SPEC §10; issue 27 items 1–4): which local manifests go
(edges/projects: this project's, not another's), the repo_ref each records (kept unless told
otherwise), and, on the registry's tip, the agents withdrawn there (skipped there only) and the
agents someone else owns (their config measured by us: an attestation, SPEC §5.8). The
command line (cli/commands/publish.py) parses and prints; `publish --from-evals --min-new`
(edges/evalwatch) calls `publish` here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from git_elite.core import attest, documents, keys, layout
from git_elite.core.errors import EliteError, RegistryError
from git_elite.edges import output, projects, succession
from git_elite.edges import publish as core
from git_elite.edges.known_registries import Registry

NO_MANIFESTS = ("no manifests in {} (run `git elite generate`; it writes only the agents "
                "that qualify)")
KEEP = object()  # --repo-ref not given: record this project's, else keep the manifest's


@dataclass(frozen=True)
class Request:
    """What to publish and how: folders (empty = this project's store), registry name or URL,
    `repo_ref` (KEEP, None for "none", or a URL), and what to do with others' agents."""

    dirs: tuple[Path, ...] = ()
    registry: str | None = None
    no_push: bool = False
    repo_ref: object = KEEP
    as_attestation: bool = False
    suite: str = "local"


def publish(request: Request, key: keys.Keypair, now: int, cwd: Path) -> core.Result:
    """Load, re-sign and push; the Result says what happened to each agent."""
    folders = select(request, cwd)
    registry = core.choose(request.registry)
    result = core.Result(registry.name)
    agents = load(folders, request, key, now, cwd, result)
    if agents:
        push_agents(registry, agents, key, now, request, result)
    return result


def select(request: Request, cwd: Path) -> list[Path]:
    """The folders to publish: the given ones, else this project's store (edges/projects)."""
    if request.dirs:
        return list(request.dirs)
    project = projects.here(cwd)
    folders, others = projects.dirs_for(project)
    if not folders:
        raise EliteError(NO_MANIFESTS.format(project.root if project else projects.elite_root()))
    if others:
        output.info(f"git-elite: {len(others)} manifest(s) made in other project(s) left "
                    "alone (publish them from there, or from outside any git repository)")
    return folders


def load(folders: list[Path], request: Request, key: keys.Keypair, now: int, cwd: Path,
         result: core.Result) -> list[core.LocalAgent]:
    """Read, check ownership, re-sign for the repo we stand in, and save back."""
    repo_ref = _wanted_ref(request.repo_ref, cwd)
    rotations = succession.local_rotations()
    agents: dict[str, core.LocalAgent] = {}
    for folder in folders:
        if not request.dirs and not (folder / "manifest.json").exists() and \
                (folder / "tombstone.json").exists():
            continue  # unpublish's copy of a tombstone, no manifest left to publish
        try:
            agent = core.load_dir(folder)
        except EliteError as err:
            result.add([core.Item(folder.name, {})], core.REFUSED, str(err))
            continue
        steps = succession.chain(agent.body["owner_did"], key.did, rotations)
        if steps is None and not request.as_attestation:
            result.add([core.Item(agent.agent_id, {})], core.REFUSED,
                       f"owned by {agent.body['owner_did']}, not this node's {key.did}")
            continue
        if steps:  # the old key's manifest: its successor (this key) takes it over
            output.info(f"{agent.agent_id[:12]}: owned by your rotated key "
                        f"{agent.body['owner_did']}; re-signed by {key.did}")
            agent = succession.adopt(agent, key, now)
            core.save_local(agent)
            result.rotations.update(steps)
        seen = agents.get(agent.agent_id)
        if seen is not None:  # made in two places: the newer goes, and we say which
            newer, older = (agent, seen) if agent.body["created_at"] > seen.body["created_at"] \
                else (seen, agent)
            output.info(f"git-elite: {agent.agent_id[:12]}: made in {newer.folder.parent} and "
                        f"{older.folder.parent}; publishing the newer ({newer.folder})")
            if newer is seen:
                continue
        agents[agent.agent_id] = agent if steps is None else \
            resign(agent, key, now, repo_ref)
    return list(agents.values())


def _wanted_ref(given: object, cwd: Path) -> dict[str, Any] | None:
    """The repo_ref to record: --repo-ref none / URL, else this project's (None = keep)."""
    if given is KEEP:
        return core.repo_ref_here(cwd)
    if given is None:
        return {"type": "none"}
    from git_elite.core.generate import recordable_url

    ref: dict[str, Any] = {"type": "git", "url": recordable_url(str(given))}
    here = core.repo_ref_here(cwd)
    if here is not None:
        ref.update({k: here[k] for k in ("commit", "path") if k in here})
    return ref


def resign(agent: core.LocalAgent, key: keys.Keypair, now: int,
           repo_ref: dict[str, Any] | None, previous: bytes | None = None) -> core.LocalAgent:
    fresh = core.prepare(agent, key, now, repo_ref, previous)
    if fresh.manifest != agent.manifest:
        core.save_local(fresh)
    return fresh


def push_agents(registry: Registry, agents: list[core.LocalAgent], key: keys.Keypair,
                now: int, request: Request, result: core.Result) -> None:
    items = [core.Item(a.agent_id, {}) for a in agents]
    try:
        target = core.open_target(registry, key)
    except RegistryError as err:
        result.add(items, core.NOT_PUSHED, f"{err.message}; the signed manifests are kept in "
                   f"{projects.elite_root()}")
        return
    from git_elite.edges import cache

    # the cache is read from here on: damage git reports there means one fresh clone and a
    # second try (nothing was pushed yet), or one line naming the cache (cache.Mender)
    done = cache.Mender(target.registry)(lambda: _build_and_push(
        target, agents, key, now, request, result.rotations))
    merge(result, done)
    if target.rid and done.commit and not request.no_push:
        output.info(core.announce(target.rid))


def _build_and_push(target: core.Target, agents: list[core.LocalAgent], key: keys.Keypair,
                    now: int, request: Request, rotations_raw: Iterable[bytes]
                    ) -> core.Result:
    state = core.tip_state(target)
    early = core.Result(target.registry.name)
    ready: list[core.Item] = []
    for agent in agents:
        item = _item_for(agent, state, key, now, request, early, target.registry.name)
        if item is not None:
            ready.append(item)
    rotations = [succession.rotation_item(raw) for raw in sorted(rotations_raw)]
    if not ready:
        return early
    done = core.publish_files(target, rotations + ready,
                              f"publish {len(ready)} agent(s)\n\nby {key.did}\n",
                              push=not request.no_push)
    done.outcomes = early.outcomes + done.outcomes
    return done


def _item_for(agent: core.LocalAgent, state: Any, key: keys.Keypair, now: int,
              request: Request, result: core.Result, registry: str) -> core.Item | None:
    """What goes into this registry for `agent`: its manifest; nothing when it was withdrawn
    here; an attestation when someone else owns the agent here."""
    def read(name: str) -> bytes | None:
        return state.read(layout.agent_path(agent.agent_id, name)) if state is not None \
            else None

    if read("tombstone.json") is not None and not request.dirs:  # named: [deletion] says why
        output.info(f"git-elite: skipping {agent.agent_id[:12]}: withdrawn in {registry} "
                    "(tombstone); it stays publishable to other registries")
        return None
    previous = read("manifest.json")
    owner = _owner(previous)
    if owner is not None and agent.body["owner_did"] != owner and succession.chain(
            owner, key.did, succession.local_rotations()) is None:
        return _other_owner(agent, owner, state, key, now, request, result)
    if agent.body["owner_did"] != key.did:
        result.add([core.Item(agent.agent_id, {})], core.REFUSED,
                   f"owned by {agent.body['owner_did']}, not this node's {key.did}")
        return None
    ready = resign(agent, key, now, _ref_choice(request, agent, previous), previous)
    say_repo_ref(ready)
    return core.agent_item(ready)


def _owner(raw: bytes | None) -> str | None:
    try:
        return str(documents.parse(raw, "manifest.json", documents.MANIFEST)
                   .body["owner_did"]) if raw is not None else None
    except EliteError:
        return None


def _ref_choice(request: Request, agent: core.LocalAgent, previous: bytes | None
                ) -> dict[str, Any] | None:
    """Provenance never lost silently: a manifest without a repository (made outside any
    git repo) keeps the repository the registry's version records, unless --repo-ref says."""
    if request.repo_ref is not KEEP or previous is None:
        return None
    mine = agent.body.get("repo_ref") or {}
    try:
        theirs = documents.parse(previous, "manifest.json", documents.MANIFEST).body
    except EliteError:
        return None
    published = theirs.get("repo_ref") or {}
    if mine.get("type") == "none" and published.get("type") not in (None, "none"):
        output.info(f"git-elite: {agent.agent_id[:12]}: keeping the published repo_ref "
                    f"{published.get('url', published.get('type'))} (this manifest names no "
                    "repository; --repo-ref none|URL to change it)")
        return dict(published)
    return None


def say_repo_ref(agent: core.LocalAgent) -> None:
    """What was recorded, in a line; a local path as the URL is a warning with the fix."""
    ref = agent.body.get("repo_ref") or {}
    url = ref.get("url")
    if ref.get("type") == "none" or not url:
        output.info(f"git-elite: {agent.agent_id[:12]}: repo_ref none (no repository "
                    "recorded; run publish in the agent's git repo or pass --repo-ref URL)")
        return
    commit = f" at {ref['commit'][:12]}" if ref.get("commit") else ""
    output.info(f"git-elite: {agent.agent_id[:12]}: repo_ref {url}{commit}")
    if is_local_path(str(url)):
        output.warn(f"{agent.agent_id[:12]}: repo_ref.url {url} is a path on this machine, "
                    "which nobody else can fetch: set a public URL (git remote set-url origin "
                    "https://host/owner/repo.git, or publish --repo-ref URL)")


def is_local_path(url: str) -> bool:
    """A filesystem path (or file:// URL) rather than something another machine can fetch."""
    if url.startswith(("/", "./", "../", "~", "file:")) or url in (".", ".."):
        return True
    if "://" in url:
        return False
    head = url.split("/", 1)[0]
    return ":" not in head or (len(head) == 2 and head[0].isalpha())  # not scp-like host:path


def _other_owner(agent: core.LocalAgent, owner: str, state: Any, key: keys.Keypair, now: int,
                 request: Request, result: core.Result) -> core.Item | None:
    """The agent is already published by its owner: our numbers for the same config are an
    attestation (SPEC §5.8), made with --as-attestation, offered otherwise."""
    name = f"{owner}{_alias(owner)}"
    where = layout.agent_path(agent.agent_id, "manifest.json")
    if not request.as_attestation:
        result.add([core.Item(agent.agent_id, {})], core.REFUSED,
                   f"{where}: [ownership] already published by its owner {name}; your "
                   "measurement of the same agent config is an attestation (SPEC 5.8): "
                   "`git elite publish --as-attestation` publishes your numbers as one")
        return None
    if not (agent.body.get("provenance") or {}).get("evals_sha256"):
        result.add([core.Item(agent.agent_id, {})], core.REFUSED,
                   f"{where}: [ownership] already published by its owner {name}, and this "
                   "manifest carries no "
                   "provenance.evals_sha256 to attest with: `git elite attest "
                   f"{agent.agent_id[:12]} --evals LOG` measures it from your logs")
        return None
    path = attest.path(agent.agent_id, keys.nid_from_did(key.did))
    before = state.read(path)
    created = now if before is None else max(now, documents.parse(
        before, path, documents.ATTESTATION).created_at + 1)
    body = attest.from_manifest(agent.body, request.suite, created)
    raw = documents.to_bytes(documents.sign(body, key, documents.ATTESTATION))
    from git_elite.edges import store

    store.atomic_write(store.ensure_home() / "attestations" / f"{agent.agent_id}.json", raw)
    output.info(f"git-elite: {agent.agent_id[:12]}: published by its owner {name}; "
                f"publishing your measurement as an attestation ({path})")
    return core.Item(agent.agent_id, {path: raw})


def _alias(did: str) -> str:
    from git_elite.edges import store, trusted_dids

    try:
        for entry in trusted_dids.load(store.home() / "trusted-dids.json").trusted:
            if entry.did == did and entry.alias:
                return f" ({entry.alias})"
    except EliteError:
        return ""
    return ""


def merge(into: core.Result, done: core.Result) -> None:
    into.outcomes += done.outcomes
    into.commit, into.pushes, into.retries = done.commit, done.pushes, done.retries
