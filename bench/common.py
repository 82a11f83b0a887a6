"""What every bench measurement shares: a Row of the results table, the Side (which code on
which registry format), the Bench context, and medians of runs paired with their baseline
(alternately, so both see the same machine load)."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # noqa: E402

from git_elite.core import documents, keys  # noqa: E402

BIN = Path(sys.executable).parent


@dataclass
class Row:
    name: str
    value: float
    unit: str
    baseline_name: str
    baseline: float
    goal: str  # e.g. "ratio >= 0.5", "<= 300 ms"
    higher_is_better: bool
    target: float | None  # goal on value / baseline; None = no ratio goal
    absolute: float | None = None  # goal on the value itself (e.g. 300 ms)
    side: str = "after"  # "before" rows go to the before/after table
    key: str = ""  # what the before and after rows of one measurement share

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")

    @property
    def met(self) -> str:
        if self.target is None and self.absolute is None:
            return "(reference)"
        misses = []
        if self.absolute is not None and (self.value < self.absolute if self.higher_is_better
                                          else self.value > self.absolute):
            misses.append(f"{self.value / self.absolute:.2f}x the goal")
        if self.target is not None:
            ok = self.ratio >= self.target if self.higher_is_better else \
                self.ratio <= self.target
            if not ok:
                misses.append(f"ratio {self.ratio:.2f}, goal {self.target:.2g}")
        return "met" if not misses else "NOT met (" + "; ".join(misses) + ")"


@dataclass(frozen=True)
class Side:
    """Which code runs (its `git-elite` is in `bin`) on registries of which format."""

    name: str  # "after" (this tree, format 2) or "before" (release 1, format 1)
    fmt: int
    bin: Path
    label: str


AFTER = Side("after", 2, BIN, "format 2, this tree")


@dataclass
class Bench:
    repeat: int
    quick: bool
    sizes: list[int]
    notes: list[str] = field(default_factory=list)
    out: Path = synth.OUT  # where the registries are built (tests use a tmp dir)
    before: Side | None = None  # the release-1 side of the before/after table
    before_sizes: list[int] = field(default_factory=list)
    verify_1m: bool = False  # also `verify` the 1M registry once (minutes)
    verify_again_1m: bool = False  # the second `verify` at 1M (its first, full one: minutes)
    publish_sizes: tuple[int, ...] = (100_000, 1_000_000)  # of `publish` (cache warmed once)
    commit_sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)  # of `git commit`
    site_size: int = 0  # the registry the site is measured on (0: the largest)
    verify_max: int = 100_000  # the largest registry `verify` is timed on
    pins_commit: bool = True  # issue 24's table: also the one-agent `git commit`
    pins_sites: tuple[str, ...] = ("before", "after-ts", "after")  # its --url sites
    builds: list[str] = field(default_factory=list)  # the registries table of the report
    load_start: str = field(default_factory=lambda: ", ".join(
        f"{x:.1f}" for x in os.getloadavg()))

    def repo(self, n: int, fmt: int = 2) -> Path:
        return synth.build(n, self.out, fmt)

    phase: str = "all"  # "small": sizes below BIG only; "big": BIG and above only
    BIG = 1_000_000

    def todo(self, n: int) -> bool:
        """Whether this phase measures size n (a run does its small sizes first, then the
        1M ones, so the 1M registry may still be building while the others are measured)."""
        return self.phase == "all" or (n >= self.BIG) == (self.phase == "big")

    def once(self) -> bool:
        """Whether this phase runs the measurements that take no registry size."""
        return self.phase != "big"

    def size(self, n: int) -> int:
        """n if this run has registries of n, else the largest it has below n (tests use
        small sizes only)."""
        return n if n in self.sizes else max([s for s in self.sizes if s <= n] or
                                             [self.sizes[0]])

    def sides(self) -> list[tuple[Side, list[int]]]:
        """(side, sizes) for a before/after measurement: format 2 at the before sizes
        (and format 1 with the release-1 code there when it is part of this run)."""
        sizes = sorted({self.size(n) for n in self.before_sizes}) or [self.sizes[-1]]
        out = [(AFTER, sizes)]
        if self.before is not None:
            out.append((self.before, sizes))
        return out


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


def byte_compile(*packages: Path) -> None:
    """Write the packages' .pyc files once, as an install does: with PYTHONDONTWRITEBYTECODE
    set (or an editable install never run before), every timed `git-elite` would compile
    its modules from source again (~0.25 s a process on this machine), a cost no installed
    copy pays."""
    import compileall

    for package in packages:
        compileall.compile_dir(str(package), quiet=1)

