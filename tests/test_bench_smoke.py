"""bench/synth.py builds a well-formed registry (so the benchmark code cannot rot)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import canonical, documents

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import synth  # noqa: E402

N = 20


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth.build(N, tmp_path_factory.mktemp("bench"))


def _files(repo: Path) -> list[str]:
    out = subprocess.run(["git", "ls-tree", "-r", "--name-only", "main"], cwd=repo, check=True,
                         capture_output=True, text=True).stdout
    return out.splitlines()


def test_layout_is_spec_section_4(registry: Path) -> None:
    files = _files(registry)
    assert {".gitattributes", "IDENTITY.json", "INDEX.json"} <= set(files)
    agents = [f for f in files if f.startswith("agents/")]
    assert len(agents) == 2 * N
    for path in agents:
        _, ab, agent_id, name = path.split("/")
        assert len(agent_id) == 64 and name in ("manifest.json", "profile.json")
        assert ab == agent_id[:2]


def test_every_manifest_checks_and_binds_to_its_profile(registry: Path) -> None:
    manifests = synth.read_blobs(registry)
    profiles = dict(synth.read_blobs(registry, "/profile.json"))
    owners = set()
    for path, raw in manifests:
        doc, problems = documents.check(raw, path, documents.MANIFEST)
        assert problems == [] and doc is not None
        agent_id = path.split("/")[2]
        profile = json.loads(profiles[f"agents/{agent_id[:2]}/{agent_id}/profile.json"])
        assert hashlib.sha256(canonical.canonicalize(profile)).hexdigest() == agent_id
        assert doc.body["agent_id"] == agent_id
        assert doc.body["system_prompt_fingerprint"] == profile["system_prompt_hash"]
        owners.add(doc.signer)
    assert len(owners) == N  # 200 owners, round robin


def test_identity_is_signed_and_index_lists_every_agent(registry: Path) -> None:
    blobs = dict(synth.read_blobs(registry, ".json"))
    _, problems = documents.check(blobs["IDENTITY.json"], "IDENTITY.json")
    assert problems == []
    head = json.loads(blobs["INDEX.json"])
    agents: dict[str, Any] = {}
    for ab, summary in head["shards"].items():
        raw_shard = blobs[f"index/{ab}.json"]
        assert hashlib.sha256(raw_shard).hexdigest() == summary["sha256"]
        agents.update(json.loads(raw_shard)["agents"])
    ids = {p.split("/")[2] for p in blobs if p.endswith("/manifest.json")}
    assert head["agent_count"] == N and set(agents) == ids
    for aid, row in agents.items():
        raw = blobs[f"agents/{aid[:2]}/{aid}/manifest.json"]
        assert row["manifest_sha256"] == hashlib.sha256(raw).hexdigest()
    general = head["rankings"]["general"]
    assert all(agents[a]["elite"] for a in general)
    scores = [agents[a]["score_ppm"] for a in general]
    assert scores == sorted(scores, reverse=True)


def test_build_is_cached_and_deterministic(registry: Path, tmp_path: Path) -> None:
    again = synth.build(N, tmp_path)
    head = ["git", "rev-parse", "main"]
    assert subprocess.run(head, cwd=registry, capture_output=True, text=True).stdout == \
        subprocess.run(head, cwd=again, capture_output=True, text=True).stdout
    assert synth.build(N, tmp_path) == again


def test_registry_passes_the_real_audit(registry: Path) -> None:
    """The synthetic registry is what `git elite verify` accepts: every rule, INDEX included."""
    from git_elite.edges import git
    from git_elite.edges.gitcheck import audit

    assert audit(git.open_repo(registry), "HEAD") == []


def test_format_1_baseline_is_the_first_release_layout(tmp_path: Path) -> None:
    """The before/after baseline: flat agents/<agent_id>/ and one INDEX.json holding every
    entry (SPEC §6's format 1), accepted by the real audit like any format-1 registry."""
    from git_elite.edges import git
    from git_elite.edges.gitcheck import audit

    repo = synth.build(N, tmp_path, fmt=1)
    files = _files(repo)
    assert "index" not in {f.split("/")[0] for f in files}
    agents = [f for f in files if f.startswith("agents/")]
    assert len(agents) == 2 * N and all(len(f.split("/")) == 3 for f in agents)
    blobs = dict(synth.read_blobs(repo, ".json"))
    index = json.loads(blobs["INDEX.json"])
    assert index["schema_version"] == 1 and len(index["agents"]) == N
    assert "format" not in json.loads(blobs["IDENTITY.json"])
    assert audit(git.open_repo(repo), "HEAD") == []
    assert synth.build_info(repo)["format"] == 1


def test_documents_are_written_as_documents_to_bytes(registry: Path) -> None:
    """synth writes manifests and profiles with indexing.dumps: the bytes documents.to_bytes
    would write."""
    for path, raw in synth.read_blobs(registry, ".json"):
        if path.startswith("agents/"):
            assert raw == documents.to_bytes(json.loads(raw)), path


def test_end_to_end_measurements_run_on_small_registries(tmp_path: Path) -> None:
    """Every end-to-end measurement (real pushes, commits with hooks, discover, verify,
    publish, the index rebuild), on format 2 with this tree and on format 1 with the
    release-1 code, yields rows with positive figures; no timing is asserted."""
    import before
    import e2e
    import reads
    import run
    from common import Bench, Side

    bench = Bench(1, True, [N, 2 * N], out=tmp_path, before_sizes=[2 * N])
    bench.before = Side("before", 1, before.tree(out=tmp_path) / "bin", "release 1")
    sides, keys = set(), set()
    for measure in (e2e.measure_pre_receive, e2e.measure_push, e2e.measure_pre_commit,
                    e2e.measure_index_rebuild, reads.measure_discover, reads.measure_verify,
                    reads.measure_verify_memory, reads.measure_publish, run.measure_scale):
        rows = measure(bench)
        assert rows, measure.__name__
        for row in rows:
            assert row.value > 0 and row.baseline > 0, row
            assert row.met in ("met", "(reference)") or row.met.startswith("NOT met"), row
            sides.add(row.side)
            keys.add((row.side, row.key))
    assert sides == {"before", "after"}
    # the measured floors beside their commands (this tree's side only)
    assert {("after", f"pre-receive floor {2 * N}"), ("after", f"discover floor {N}"),
            ("after", f"discover vs floor {2 * N}")} <= keys
    assert ("before", f"pre-receive floor {2 * N}") not in keys
    assert "| before |" not in run.report(bench, [], 1.0)


def test_phases_split_the_sizes_and_the_report_keeps_the_hand_written_part(
        tmp_path: Path) -> None:
    """A run measures its small sizes first and the big ones after (the 1M registry may
    still be building); the report replaces only the generated part of RESULTS.md."""
    import run
    from common import Bench

    bench = Bench(1, True, [N, 2 * N], out=tmp_path)
    bench.BIG = 2 * N
    bench.phase = "small"
    assert [n for n in bench.sizes if bench.todo(n)] == [N] and bench.once()
    bench.phase = "big"
    assert [n for n in bench.sizes if bench.todo(n)] == [2 * N] and not bench.once()
    assert run.measure_startup(bench) == []
    results = tmp_path / "RESULTS.md"
    results.write_text(f"# old\n\n{run.KEEP}\n\nanalysis by hand\n")
    run.write(results, "# new\n")
    assert results.read_text() == f"# new\n\n{run.KEEP}\n\nanalysis by hand\n"


def test_witness_bench_drives_the_real_server(tmp_path: Path) -> None:
    """bench/witness_bench.py: every request of every chain is a 200 from the real witness
    (it raises on any other answer), and the row compares it with the bare server."""
    import witness_bench
    from common import Bench

    bench = Bench(1, True, [N], out=tmp_path)
    cpus = os.sched_getaffinity(0)
    work, logs = witness_bench.chains(2, 4)
    assert [len(c) for c in work] == [4, 4] and logs.count("\n") == 2
    assert work[0][1].startswith(b"old 1\n") and b"\n\nbench.example.org/log0\n2\n" in work[0][1]
    [row] = witness_bench.measure_witness(bench, logs=2, steps=4)
    assert row.value > 0 and row.baseline > 0 and row.unit == "req/s"
    assert row.met == "met" or row.met.startswith("NOT met")
    assert os.sched_getaffinity(0) == cpus  # the clients' pinning is undone


def test_stamped_registry_is_fresh_to_a_reader(tmp_path: Path) -> None:
    """`synth.build(..., stamped=True)` declares a timestamp role; `synth.stamp` signs the
    next version for main, which a reader accepts as fresh (bench/site_bench.py's
    `discover --url` of a signed head)."""
    import time

    from git_elite.edges import freshness, git
    from git_elite.edges.gitcheck import audit

    repo = synth.build(N, tmp_path, stamped=True)
    plain = synth.repo_path(N, out=tmp_path)
    assert repo == synth.repo_path(N, out=tmp_path, stamped=True) != plain
    assert audit(git.open_repo(repo), "HEAD") == []
    assert (synth.stamp(repo), synth.stamp(repo)) == (1, 2)
    tip = freshness.resolve(repo, "refs/heads/main")
    identity = freshness.identity_at(repo, tip or "")
    assert identity is not None and identity["timestamp"]["keys"] == [synth.timestamp_key().did]
    result = freshness.check(repo, tip=tip or "", branch="main", identity=identity,
                             now=int(time.time()))
    assert result.case == "fresh" and result.signed is not None and result.signed.version == 2


def test_pins_bench_compares_1927675_unpinned_with_this_tree_pinned(tmp_path: Path) -> None:
    """bench/pins_bench.py (issue 24's before/after): the code before the pins (1927675, its
    hooks, its site and reader) on an unpinned registry built by its own synth, against this
    tree on the pinned registries; the requests are counted from the server's log, and under
    a signed head the pinned reader fetches no profile."""
    import pins_bench
    import run
    from common import Bench

    bench = Bench(1, True, [N], out=tmp_path)
    rows = pins_bench.measure_pins(bench)
    unpinned = tmp_path / "unpinned" / f"registry-{N}.git"
    files = _files(unpinned)
    assert "INDEX.json" in files and not any(f.startswith("index/ranked") for f in files)
    assert any(f.startswith("index/ranked") for f in _files(synth.repo_path(N, out=tmp_path)))
    keys = {f"pins {k} {N}" for k in ("commit", "pythons per commit", "index bytes",
                                      "commit ranked", "index bytes ranked", "url")}
    keys.add(f"pins url {N} requests")
    assert {r.key for r in rows if r.side == "before 1927675"} == keys
    assert {r.key for r in rows if r.side == "after"} == keys
    assert all(r.value > 0 and r.baseline > 0 for r in rows), rows
    requests = {r.name: r.value for r in rows if r.unit == "requests"}
    stamped = requests[f"discover --url top 20 of {N}, timestamp role: HTTP requests"]
    assert stamped < requests[f"discover --url top 20 of {N}: HTTP requests"]
    written = {n.split("(")[1].split(")")[0]: n for n in bench.notes
               if "entering the rankings" in n}
    assert len(written) == 2, bench.notes  # the pinned hook rewrites the ranked agents' file
    assert [("index/ranked.json" in n) for _, n in sorted(written.items())] == [False, True]
    [note] = [n for n in bench.notes if ", timestamp role (" in n]
    assert "timestamp.json 1" in note and "profile.json" not in note
    table = pins_bench.table(rows)
    assert len(table) == 2 + 9 and all(line.count("|") == 8 for line in table)
    report = run.report(bench, rows, 1.0)
    assert "\n".join(table) in report and "## Before and after" not in report
