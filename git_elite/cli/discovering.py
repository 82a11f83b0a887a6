"""The body of `git elite discover` (SPEC §6, §8, §10, §11), without the command framework:
`commands/discover.py` (click: -h, usage errors) and the launcher (`fastpath`, which answers
`git elite discover …` itself when it can parse every argument exactly as click would) both
call `run`. Also the readers `import` and the MCP server share: `open_sources`,
`trust_paths`, `fresh`."""

from __future__ import annotations

from git_elite.core.errors import EliteError, RegistryError, UsageError
from git_elite.edges import output

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

DEFAULT_TOP = 20


class Options(NamedTuple):
    """discover's options, as click gives them to `commands/discover.command`."""

    names: tuple[str, ...] = ()
    task_type: str | None = None
    top: int = DEFAULT_TOP
    min_success: float | None = None
    min_tasks: int | None = None
    trusted_only: bool = False
    attested: bool = False
    as_json: bool = False
    offline: bool = False
    httpd_url: str | None = None
    rid: str | None = None
    urls: tuple[str, ...] = ()
    allow_stale: bool = False


def run(opts: Options, now: int) -> int:
    """List the best agents (see `git elite discover -h`); `now` is the command's time."""
    names, task_type, top, min_success, min_tasks, trusted_only, attested, as_json, \
        offline, httpd_url, rid, urls, allow_stale = opts
    from git_elite.core import discover
    from git_elite.edges import registry_sources, registry_union

    sources = open_sources(names, httpd_url, rid, offline, urls, now=now,
                           allow_stale=allow_stale)
    trusted, aliases = trust_paths(sources, task_type, now)
    filters = discover.Filters(top, min_success, min_tasks, trusted_only)
    plain = filters == discover.Filters(top) and not attested
    # one registry: each agent has one candidate, so the filters can drop the others as the
    # shards are read (several: a filtered-out newer version must still win its group)
    keep = None if plain or attested or len(sources) != 1 else \
        (lambda c: discover.passes(c, filters, trusted))
    found, complete = registry_sources.listing(sources, task_type, top if plain else 0, keep,
                                               profiles=False)
    order = {s.name: i for i, s in enumerate(sources)}  # ties go to the registry named first
    groups = discover.merge(found, order)
    weigh = registry_union.weigher(sources, trusted, task_type, groups)
    check = registry_union.verifier(sources, registry_sources.verifier(sources, extras=False,
                                                                       profiles=False))
    if attested:
        rows, dropped = discover.select_attested(groups, filters, trusted, check, weigh)
    else:
        rows, dropped = discover.select(groups, filters, trusted, check)
        if not complete and len(rows) < top:  # some of a head's top were dropped: read all
            found, _ = registry_sources.listing(sources, task_type, 0)
            groups.clear()
            groups.update(discover.merge(found, order))
            rows, dropped = discover.select(groups, filters, trusted, check)
        rows = [row._replace(attestations=weigh(row.candidate)) for row in rows]
    for source in sources:
        for line in source.index().warnings:
            output.warn(line)
    for item in dropped:
        for problem in item.problems:
            output.warn(f"{item.candidate.registry}: agent {item.candidate.agent_id[:12]} "
                        f"dropped: {problem.line()}")
    show(rows, aliases, as_json, {s.name: s.freshness for s in sources})
    registry_sources.remember_shown(sources)  # the agents shown: no copy may go back on them
    if task_type and not rows:
        _known_types(sources, task_type)
    return _rolled_back(dropped)


def _rolled_back(dropped: Sequence[Any]) -> int:
    """Exit 1 when an agent was left out because the copy read went back on a manifest
    this reader had shown (SPEC §6.2, docs/freshness.md); the rest is shown all the same
    (stdout stays one JSON document with --json)."""
    rolled = sum(1 for item in dropped if any(p.rule == "rollback" for p in item.problems))
    if not rolled:
        return 0
    output.info(f"git-elite: error: [rollback] {rolled} agent(s) served older than this "
                "reader already showed from the same registry were left out (above): the "
                "copy read is rolled back (docs/freshness.md)")
    return 1


def _known_types(sources: Sequence[Any], task_type: str) -> None:
    """A task type no registry ranks: name the ones they do (from their index heads)."""
    known: set[str] = set()
    for source in sources:
        rankings = source.index().head.get("rankings")
        if isinstance(rankings, dict):
            known.update(str(k) for k in rankings if k != "general")
    if task_type not in known:
        output.info(f"git-elite: no registry ranks task type {task_type!r}; the task types "
                    f"ranked here: {', '.join(sorted(known)) or 'none'}")


def open_sources(names: Sequence[str], httpd_url: str | None, rid: str | None,
                 offline: bool, urls: Sequence[str] = (), *, now: int,
                 allow_stale: bool = False) -> list[Any]:
    """The registries to read, each pinned at a tip with its IDENTITY.json checked; those
    that cannot be read (or fail the Radicle checks) are named on stderr and left out. A
    registry whose timestamp says the copy is not current stops the command (exit 1)
    unless `allow_stale` (SPEC §6.1)."""
    from git_elite.edges import known_registries, registry_sources

    if bool(httpd_url) != bool(rid):
        raise UsageError("--httpd and --rid go together")
    openers: list[tuple[str, Any]] = []
    if httpd_url and rid:
        openers.append((rid, lambda: registry_sources.httpd_source(httpd_url, rid)))
    for name in names:
        openers.append((name, lambda n=name: registry_sources.cache_source(
            known_registries.resolve(n), offline)))
    for url in urls:
        openers.append((url, lambda u=url: registry_sources.url_source(u)))
    if not openers:
        here = _here()
        if here is not None:
            return _admit([("this working copy", lambda: here)], now, allow_stale)
        from pathlib import Path

        known = known_registries.known_registries(Path.cwd())
        if not known:
            raise RegistryError("no registry to read: pass --registry URL, run inside a "
                                "registry clone, or `git elite registry add NAME URL`")
        openers = [(r.name, lambda r=r: registry_sources.cache_source(r, offline)) for r in known]
    return _admit(openers, now, allow_stale)


def _here() -> Any:
    import os

    from git_elite.edges import registry_sources

    return registry_sources.worktree_source(os.getcwd())  # (Path.cwd())


def _open_all(openers: Sequence[tuple[str, Any]]) -> list[Any]:
    """Every opener's source or its EliteError, the registries fetched at the same time
    (each bounded by its own deadline): one stalled server delays no other."""

    def attempt(opener: Any) -> Any:
        try:
            return opener()
        except EliteError as err:
            return err

    if len(openers) == 1:  # no thread pool (concurrent.futures and logging: ~3 ms to import)
        return [attempt(openers[0][1])]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, len(openers))) as pool:
        return list(pool.map(attempt, [opener for _, opener in openers]))


def _admit(openers: Sequence[tuple[str, Any]], now: int, allow_stale: bool) -> list[Any]:
    sources = []
    for (name, _), source in zip(openers, _open_all(openers), strict=True):
        if isinstance(source, EliteError):
            if len(openers) == 1:
                raise source  # the one registry asked for: its own error, said once
            output.warn(f"registry {name} cannot be read: {source}")
            continue
        check = source.radicle
        for note in (check.notes if check else ()) + tuple(source.notes):
            output.info(f"git-elite: {source.name}: {note}")
        if check is not None and check.problems:
            for problem in check.problems:
                output.warn(f"{source.name}: {problem.line()}")
            output.warn(f"registry {source.name} is not verified by Radicle; its results "
                        "are not shown")
            continue
        if check is not None and check.ok:
            output.info(f"git-elite: {source.name}: Radicle: owner is a delegate, tip "
                        f"{source.tip[:12]} signed by {len(check.signed_by)} delegate(s)")
        fresh(source, now, allow_stale)
        sources.append(source)
    if not sources:
        raise RegistryError("no registry could be read")
    return sources


def fresh(source: Any, now: int, allow_stale: bool) -> None:
    """SPEC §6.1 for one registry read: say how fresh it is, refuse a stale copy (exit 1,
    one line) or, with --allow-stale, warn."""
    from git_elite.edges import freshness, identity_seen, pinned_read

    try:
        pinned_read.check_identity(source)  # the head pins the IDENTITY.json it was built with
    except RegistryError as err:
        raise RegistryError(err.message, rule=err.rule,
                            path=f"{source.name}: {err.path}") from None
    identity_seen.check_source(source)  # a rolled-back identity: refused, even stale-allowed
    from git_elite.core import timestamp

    result = freshness.of_source(source, now)
    source.freshness = result
    accepted = logged(source)
    # the head is chained to a signature accepted for this read (a stale timestamp let
    # through by --allow-stale is not one): discover may then leave pinned manifests'
    # profiles unread (registry_sources.pinned_profiles, docs/discover.md)
    source.signed_head = result.case == timestamp.FRESH or accepted is not None
    if result.ok:
        if result.case == "fresh":
            output.info(f"git-elite: {source.name}: {result.message}")
        return
    if not allow_stale:
        raise freshness.refusal(result, source.name)
    output.warn(f"{result.line(source.name)} (--allow-stale: read anyway)")


def logged(source: Any) -> Any:
    """SPEC §15 for one registry read: a registry with a log role is read only when the
    witnessed log shows this state (rule `log`, or `split-view` for a fork); no
    --allow-stale for this. The accepted checkpoint (None: no log role)."""
    from git_elite.core import documents, layout
    from git_elite.core.logrole import LogRole

    identity = documents.parse(source.identity_raw, layout.IDENTITY,
                               documents.REGISTRY_IDENTITY).body
    if LogRole.of(identity) is None:  # no log role: logread.of_source's None, no imports
        return None
    from git_elite.core.witnessed import LogError
    from git_elite.edges import logread

    try:
        accepted = logread.of_source(source)
    except LogError as err:
        raise RegistryError(err.message, rule=err.rule, path=source.name) from None
    if accepted is not None:
        output.info(f"git-elite: {source.name}: {accepted.line()}")
    return accepted


def trust_paths(sources: Sequence[Any], task_type: str | None, now: int,
                unpinned: list[str] | None = None
                ) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """did -> best trust path (SPEC §8) from the local trust set and the endorsements and
    rotations of the registries read; and did -> alias from the trust set. The warnings of
    documents dropped for their pin (`[index]`, SPEC §6.2) are also added to `unpinned`."""
    from git_elite.core import trust
    from git_elite.edges import registry_sources, store, trusted_dids

    local = registry_sources.local_trust_files(store.home_dir())
    endorsements, rotations, warnings = registry_sources.trust_documents(sources, local)
    for line in warnings:
        output.warn(f"{line} (ignored for trust)")
        if unpinned is not None and "[index]" in line:
            unpinned.append(line)
    trust_set = trusted_dids.local()
    graph = trust.edges(endorsements, rotations, now)
    aliases = {e.did: e.alias for e in trust_set.trusted if e.alias}
    return trust.best_paths(trust_set, graph, task_type or trust.ANY), aliases


def short_did(did: str) -> str:
    nid = did.removeprefix("did:key:")
    return f"{nid[:12]}…" if len(nid) > 12 else nid


def _where(winner: str, sources: Sequence[str]) -> str:
    """The registry whose copy is shown, and which others hold the agent (up to two named)."""
    others = [s for s in sources if s != winner]
    if not others:
        return winner
    return f"{winner} (+{','.join(others)})" if len(others) <= 2 else \
        f"{winner} (+{len(others)})"


# (name, drop) of each column (core/columns.Column, made when a table is printed: --json
# needs none of it)
COLUMNS = (("rank", 3), ("agent", 0), ("owner", 2), ("trusted", 0), ("success", 0),
           ("tasks", 4), ("score", 0), ("task type", 5), ("registry", 6))


def score(ppm: int) -> str:
    """score_ppm as the decimal people read (0.739); --json keeps score_ppm."""
    return f"{ppm / 1_000_000:.3f}"


def owner_name(did: str, trusted: bool, aliases: dict[str, str]) -> str:
    alias = aliases.get(did) if trusted else None
    return alias or short_did(did)


def show(rows: Sequence[Any], aliases: dict[str, str], as_json: bool,
         freshness: dict[str, Any] | None = None) -> None:
    if as_json:
        fresh = freshness or {}
        output.emit_json([{**row.to_dict(), **_fresh_json(fresh.get(row.candidate.registry))}
                          for row in rows])
        return
    if not rows:
        output.info("git-elite: no agent matches")
        return
    extra = any(row.attestations is not None and row.attestations.count for row in rows)
    table = []
    for row in rows:
        c = row.candidate
        table.append([row.rank, c.agent_id[:12], owner_name(c.owner_did, row.trusted, aliases),
                      "✓" if row.trusted else "-", f"{c.success_rate:.2f}", c.total_tasks,
                      *(attested_cells(row) if extra else []), score(c.score_ppm),
                      c.task_type, _where(c.registry, row.sources)])
    from git_elite.core.columns import Column

    named = [*COLUMNS[:6], *([("attested", 1), ("max Δ", 1)] if extra else []), *COLUMNS[6:]]
    columns = [Column(name, drop) for name, drop in named]
    output.table(None, columns, table)


def attested_cells(row: Any) -> list[str]:
    """`attested`: pooled trusted rate (trusted/live count); `max Δ`: the largest gap
    between one trusted attestation and the owner's own rate, signed (attested − own)."""
    summary = row.attestations
    if summary is None or not summary.count:
        return ["-", "-"]
    pooled = summary.pooled()
    if pooled is None:
        return [f"- (0/{summary.count})", "-"]
    return [f"{pooled[0]:.2f} ({len(summary.trusted)}/{summary.count})",
            f"{summary.disagreement(row.candidate.success_rate):+.2f}"]


def _fresh_json(result: Any) -> dict[str, Any]:
    """`freshness` of a row's registry in `discover --json` (SPEC §6.1), present when the
    registry declares a timestamp role."""
    if result is None or result.case == "undeclared":
        return {}
    return {"freshness": result.to_dict()}
