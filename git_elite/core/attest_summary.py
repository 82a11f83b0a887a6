"""What a reader makes of an agent's attestations (SPEC §10 `attestations`): the trusted
ones weighed (`Weighed`) and their summary (`Summary`), as `discover` shows them. Values
only, apart from core/attest.py (which measures and checks attestations: documents, evals,
generate), so a discover that reads no attestation imports none of that."""

from __future__ import annotations

from git_elite.core import indexing

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple


class Weighed(NamedTuple):
    """One live attestation by a DID the reader trusts, for the task type asked."""

    attester: str
    success_rate: float
    total_tasks: int
    recent_tasks_7d: int
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        return {"attester": self.attester, "success_rate": self.success_rate,
                "total_tasks": self.total_tasks, "created_at": self.created_at}


class Summary(NamedTuple):
    """An agent's attestations as one reader sees them (SPEC §10 `attestations`)."""

    # live attestations, trusted or not (a field named like tuple.count, which it shadows)
    count: int  # type: ignore[assignment]
    trusted: tuple[Weighed, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "trusted": [w.to_dict() for w in self.trusted]}

    def disagreement(self, owner_rate: float) -> float | None:
        """attested − self-reported success rate of the trusted attestation farthest from
        the owner's (signed; None: nothing trusted)."""
        if not self.trusted:
            return None
        widest = max(self.trusted, key=lambda w: (abs(w.success_rate - owner_rate),
                                                  w.attester))
        return round(widest.success_rate - owner_rate, 6)

    def pooled(self) -> tuple[float, int, int] | None:
        """(success_rate, total_tasks, recent_tasks_7d) of the trusted attestations pooled:
        successes and tasks summed (what `discover --attested` ranks by)."""
        if not self.trusted:
            return None
        total = sum(w.total_tasks for w in self.trusted)
        wins = sum(round(w.success_rate * w.total_tasks) for w in self.trusted)
        recent = min(total, sum(w.recent_tasks_7d for w in self.trusted))
        return (round(wins / total, 6) if total else 0.0), total, recent

    def score_ppm(self) -> int | None:
        found = self.pooled()
        return None if found is None else indexing.score(*found)[1]
