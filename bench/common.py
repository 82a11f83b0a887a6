"""What every bench measurement shares: a Row of the results table, the Bench context, and
medians of runs paired with their baseline (alternately, so both see the same machine load)."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # noqa: E402

from git_elite import documents, keys  # noqa: E402


@dataclass
class Row:
    name: str
    value: float
    unit: str
    baseline_name: str
    baseline: float
    goal: str  # e.g. "ratio >= 0.333"
    higher_is_better: bool
    target: float | None  # goal on value / baseline; None = reported only
    absolute: float | None = None  # goal on the value itself (e.g. 500 ms), ratio reported


    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")

    @property
    def met(self) -> str:
        if self.absolute is not None:
            ok = self.value <= self.absolute
            return "met" if ok else f"NOT met ({self.value / self.absolute:.1f}x the goal)"
        if self.target is None:
            return "(reference)"
        ok = self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target
        return "met" if ok else "NOT met"


@dataclass
class Bench:
    repeat: int
    quick: bool
    sizes: list[int]
    notes: list[str] = field(default_factory=list)
    out: Path = synth.OUT  # where the registries are built (tests use a tmp dir)

    def repo(self, n: int) -> Path:
        return synth.build(n, self.out)


def median_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_timed(a: Callable[[], float], b: Callable[[], float], repeat: int
                 ) -> tuple[float, float]:
    """Like `paired`, for functions that return their own time (setup/reset not counted)."""
    ta, tb = [], []
    for _ in range(repeat):
        ta.append(a())
        tb.append(b())
    return statistics.median(ta), statistics.median(tb)


def paired(a: Callable[[], object], b: Callable[[], object], repeat: int
           ) -> tuple[float, float]:
    """Medians of a and b, run alternately so both see the same machine load."""
    ta, tb = [], []
    for _ in range(repeat):
        ta.append(median_of(a, 1))
        tb.append(median_of(b, 1))
    return statistics.median(ta), statistics.median(tb)


def signed_parts(blobs: list[tuple[str, bytes]]) -> list[tuple[bytes, bytes, bytes]]:
    """(public key, signed message, signature) of each manifest, for libsodium alone."""
    out = []
    for path, raw in blobs:
        doc = documents.parse(raw, path, documents.MANIFEST)
        sig = keys.decode_signature(doc.body["signature_ed25519"])
        public = keys.public_from_did(doc.body["owner_did"])
        out.append((public, documents.signing_input(doc.kind, doc.body), sig))
    return out
