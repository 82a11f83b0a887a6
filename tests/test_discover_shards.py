"""A filter that must read every shard (`discover --min-success`): shards read and parsed on
two processes for a local registry give exactly what one process gives, warnings included and
in shard order; the filter is applied while reading, and each shard is read once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from git_elite.core import discover, indexing
from git_elite.edges import registry_sources
from tests.helpers_registry import agent_files, base_files, with_index

N = 90
OWNERS = ("alice", "bob", "carol")


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    out = base_files()
    for n in range(N):
        out.update(agent_files(OWNERS[n % 3], n, total=60 + n, recent=20,
                               rate=0.80 + (n % 20) / 100))
    files = with_index(out)
    # a shard in the second half that no longer hashes to the head's digest
    last = sorted(p for p in files if p.startswith("index/"))[-2]
    value = json.loads(files[last])
    value["agents"] = {}
    return {**files, last: indexing.dumps(value)}


def _source(files: dict[str, bytes], local: bool, reads: Counter[str]) -> registry_sources.Source:
    def read(path: str) -> bytes | None:
        reads[path] += 1
        return files.get(path)

    def nothing() -> Iterator[tuple[str, bytes]]:
        return iter(())

    source = registry_sources.Source("reg", "reg", "0" * 40, read, nothing, local=local)
    source.check_identity()
    return source


def test_two_processes_give_what_one_gives(files: dict[str, bytes]) -> None:
    filters = discover.Filters(20, min_success=0.9)

    def keep(c: discover.Candidate) -> bool:
        return discover.passes(c, filters, {})

    found = {}
    for local in (True, False):
        reads: Counter[str] = Counter()
        source = _source(files, local, reads)
        assert len(source.index().shard_names()) >= registry_sources.PARALLEL_MIN_SHARDS
        kept = registry_sources.every(source, None, keep)
        found[local] = ([(c.agent_id, c.success_rate) for c in kept], source.index().warnings)
        if not local:  # this process read every shard once (the child's reads are its own)
            assert all(n == 1 for p, n in reads.items() if p.startswith("index/"))
    assert found[True] == found[False]
    kept_rates = [rate for _, rate in found[True][0]]
    assert kept_rates and all(rate >= 0.9 for rate in kept_rates)
    assert len(found[True][1]) == 1 and "do not hash" in found[True][1][0]
