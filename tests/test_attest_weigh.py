"""Readers' weighing of attestations (SPEC §5.8, §8): only DIDs the reader trusts count,
pooled for `discover --attested`; a Sybil ring moves nothing for a reader who trusts none
of it. Pure: documents and candidates in, summaries and rows out."""

from __future__ import annotations

from typing import Any

from fixtures import generate
from git_elite.core import attest, discover, documents, indexing

AGENT = "ab" * 32
OTHER = "cd" * 32
CREATED = 1767225600


def attestation(who: str, rate: float, total: int, *, agent: str = AGENT, recent: int = 20,
                revoked: bool = False, types: dict[str, Any] | None = None
                ) -> documents.Document:
    body: dict[str, Any] = {
        "type": "attestation", "schema_version": 1, "agent_id": agent, "created_at": CREATED,
        "revoked": revoked}
    if not revoked:
        body.update(metrics={"success_rate": rate, "total_tasks": total,
                             "avg_duration_ms": 1000, "recent_tasks_7d": recent},
                    task_type_stats=types or {}, method={"suite": "s", "evals_sha256": "0" * 64},
                    eval_window={"from_ts": 0, "to_ts": CREATED})
    signed = documents.sign(body, generate.key(who))
    raw = documents.to_bytes(signed)
    return documents.parse(raw, f"{who}.json", documents.ATTESTATION)


def did(who: str) -> str:
    return generate.key(who).did


def test_only_trusted_attesters_count_and_revoked_ones_do_not() -> None:
    docs = [attestation("bob", 0.7, 100), attestation("dave", 0.95, 50),
            attestation("eve", 0.1, 10, revoked=True)]
    summary = attest.weigh(docs, {did("bob"): (did("bob"),)}, None)
    assert summary.count == 2
    assert [w.attester for w in summary.trusted] == [did("bob")]
    assert summary.to_dict() == {"count": 2, "trusted": [
        {"attester": did("bob"), "success_rate": 0.7, "total_tasks": 100,
         "created_at": CREATED}]}
    assert summary.disagreement(0.91) == -0.21


def test_pooled_numbers_sum_successes_and_tasks() -> None:
    docs = [attestation("bob", 0.5, 100, recent=10), attestation("carol", 1.0, 100, recent=5)]
    trusted = {did("bob"): (did("bob"),), did("carol"): (did("carol"),)}
    summary = attest.weigh(docs, trusted, None)
    assert summary.pooled() == (0.75, 200, 15)
    assert summary.score_ppm() == indexing.score(0.75, 200, 15)[1]


def test_task_type_uses_that_types_numbers_or_nothing() -> None:
    docs = [attestation("bob", 0.9, 100, types={"search": {"success_rate": 0.4, "count": 30}}),
            attestation("carol", 0.9, 100)]
    trusted = {did("bob"): (), did("carol"): ()}
    summary = attest.weigh(docs, trusted, "search")
    assert [(w.attester, w.success_rate, w.total_tasks) for w in summary.trusted] == [
        (did("bob"), 0.4, 30)]


def candidate(agent: str, owner: str, rate: float, total: int, count: int) -> discover.Candidate:
    _, score = indexing.score(rate, total, total)
    entry = {"owner_did": did(owner), "elite": True, "success_rate": rate,
             "total_tasks": total, "recent_tasks_7d": total, "score_ppm": score,
             "created_at": CREATED, "attestations": count}
    return discover.Candidate("reg", agent, entry, discover.GENERAL, rate, total, score)


def test_sybil_ring_moves_nothing_for_a_reader_who_trusts_none_of_it() -> None:
    """mallory's agent is attested 0.99 by five fresh keys of hers; honest alice's agent has
    one attestation by bob, whom the reader trusts. The ring changes no number the reader
    sees and never enters --attested."""
    ring = ["carol", "dave", "eve", "server", "rotated"]
    docs = {AGENT: [attestation(w, 0.99, 1000, agent=AGENT) for w in ring],
            OTHER: [attestation("bob", 0.85, 120, agent=OTHER)]}
    trusted = {did("bob"): (did("bob"),)}
    sybil = candidate(AGENT, "mallory", 0.99, 60, len(ring))
    honest = candidate(OTHER, "alice", 0.9, 120, 1)
    groups = discover.merge([sybil, honest])

    def weigh(c: discover.Candidate) -> attest.Summary:
        return attest.weigh(docs[c.agent_id], trusted, None)

    assert weigh(sybil).trusted == () and weigh(sybil).score_ppm() is None
    rows, dropped = discover.select_attested(groups, discover.Filters(), trusted,
                                             lambda c: [], weigh)
    assert dropped == [] and [r.candidate.agent_id for r in rows] == [OTHER]
    assert rows[0].candidate.score_ppm == indexing.score(0.85, 120, 20)[1]
    plain, _ = discover.select(groups, discover.Filters(), trusted, lambda c: [])
    without, _ = discover.select(discover.merge([honest]), discover.Filters(), trusted,
                                 lambda c: [])
    assert [r.candidate for r in plain if r.candidate.agent_id == OTHER] == \
        [r.candidate for r in without]  # the honest agent's numbers did not move
    shown = discover.Row(1, sybil, ("reg",), False, (), weigh(sybil)).to_dict()
    assert shown["attestations"] == {"count": 5, "trusted": [], "max_disagreement": None}
    assert shown["success_rate"] == 0.99 and shown["score_ppm"] == sybil.score_ppm


def test_trusting_one_ring_member_is_what_moves_the_ranking() -> None:
    docs = [attestation("carol", 0.99, 1000)]
    assert attest.weigh(docs, {}, None).trusted == ()
    assert attest.weigh(docs, {did("carol"): ()}, None).pooled() == (0.99, 1000, 20)


def test_attested_filters_apply_to_the_attested_numbers() -> None:
    docs = [attestation("bob", 0.6, 100)]
    honest = candidate(AGENT, "alice", 0.95, 100, 1)
    trusted = {did("bob"): ()}

    def weigh(c: discover.Candidate) -> attest.Summary:
        return attest.weigh(docs, trusted, None)

    groups = discover.merge([honest])
    rows, _ = discover.select_attested(groups, discover.Filters(min_success=0.9), trusted,
                                       lambda c: [], weigh)
    assert rows == []
    rows, _ = discover.select_attested(groups, discover.Filters(min_success=0.5), trusted,
                                       lambda c: [], weigh)
    assert len(rows) == 1 and rows[0].candidate.success_rate == 0.95
