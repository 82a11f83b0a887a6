"""Registries opened for reading, for `discover` and `import`: which registries, their tips,
their index (`index_read.IndexReader`, either format), the files of one agent, endorsements
and Radicle checks. Verification is the rule engine's (`engine.check_change`); nothing here
re-implements a rule. Does not print.

A `Source` is one registry pinned at one tip: a cache clone (`cache.sync`), the registry
working copy you stand in (its HEAD, no fetch), or radicle-httpd (`httpd.open_repo`).
"""

from __future__ import annotations

import os

from git_elite.core import agent_pin, documents, engine, indexing, jsonstrict, layout
from git_elite.core.discover import Candidate
from git_elite.core.errors import EliteError, Problem, RegistryError
from git_elite.core.index_read import INDEX_MAX_BYTES, IndexReader
from git_elite.core.index_read import load as load_index
from git_elite.core.state import MemoryState, additions, sha256_hex
from git_elite.edges import pinned_read

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path
    from typing import Any

    from git_elite.core.radicle import RadicleCheck  # core.radicle only for a Radicle registry

__all__ = ["INDEX_MAX_BYTES", "Source", "load_index"]
AGENT_EXTRAS = ("prompt.md", "demos.json")


class Source:
    """One registry at one tip. `read(path)` gives bytes at the tip (None when absent). A
    plain class (set up by the openers below, then by the reader's checks: `check_identity`,
    `cli/discovering.fresh`), not a dataclass: `dataclasses` costs discover ~10 ms of
    start-up (docs/scale.md, "Start-up")."""

    def __init__(self, name: str, label: str, tip: str, read: Callable[[str], bytes | None],
                 documents: Callable[[], Iterator[tuple[str, bytes]]], *,
                 names: Callable[[str], list[str]] | None = None,
                 prefetch: Callable[[Sequence[str]], None] | None = None,
                 sparse: bool = False, local: bool = False, git_dir: str | Path | None = None,
                 pin_key: str | None = None, objects: Callable[[], Any] | None = None
                 ) -> None:
        self.name, self.label, self.tip = name, label, tip
        self.read, self.documents = read, documents
        self.radicle: RadicleCheck | None = None
        self.notes: list[str] = []
        self.owner_did = ""
        self.identity_raw = b""
        self.fmt = layout.FORMAT
        self._index: IndexReader | None = None
        # where refs/elite/timestamp is read (None: not over this path)
        self.repo: str | Path | None = None
        self.branch: str | None = None
        self.timestamp_ref = "refs/elite/timestamp"
        # timestamp.Freshness, set by the reader (cli/discovering.fresh)
        self.freshness: Any = None
        # now -> timestamp.Freshness, for a source with no repository to read the ref from
        # (HTTP)
        self.fresh_check: Callable[[int], Any] | None = None
        # lists a directory at the tip (None: this source cannot, e.g. radicle-httpd)
        self.names = names
        # reads paths about to be needed at once (HTTP: concurrently); None: one by one
        self.prefetch = prefetch
        # over HTTP every probe is a request: prompt.md/demos.json only when asked for and
        # then only those the manifest fingerprints (`agent_files`)
        self.sparse = sparse
        # reads files on this machine (a git repository): may be read from a forked process
        self.local = local
        # the git repository holding `tip` and its history (None: read over HTTP); names
        # the registry by its root commit in the reader's memory (edges/identity_seen)
        self.git_dir = git_dir
        self.pin_key = pin_key  # the registry's root commit, when already known
        # the batch reader's object database (catfile) of `git_dir`, for reads outside the
        # tree (the timestamp ref's commit): no process of their own (None: none open)
        self.objects = objects
        # the INDEX.json read is the one a valid timestamp (SPEC §6.1) or an accepted
        # witnessed checkpoint (§15) signs, for this read (set by cli/discovering.fresh;
        # False with a stale timestamp let through by --allow-stale, or without either role)
        self.signed_head = False
        # the reader's memory of the agents shown from this registry (edges/agents_seen)
        self.seen: Any = None

    def __repr__(self) -> str:
        return f"Source(name={self.name!r}, label={self.label!r}, tip={self.tip!r})"

    def check_identity(self) -> None:
        """IDENTITY.json at the tip: a full standalone check (threshold signatures)."""
        raw = self.read(layout.IDENTITY)
        if raw is None:
            at = f" at {self.tip[:12]}" if self.tip else ""  # over HTTP: no commit
            raise RegistryError(f"{self.name}: no IDENTITY.json{at} (not a git elite "
                                "registry)")
        doc, problems = documents.check(raw, layout.IDENTITY, documents.REGISTRY_IDENTITY)
        if doc is None or problems:
            raise RegistryError(f"{self.name}: {problems[0].line() if problems else 'bad'}")
        self.owner_did, self.identity_raw = str(doc.body["owner_did"]), raw
        self.fmt = layout.format_of(doc.body)

    def index(self) -> IndexReader:
        """The index at the tip (read once): the head, and shards on demand."""
        if self._index is None:
            self._index = IndexReader(self.read, self.name, self.tip)
        return self._index

    def agent_path(self, agent_id: str, name: str) -> str:
        return layout.agent_path(agent_id, name, self.fmt)


# the listing discover ranks ------------------------------------------------------------------
def listing(sources: Sequence[Source], task_type: str | None, top: int,
            keep: Callable[[Candidate], bool] | None = None, profiles: bool = True
            ) -> tuple[list[Candidate], bool]:
    """The candidates of every source, and whether they are the complete listing. With
    `top` > 0, a format-2 source whose head ranks `task_type` gives its first `top` from
    the head, each read from its manifest (the head and `top` agents); the others (format 1,
    filters, rankings the head does not hold) read every entry, shard by shard, keeping
    those `keep` keeps (a filter that may be applied before the candidates are merged).
    Without `profiles` (discover), a source whose profiles `check_agent` need not read
    (`pinned_profiles`) has only the manifests of its top prefetched."""
    found: list[Candidate] = []
    complete = True
    for source in sources:
        index = source.index()
        ranked = index.ranking(task_type) if 0 < top <= index.limit else None
        if ranked is None:
            found += every(source, task_type, keep)
            continue
        complete = complete and len(ranked) <= top and len(ranked) < index.limit
        if source.prefetch is not None:
            names = ("manifest.json",) if not profiles and pinned_profiles(source) else \
                ("manifest.json", "profile.json")
            source.prefetch([source.agent_path(a, n) for a in ranked[:top] for n in names])
        if index.pinned or source.git_dir is None:  # over HTTP: only pinned entries
            found += pinned_read.candidates(source, ranked[:top], task_type)
        else:  # a head written before SPEC §6.2, in git: the commit pins the manifests
            found += head_candidates(source, ranked[:top], task_type)
    return found, complete


PARALLEL_MIN_SHARDS = 16


def every(source: Source, task_type: str | None, keep: Callable[[Candidate], bool] | None
          ) -> list[Candidate]:
    """Every candidate of one source that `keep` keeps (None: all). A format-2 source on
    this machine (`local`) has its shards read and parsed on two processes (the second half
    in a forked child, which sends back only what it keeps); its index's warnings come out
    in shard order all the same."""
    from git_elite.core import discover, fanout

    index = source.index()

    def work(part: Sequence[str] | None) -> tuple[list[Candidate], list[str]]:
        start = len(index.warnings)
        kept = [c for a, e in index.entries(part)
                if (c := discover.candidate(source.name, a, e, task_type)) is not None
                and (keep is None or keep(c))]
        warned = index.warnings[start:]
        del index.warnings[start:]
        return kept, warned

    names = index.shard_names()
    halves = fanout.halves(names, work) if source.local and len(names) >= \
        PARALLEL_MIN_SHARDS else [work(None)]
    out: list[Candidate] = []
    for kept, warned in halves:
        out += kept
        index.warnings += warned
    return out


def head_candidates(source: Source, ranked: Sequence[str], task_type: str | None
                    ) -> list[Candidate]:
    """Candidates of head-ranked agents, each from its own manifest (not yet verified:
    `check_agent` does that before one is shown). Unreadable ones are left to the
    verifier, which drops them with their problem."""
    from git_elite.core import discover, shards

    limits = indexing.thresholds(_identity_body(source))
    out = []
    for agent_id in ranked:
        path = source.agent_path(agent_id, "manifest.json")
        raw = source.read(path)
        item: dict[str, Any] = {"elite": True, "score_ppm": 0, "success_rate": 0,
                                "total_tasks": 0}
        if raw is not None:
            try:
                doc = documents.parse(raw, path, documents.MANIFEST)
                if not documents.check_shape(doc):
                    item = shards.entry(raw, doc.body, limits,
                                        _attestation_count(source, agent_id, 0))
            except EliteError:
                pass
        found = discover.candidate(source.name, agent_id, item, task_type)
        if found is None:  # listed by the head but not ranked by its own manifest
            found = Candidate(source.name, agent_id, item, task_type or discover.GENERAL,
                              0, 0, 0)
        out.append(found)
    return out


def _identity_body(source: Source) -> dict[str, Any]:
    value = jsonstrict.loads(source.identity_raw, name=layout.IDENTITY,
                             max_bytes=len(source.identity_raw))
    return value if isinstance(value, dict) else {}


# verification of one shown candidate ---------------------------------------------------------
def pinned_profiles(source: Source) -> bool:
    """Whether `discover` may leave this source's profiles unread: it is read over HTTP and
    its head is the one a signature accepted for this read names (`signed_head`), so the
    chain signed head → pinned entry → manifest_sha256 pins each shown manifest's bytes,
    whose binding the server's hook checked when they were pushed (docs/discover.md). A
    git read (a clone, a cache, Radicle) reads the profile: it costs no request, and the
    tip read may be a descendant of the signed one."""
    return source.sparse and source.signed_head


def _unread_profile(source: Source, candidate: Candidate, manifest: bytes | None) -> bool:
    """Whether `discover` leaves this candidate's profile.json unread: its source
    qualifies (`pinned_profiles`) and the manifest served is exactly the one its pinned
    entry names (any other is read with its profile and refused by `_entry_problems`)."""
    pinned = candidate.entry.get("manifest_sha256")
    return (pinned_profiles(source) and manifest is not None and isinstance(pinned, str)
            and sha256_hex(manifest) == pinned)


def agent_files(source: Source, agent_id: str, extras: bool = True,
                unread_profile: Callable[[bytes | None], bool] | None = None
                ) -> dict[str, bytes]:
    """manifest.json, profile.json (and prompt.md/demos.json when present) at the tip.
    A sparse (HTTP) source reads prompt.md/demos.json only with `extras` (import) and only
    those whose fingerprint the manifest carries: `discover` shows neither, and a probe for
    a file that is not there costs a request per agent. profile.json is not read when
    `unread_profile(manifest bytes)` says so (discover under a signed head)."""
    out: dict[str, bytes] = {}
    for name in ("manifest.json", "profile.json", *AGENT_EXTRAS):
        path = source.agent_path(agent_id, name)
        if name in AGENT_EXTRAS and source.sparse and not _declared(out, path, name, extras):
            continue
        if name == "profile.json" and unread_profile is not None and unread_profile(
                out.get(source.agent_path(agent_id, "manifest.json"))):
            continue
        data = source.read(path)
        if data is not None:
            out[path] = data
    return out


def _declared(files: dict[str, bytes], path: str, name: str, extras: bool) -> bool:
    """Whether the manifest read into `files` fingerprints the extra file `name`."""
    manifest = next((raw for p, raw in files.items() if p.endswith("/manifest.json")), None)
    if not extras or manifest is None:
        return False
    field_ = "system_prompt_fingerprint" if name == "prompt.md" else "demos_fingerprint"
    try:
        body = documents.parse(manifest, path, documents.MANIFEST).body
    except EliteError:
        return False
    return isinstance(body, dict) and field_ in body


def check_agent(source: Source, candidate: Candidate, extras: bool = True,
                profiles: bool = True) -> tuple[dict[str, bytes], list[Problem]]:
    """The agent's files and every problem: the engine over (IDENTITY.json) + these files,
    then the INDEX entry against the manifest (sha256 and every number). Without
    `profiles` (discover only), a manifest whose bytes a signed head pins is checked
    without its profile.json (`_unread_profile`): every rule still runs but the profile's
    binding; `import` and `verify` always read and bind it."""
    agent_id = candidate.agent_id
    from git_elite.edges.cache import CacheDamaged

    def unread(manifest: bytes | None) -> bool:
        return _unread_profile(source, candidate, manifest)

    try:
        files = agent_files(source, agent_id, extras, None if profiles else unread)
    except CacheDamaged:
        raise
    except RegistryError as err:
        return {}, [Problem("json", source.agent_path(agent_id, "manifest.json"), err.message)]
    manifest_path = source.agent_path(agent_id, "manifest.json")
    if manifest_path not in files:
        return files, [Problem("index", manifest_path, "listed in INDEX.json but absent")]
    parent = MemoryState({layout.IDENTITY: source.identity_raw})
    new = MemoryState({layout.IDENTITY: source.identity_raw, **files})
    skipped = not profiles and source.agent_path(agent_id, "profile.json") not in files \
        and unread(files[manifest_path])
    problems = engine.check_change(parent, additions(files), new, check_index=False,
                                   legacy=True, unfetched_profiles=frozenset(
                                       [agent_id] if skipped else []))
    if problems:
        return files, problems
    problems = _entry_problems(source, candidate, files[manifest_path], manifest_path)
    return files, problems or _rollback(source, candidate, files[manifest_path], manifest_path)


def _rollback(source: Source, candidate: Candidate, raw: bytes, path: str) -> list[Problem]:
    """SPEC §6.2 (issue 24): a valid manifest older than, or equivocating with, the one
    this reader already showed of the agent from this registry is refused (`rollback`,
    whatever --allow-stale says); otherwise remembered (`remember_shown` writes it). The
    entry's created_at is the manifest's (`_entry_problems` compared every field)."""
    why = memory(source).check(candidate.agent_id, candidate.created_at, raw)
    return [] if why is None else [Problem(agent_pin.RULE, path, why)]


def memory(source: Source) -> Any:
    """The source's `agents_seen.Memory`, keyed as the identity memory is (the root commit
    over git, owner and name over HTTP): no git process when the key is known."""
    from git_elite.edges import agents_seen, identity_seen

    if source.seen is None:
        if source.git_dir is not None:
            if source.pin_key is None:
                source.pin_key = identity_seen.git_key(source.git_dir, source.tip)
            key = source.pin_key
        else:
            key = identity_seen.http_key(_identity_body(source))
        source.seen = agents_seen.Memory(key, source.name)
    return source.seen


def remember_shown(sources: Sequence[Source]) -> None:
    """Write each registry's memory of the agents just shown (one write per registry, only
    when something was learned)."""
    for source in sources:
        if source.seen is not None:
            source.seen.flush()


def _entry_problems(source: Source, candidate: Candidate, raw: bytes, path: str
                    ) -> list[Problem]:
    body = documents.parse(raw, path, documents.MANIFEST).body
    identity = jsonstrict.loads(source.identity_raw, name=layout.IDENTITY,
                                max_bytes=len(source.identity_raw))
    want = indexing.entry(raw, body, indexing.thresholds(identity))
    if "attestations" in candidate.entry:  # format 2: the live attestations, counted here
        want["attestations"] = _attestation_count(source, candidate.agent_id,
                                                  candidate.entry["attestations"])
        if "attestation_sha256" in candidate.entry:  # SPEC §6.2: their digests too
            want["attestation_sha256"] = _attestation_pins(
                source, candidate.agent_id, candidate.entry["attestation_sha256"])
    if candidate.entry.get("manifest_sha256") != sha256_hex(raw):
        return [Problem("index", path, "INDEX.json's manifest_sha256 is not the sha256 of "
                        "the manifest")]
    if dict(candidate.entry) != want:
        keys = sorted(k for k in set(want) | set(candidate.entry)
                      if candidate.entry.get(k) != want.get(k))
        return [Problem("index", path, "INDEX.json entry differs from the manifest in "
                        + ", ".join(keys))]
    return []


def _attestation_count(source: Source, agent_id: str, listed: Any) -> Any:
    """The agent's live attestations at the tip (a source that cannot list directories
    keeps the `listed` count: its attestations are not read either)."""
    from git_elite.core import rules_attest

    if source.names is None or source.fmt < 2:
        return listed
    return rules_attest.live_count(source.read, source.names,
                                   layout.agent_dir(agent_id, source.fmt))


def _attestation_pins(source: Source, agent_id: str, listed: Any) -> Any:
    """The agent's live attestations' digests at the tip (`listed` kept by a source that
    cannot list directories, as `_attestation_count` does)."""
    from git_elite.core import rules_attest

    if source.names is None or source.fmt < 2:
        return listed
    found = rules_attest.live(source.read, source.names, layout.agent_dir(agent_id, source.fmt))
    return dict(sorted(found.items())) if found else None


def verifier(sources: Sequence[Source], extras: bool = True, profiles: bool = True
             ) -> Callable[[Candidate], list[Problem]]:
    """Checks one candidate (`check_agent`); without `extras` a sparse source does not read
    prompt.md/demos.json, without `profiles` not the profile of a manifest a signed head
    pins (both: discover)."""
    by_name = {s.name: s for s in sources}

    def verify(candidate: Candidate) -> list[Problem]:
        return check_agent(by_name[candidate.registry], candidate, extras, profiles)[1]

    return verify


# endorsements and rotations -------------------------------------------------------------------
def trust_documents(sources: Sequence[Source], local: Sequence[tuple[str, bytes, str | None]]
                    ) -> tuple[list[documents.Document], list[documents.Document], list[str]]:
    """Verified endorsements and rotations from the sources (at their tips) and `local`
    (name, bytes, path under endorsements/ or None); bad ones come back as warnings."""
    found: dict[str, list[documents.Document]] = {documents.ENDORSEMENT: [],
                                                  documents.KEY_ROTATION: []}
    warnings: list[str] = []
    items = list(local)
    for source in sources:
        try:
            items += [(f"{source.name}:{path}", raw, _relative(path))
                      for path, raw in pinned_read.trust_documents(source, warnings)]
        except EliteError as err:
            if type(err).__name__ == "CacheDamaged":
                raise
            warnings.append(f"{source.name}: endorsements not read ({err.message})")
    for name, raw, relative in items:
        doc, problems = documents.check(raw, name)
        if doc is not None and not problems and doc.kind in found and _placed(doc, relative):
            found[doc.kind].append(doc)
        else:
            warnings.append(problems[0].line() if problems else f"{name}: [binding] not an "
                            "endorsement at <from-nid>/<to-nid>.json or a key rotation; ignored")
    return found[documents.ENDORSEMENT], found[documents.KEY_ROTATION], warnings


def _relative(path: str) -> str | None:
    return path.removeprefix("endorsements/") if path.startswith("endorsements/") else None


def _placed(doc: documents.Document, relative: str | None) -> bool:
    from git_elite.core import trust

    if doc.kind != documents.ENDORSEMENT:
        return relative is None
    return relative == trust.endorsement_path(doc.body["from"], doc.body["to"])


def local_trust_files(home: str | Path) -> list[tuple[str, bytes, str | None]]:
    """$AGENTD_HOME/endorsements/** and $AGENTD_HOME/rotations/*.json (pathlib only when
    there is such a folder: most readers have none)."""
    out: list[tuple[str, bytes, str | None]] = []
    if not any(os.path.isdir(os.path.join(home, name)) for name in ("endorsements",
                                                                      "rotations")):
        return out
    from pathlib import Path

    folder = Path(home) / "endorsements"
    if folder.is_dir():
        out += [(str(p), p.read_bytes(), p.relative_to(folder).as_posix())
                for p in sorted(folder.rglob("*.json"))]
    rotations = Path(home) / "rotations"
    if rotations.is_dir():
        out += [(str(p), p.read_bytes(), None) for p in sorted(rotations.glob("*.json"))]
    return out


# opening sources ------------------------------------------------------------------------------
def git_source(name: str, label: str, path: str | Path, tip: str, repo: Any = None
               ) -> Source:
    """A registry in a git repository (bare cache or working copy) at commit `tip`, read
    through `repo` (a catfile.CatRepo already open on it) or a new one."""
    from git_elite.edges import catfile, git

    # objects through one `git cat-file --batch-command` (no libgit2 import: a top 20 reads
    # a head, a shard and 20 agents); ended with this process
    opened = repo if repo is not None else catfile.open_repo(path)
    state = git.state_at(opened, tip)

    def listing() -> Iterator[tuple[str, bytes]]:
        for top in ("endorsements", "identities"):  # the trees walked by the checked reader
            for rel, data in sorted(state.subtree(top).items()):
                if rel.startswith("endorsements/") or rel.endswith("/rotation.json"):
                    yield rel, data

    def read(path: str) -> bytes | None:
        data = state.read(path)
        refused = state.refused(path) if data is None else None
        if refused is not None:  # a symlink, gitlink or oversized blob: never inflated
            raise RegistryError(f"{name}: {refused.line()}")
        return data

    return Source(name, label, tip, read, listing, names=state.names, prefetch=state.warm,
                  local=True, git_dir=path, objects=lambda: opened.odb)


def cache_source(registry: Any, offline: bool) -> Source:
    """A known or ad-hoc registry through its cache clone (fetched unless offline)."""
    from git_elite.edges import cache

    path = cache.sync(registry, offline=offline)
    branch = cache.branch(registry, path)
    tip = cache.tip(path, branch)
    if tip is None:
        raise RegistryError(f"{registry.name}: branch {branch} not found in {registry.url}")
    reader = [cache.take_reader(path)]  # --offline: the one that checked the cache

    def opener(name: str, label: str, where: str | Path, at: str) -> Source:
        repo, reader[0] = reader[0], None  # a reopen after damage starts a new one
        return git_source(name, label, where, at, repo)

    source = _mended(opener, registry, offline, path, tip)
    source.repo, source.branch = path, branch
    source.check_identity()
    if registry.url.startswith("rad:"):  # rad://… or rad:z…: core.radicle only then
        _radicle_clone(source, registry, tip)
    return source


def _radicle_clone(source: Source, registry: Any, tip: str) -> None:
    """A registry cloned from Radicle: its storage's checks and timestamp ref."""
    from git_elite.core import radicle
    from git_elite.edges import gitrad

    if not radicle.is_rad_url(registry.url):
        return
    rid = radicle.parse_url(registry.url).rid
    source.radicle = gitrad.check_storage(gitrad.storage_path(rid), rid, source.owner_did,
                                           registry.branch, tip)
    _radicle_timestamp(source)


def _mended(opener: Callable[[str, str, str | Path, str], Source], registry: Any,
            offline: bool, path: str | Path, tip: str) -> Source:
    """A cache clone's Source whose reads survive damage to the clone (`cache.Mender`): one
    re-clone, the same tip read again from the fresh clone; or one line naming the cache."""
    from git_elite.edges import cache

    inner = [opener(registry.name, registry.url, path, tip)]

    def reopen() -> None:
        inner[0] = opener(registry.name, registry.url, path, tip)

    mend = cache.Mender(registry, offline=offline, reopen=reopen)

    def read(rel: str) -> bytes | None:
        return mend(lambda: inner[0].read(rel))

    def listing() -> Iterator[tuple[str, bytes]]:
        return iter(mend(lambda: list(inner[0].documents())))

    def names(folder: str) -> list[str]:
        lister = inner[0].names
        return mend(lambda: lister(folder)) if lister is not None else []

    from git_elite.edges import identity_seen

    root = mend(lambda: identity_seen.git_key(path, tip))  # damage here: re-clone once
    def objects() -> Any:
        return inner[0].objects() if inner[0].objects is not None else None

    def prefetch(paths: Sequence[str]) -> None:
        if inner[0].prefetch is not None:  # the current one: a mend reopens `inner[0]`
            mend(lambda: inner[0].prefetch(paths) if inner[0].prefetch else None)

    return Source(registry.name, registry.url, tip, read, listing, names=names,
                  prefetch=prefetch, local=True, git_dir=path, pin_key=root,
                  objects=objects)


def _radicle_timestamp(source: Source) -> None:
    """A Radicle registry's timestamp is read from its delegates' namespaces in storage."""
    from pathlib import Path

    from git_elite.edges import freshness

    if source.radicle is not None and source.repo is not None:
        ref, where = freshness.radicle_ref(source.radicle, source.repo)
        source.timestamp_ref, source.repo = ref, Path(where)


def worktree_source(cwd: str | Path) -> Source | None:
    """The registry working copy at `cwd` (`git clone`/`rad clone`), read at HEAD, or None
    when cwd is not in a git repository whose HEAD tree has IDENTITY.json. Its paths by
    os.path (discover7: no pathlib on the read)."""
    from git_elite.edges import cache, catfile, git, store

    # one `git rev-parse`; HEAD's commit through the batch reader that then reads the tree
    found_dirs = git.run(["rev-parse", "--show-toplevel", "--absolute-git-dir"], cwd,
                         check=False)
    lines = found_dirs.stdout.decode("utf-8", "surrogateescape").splitlines()
    if found_dirs.returncode != 0 or len(lines) != 2:
        return None
    root, git_dir = store.as_path(lines[0]), lines[1]  # (str(Path(lines[0])))
    repo = catfile.CatRepo(git_dir, root, root)
    tip = repo.odb.resolve("HEAD^{commit}")
    if tip is None:
        repo.close()
        return None
    source = git_source(os.path.basename(root), root, root, tip, repo)  # (Path.name)
    if source.read(layout.IDENTITY) is None:
        return None
    source.repo = root
    source.branch = cache.head_file_branch(git_dir, root)
    source.check_identity()
    from git_elite.edges import gitrad

    found = gitrad.storage_for_worktree(root)
    if found is not None:
        rid, storage = found
        from git_elite.core.radicle import RadicleCheck

        source.radicle = gitrad.check_storage(storage, rid, source.owner_did, None, tip) \
            if storage else RadicleCheck.unchecked(rid, f"no Radicle storage for {rid} in "
                                                   f"{gitrad.rad_home() / 'storage'}")
        _radicle_timestamp(source)
    return source


def httpd_source(url: str, rid: str) -> Source:
    """A Radicle registry read through radicle-httpd at the head it reports (no clone)."""
    from git_elite.edges import httpd

    repo = httpd.open_repo(url, rid)

    def read(path: str) -> bytes | None:
        try:
            data = repo.read(path)
        except RegistryError as err:
            if " not found at " in err.message:
                return None
            raise
        return pinned_read.bounded(path, data, source, f"{url} {repo.rid}")

    from git_elite.core.radicle import RadicleCheck

    source = Source(repo.rid, f"{url} {repo.rid}", repo.head, read, lambda: iter(()))
    source.check_identity()
    problems: tuple[Problem, ...] = ()
    if source.owner_did not in repo.delegates:
        problems = (Problem("identity", "delegates", f"registry owner {source.owner_did} is "
                            f"not a delegate of {repo.rid} (as {url} reports them)"),)
    source.radicle = RadicleCheck(
        repo.rid, False, problems, notes=(
            "Radicle signed refs are not checked over radicle-httpd: only the delegates the "
            "server reports were compared with the registry owner",))
    return source


def url_source(url: str, budget: Any = None) -> Source:
    """A registry served over HTTP(S) by path (a `git elite site`, a git host's raw files,
    radicle-httpd's raw endpoint), read sparsely within a budget (sparse.py)."""
    from git_elite.edges import sparse

    registry = sparse.HttpRegistry(url, budget or sparse.budget_from_config())
    label = sparse.shown(registry.base)
    read = sparse.remembered(registry.read)
    source = Source(label, label, "", read, lambda: iter(()), prefetch=read.prefetch,
                    sparse=True)
    registry.head = lambda: source._index.head if source._index is not None else None
    source.check_identity()
    read.prefetch([layout.INDEX, *sparse.timestamp_path(source.identity_raw)])
    source.fresh_check = lambda now: sparse.freshness(source.read, source.identity_raw, now)
    return source
