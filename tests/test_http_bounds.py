"""Bounded HTTP reads (SPEC §14, issue 24 f4): a hostile server's huge head, endless body,
huge shard or parse bomb costs `discover --url` one line and at most 128 MiB of memory.

Each case runs the real `git-elite discover --url` against a real loopback server, under a
small wrapper process that reports the peak RSS of its child (getrusage): a bound, not a
timing."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from bench.loopback import loopback
from git_elite.core import read_limits
from tests.conftest import BIN, run_cli
from tests.helpers_registry import agent_files, commit_raw, isolated_module_env, make_registry

PEAK_MIB = 128
WRAPPER = """
import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120)
sys.stderr.write(proc.stderr)
print(proc.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
"""
Body = Callable[[], Iterator[bytes]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, bytes]]:
    """An honest site's files (IDENTITY.json, INDEX.json, index/…), to lie around."""
    tmp = tmp_path_factory.mktemp("http_bounds")
    with isolated_module_env(tmp):
        work = make_registry(tmp / "work")
        commit_raw(work, agent_files("alice", 1), index=True)
        out = tmp / "site"
        run_cli("site", str(work), "-o", str(out))
        yield {p.relative_to(out).as_posix(): p.read_bytes()
               for p in out.rglob("*") if p.is_file()}


def hostile(files: dict[str, bytes], lies: dict[str, tuple[Body, int | None]]
            ) -> type[BaseHTTPRequestHandler]:
    """Serves `files`, except the paths in `lies`: (a body generator, the Content-Length to
    announce or None for a body delimited by closing the connection)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path.lstrip("/")
            if path in lies:
                body, length = lies[path]
                self.send_response(200)
                if length is not None:
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                try:
                    for chunk in body():
                        self.wfile.write(chunk)
                except OSError:
                    pass
                return
            data = files.get(path)
            self.send_response(200 if data is not None else 404)
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def endless(unit: bytes, prefix: bytes = b"") -> Body:
    def body() -> Iterator[bytes]:
        yield prefix
        block = unit * (65536 // len(unit))
        for _ in range(1 << 20):  # 64 GiB, if nobody stops reading
            yield block
    return body


def once(data: bytes) -> Body:
    return lambda: iter((data,))


def bomb(size: int) -> bytes:
    """A document of at most `size` bytes that would take ~28x its size to parse."""
    return b'{"schema_version": 2, "pad": [' + b"[]," * ((size - 40) // 3) + b"[]]}"


def discover(url: str, *args: str) -> tuple[int, int, str]:
    """(exit code, peak RSS of the command in MiB, stderr) of `git-elite discover --url`."""
    proc = subprocess.run([sys.executable, "-c", WRAPPER, str(BIN / "git-elite"), "discover",
                           "--url", url, *args], capture_output=True, text=True, timeout=180)
    code, rss = proc.stdout.split()
    return int(code), int(rss), proc.stderr


def head_declaring(site: dict[str, bytes], shard: bytes, agents: int) -> bytes:
    head = json.loads(site["INDEX.json"])
    (ab,) = head["shards"]
    head["shards"][ab] = {"agents": agents, "sha256": hashlib.sha256(shard).hexdigest()}
    return json.dumps(head, indent=2, sort_keys=True).encode() + b"\n"


def shard_path(site: dict[str, bytes]) -> str:
    return next(p for p in site if p.startswith("index/") and p.count("/") == 1)


CASES = {
    "huge-head-announced": lambda s: {"INDEX.json": (once(b"[]"), 150 << 20)},
    "endless-head": lambda s: {"INDEX.json": (endless(b"[],", b'{"pad": ['), None)},
    "head-parse-bomb": lambda s: {"INDEX.json": (once(bomb(1 << 20)), len(bomb(1 << 20)))},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_head_costs_one_line(site: dict[str, bytes], case: str) -> None:
    with loopback(hostile(site, CASES[case](site))) as url:
        code, rss, err = discover(url)
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "INDEX.json" in lines[0], err
    assert "Traceback" not in err
    assert rss <= PEAK_MIB, f"peak RSS {rss} MiB"


@pytest.mark.parametrize(("case", "size", "length"), [
    pytest.param("shard-parse-bomb", read_limits.DOC_MAX, True, id="bomb"),
    pytest.param("endless-shard", None, None, id="endless"),
    pytest.param("just-under-the-parse-budget", 0, True, id="under-budget"),
    pytest.param("shard-over-declared", 600 << 10, True, id="over-declared"),
])
def test_a_hostile_shard_is_left_out(site: dict[str, bytes], case: str, size: int | None,
                                     length: bool | None) -> None:
    path = shard_path(site)
    if size is None:
        lie: tuple[Body, int | None] = (endless(b"[],", b'{"agents": ['), None)
        head = head_declaring(site, b"", 1_000_000)
    elif size == 0:  # strings: the shape whose parse comes closest to parse_cost's bound
        count = read_limits.PARSE_BUDGET // 80
        data = b'{"agents": [' + b'"ab",' * count + b'"ab"]}'
        assert read_limits.parse_cost(data) <= read_limits.PARSE_BUDGET
        lie = (once(data), len(data))
        head = head_declaring(site, data, 1_000_000)
    else:
        data = bomb(size)
        lie = (once(data), len(data) if length else None)
        agents = 1_000_000 if case == "shard-parse-bomb" else 1
        head = head_declaring(site, data, agents)
    files = {**site, "INDEX.json": head}
    with loopback(hostile(files, {path: lie})) as url:
        code, rss, err = discover(url, "--min-success", "0.1")  # reads every shard
    assert code == 0, err
    assert f"{path}: " in err and "its agents are left out" in err, err
    assert "Traceback" not in err
    assert rss <= PEAK_MIB, f"peak RSS {rss} MiB"


def test_honest_site_reads_within_bounds(site: dict[str, bytes]) -> None:
    with loopback(hostile(site, {})) as url:
        code, rss, err = discover(url, "--json")
    assert code == 0, err
    assert rss <= PEAK_MIB


def test_limits_follow_the_head() -> None:
    head = {"shards": {"ab": {"agents": 2, "sha256": "0" * 64}},
            "ranked": {"agents": 3, "sha256": "0" * 64},
            "trust": {"cd": {"documents": 4, "sha256": "0" * 64}}}
    entry, row, frame = read_limits.ENTRY_MAX, read_limits.TRUST_ROW_MAX, read_limits.FRAME
    assert read_limits.declared(head, "INDEX.json") == read_limits.HEAD_MAX
    assert read_limits.declared(head, "index/ab.json") == frame + 2 * entry
    assert read_limits.declared(head, "index/ranked.json") == frame + 3 * entry
    assert read_limits.declared(head, "index/trust/cd.json") == frame + 4 * row
    assert read_limits.declared(head, "index/ef.json") == 0  # not declared: nothing
    assert read_limits.declared({"shards": {"ab": {"agents": 10**9}}}, "index/ab.json") == \
        read_limits.DOC_MAX
    assert read_limits.declared(head, "agents/ab/x/manifest.json") is None


@pytest.mark.parametrize("head", [
    {"shards": {"ab": {"agents": -1}}}, {"shards": {"ab": {"agents": True}}},
    {"shards": {"ab": {"agents": "2"}}}, {"shards": {"ab": {"agents": 2.0}}},
    {"shards": {"ab": {}}}, {"shards": {"ab": 2}}, {"shards": ["ab"]}, {"shards": None}])
def test_a_hostile_count_in_the_head_allows_nothing(head: dict[str, Any]) -> None:
    """A count the head gives that is not a non-negative int (a bool, a float, a string,
    negative, missing) declares no bytes: the file is not read."""
    assert read_limits.declared(head, "index/ab.json") == 0
    trust = json.loads(json.dumps(head["shards"]).replace('"agents"', '"documents"'))
    assert read_limits.declared({"trust": trust}, "index/trust/ab.json") == 0
