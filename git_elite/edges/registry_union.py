"""Several registries are one view (issue 27 item 1; docs/discover.md "Several registries"):
what each registry that holds an agent says about it is united — the newest signed version
wins (ties by registry order, core/discover.merge), attestations are read from every
registry that holds the agent (newest per attester), and a tombstone signed by the agent's
owner in any registry withdraws it from the view."""

from __future__ import annotations

from git_elite.core import discover, documents
from git_elite.core.attest_summary import Summary
from git_elite.core.errors import Problem
from git_elite.edges import output

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any


def withdrawn_elsewhere(sources: Sequence[Any], candidate: discover.Candidate
                        ) -> Problem | None:
    """A valid tombstone for the candidate's agent, signed by the same owner, in another of
    the registries read (one read per registry, only for agents about to be shown)."""
    for source in sources:
        if source.name == candidate.registry:
            continue
        path = source.agent_path(candidate.agent_id, "tombstone.json")
        raw = source.read(path)
        if raw is None:
            continue
        doc, problems = documents.check(raw, path, documents.TOMBSTONE)
        if doc is None or problems or doc.body.get("agent_id") != candidate.agent_id \
                or doc.body.get("owner_did") != candidate.owner_did:
            continue  # not the owner's withdrawal of this agent: it says nothing here
        return Problem("deletion", path, f"withdrawn by its owner in registry {source.name} "
                       f"(tombstone: {doc.body.get('reason', '')})")
    return None


def verifier(sources: Sequence[Any], check: Callable[[discover.Candidate], Sequence[Problem]]
             ) -> Callable[[discover.Candidate], list[Problem]]:
    """`check`, and then: not withdrawn in another registry (several registries only)."""
    def verify(candidate: discover.Candidate) -> list[Problem]:
        problems = list(check(candidate))
        if problems or len(sources) < 2:
            return problems
        gone = withdrawn_elsewhere(sources, candidate)
        return [gone] if gone is not None else []

    return verify


def weigher(sources: Sequence[Any], trusted: Mapping[str, Sequence[str]],
            task_type: str | None, groups: Mapping[str, list[discover.Candidate]]
            ) -> Callable[[discover.Candidate], Summary]:
    """Candidate -> Summary: the verified attestations of its agent in every registry
    that lists it (`groups`), the newest per attester, weighed by the trust set (bad ones
    are named on stderr and left out). Only registries whose entry counts one are read."""
    by_name = {s.name: s for s in sources}

    def weigh(candidate: discover.Candidate) -> Summary:
        holders = groups.get(candidate.agent_id) or [candidate]
        newest: dict[str, documents.Document] = {}
        for held in holders:
            if not discover.attested_count(held):
                continue
            source = by_name[held.registry]
            # a pinned head names each live attestation's digest (docs/spec.md §6.2): only
            # those bytes are read; an unpinned head (format 1, written before the pins)
            # pins none
            from git_elite.core import attest_read

            pinned = source.index().pinned
            digests = held.entry.get("attestation_sha256") if pinned else None
            docs, warnings = attest_read.attestations(
                source, held.agent_id,
                digests if isinstance(digests, dict) else ({} if pinned else None))
            for line in warnings:
                output.warn(line)
            for doc in docs:
                attester = str(doc.body["attester"])
                if attester not in newest or doc.created_at > newest[attester].created_at:
                    newest[attester] = doc
        if not newest:  # nothing attested (attest.weigh of none: the same, without its imports)
            return Summary(0, ())
        from git_elite.core import attest

        return attest.weigh(list(newest.values()), trusted, task_type)

    return weigh
