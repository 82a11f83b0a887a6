"""`discover/import/verify --url`: sparse reads of a site served by a real HTTP server on
127.0.0.1, and hostile servers (slow, stalled, endless, oversized, redirect loops, failing,
lying) reported in one line, bounded in time, never trusted (SPEC §13, §14)."""

from __future__ import annotations

import contextlib
import http.server
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.loopback import loopback, static
from git_elite.core import layout
from git_elite.core.errors import RegistryError
from git_elite.edges import site, sparse
from tests.conftest import git, run_cli
from tests.helpers_discover import discover, registry_with
from tests.helpers_site import serve

AGENTS = [{"owner": o, "n": i, "rate": 0.8 + i / 100, "total": 70 + 5 * i, "recent": 15}
          for i, o in enumerate(["alice", "bob", "carol"] * 4)]


@pytest.fixture()
def published(tmp_path: Path) -> tuple[Path, Path]:
    work, _ = registry_with(tmp_path, "reg", AGENTS)
    out = tmp_path / "public"
    site.build(work, out)
    return work, out


def _rows(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["rank"], r["agent_id"], r["score_ppm"], r["success_rate"]) for r in rows]


def test_discover_url_lists_what_a_clone_read_lists(published: tuple[Path, Path]) -> None:
    work, out = published
    with serve(out) as url:
        over_http = discover("--url", url, "--top", "5")
    from_clone = discover("--top", "5", cwd=work)
    assert len(over_http) == 5 and _rows(over_http) == _rows(from_clone)
    assert {r["registry"] for r in over_http} == {url}


def test_discover_url_fetches_only_what_it_shows(published: tuple[Path, Path]) -> None:
    _, out = published
    with counting(out) as (url, paths):
        rows = discover("--url", url, "--top", "2")
    shown = {r["agent_id"] for r in rows}
    agent_paths = [p for p in paths if p.startswith("/agents/")]
    assert agent_paths and all(any(a in p for a in shown) for p in agent_paths)
    assert len(paths) == len(set(paths))  # nothing asked twice
    assert len(paths) <= 3 + 5 * len(shown)  # IDENTITY, INDEX, site.json; shards and agents


def test_verify_url_clean_and_tampered(published: tuple[Path, Path]) -> None:
    _, out = published
    with serve(out) as url:
        ok = run_cli("verify", "--url", url, "--json")
        assert json.loads(ok.stdout)["ok"] is True
        manifest = next(out.glob("agents/**/manifest.json"))
        raw = manifest.read_bytes()
        manifest.write_bytes(raw.replace(b'"total_tasks": ', b'"total_tasks": 1', 1))
        bad = run_cli("verify", "--url", url, "--json", check=1)
    rules = {p["rule"] for p in json.loads(bad.stdout)["problems"]}
    assert "signature" in rules
    assert "Traceback" not in bad.stderr


def test_lying_index_is_caught(published: tuple[Path, Path]) -> None:
    """A head (or shard) that does not match the manifests: the engine's rebuild says so."""
    _, out = published
    head = out / layout.INDEX
    value = json.loads(head.read_bytes())
    first = value["rankings"]["general"][0]
    target = out / (f"index/{first[:2]}.json" if value.get("shards") else layout.INDEX)
    text = target.read_text()
    entry = json.loads(text)["agents"][first]
    target.write_text(text.replace(f'"score_ppm": {entry["score_ppm"]}',
                                   f'"score_ppm": {entry["score_ppm"] + 1}', 1))
    with serve(out) as url:
        bad = run_cli("verify", "--url", url, "--json", check=1)
        shown = run_cli("discover", "--url", url, "--json", "--top", "3", "--min-tasks", "0")
    assert "index" in {p["rule"] for p in json.loads(bad.stdout)["problems"]}
    # never shown with the lying numbers: a format-2 shard that does not hash to the head is
    # left out (with a warning); a format-1 entry that differs from the manifest is dropped
    assert first not in {r["agent_id"] for r in json.loads(shown.stdout)}
    assert "[index]" in shown.stderr


def test_lying_manifest_is_dropped_by_discover(published: tuple[Path, Path]) -> None:
    _, out = published
    top = json.loads((out / layout.INDEX).read_bytes())["rankings"]["general"][0]
    path = out / layout.agent_path(top, "manifest.json")
    path.write_bytes(path.read_bytes().replace(b'"success_rate": 0', b'"success_rate": 1', 1))
    with serve(out) as url:
        proc = run_cli("discover", "--url", url, "--json", "--top", "3")
    assert top not in proc.stdout and f"agent {top[:12]} dropped" in proc.stderr


def test_import_url(published: tuple[Path, Path], isolated_env: Path) -> None:
    _, out = published
    top = json.loads((out / layout.INDEX).read_bytes())["rankings"]["general"][0]
    with serve(out) as url:
        run_cli("import", top, "--url", url, "--allow-untrusted")
    got = isolated_env / ".agentd" / "elite" / "imported" / top / "manifest.json"
    assert got.read_bytes() == (out / layout.agent_path(top, "manifest.json")).read_bytes()


@pytest.mark.parametrize("args, text", [
    (["--url", "ftp://example.invalid/"], "not an http(s) URL"),
    (["--url", "http://127.0.0.1:9/"], "connection refused"),
], ids=["not-http", "refused"])
def test_url_bad_input(args: list[str], text: str) -> None:
    proc = run_cli("discover", *args, check=1)
    assert text in proc.stderr and "Traceback" not in proc.stderr


def test_verify_url_refuses_rev_and_history() -> None:
    proc = run_cli("verify", "--url", "http://127.0.0.1:9/", "--history", check=2)
    assert "--url reads what the server serves now" in proc.stderr


# hostile servers ------------------------------------------------------------------------------
class Hostile(http.server.BaseHTTPRequestHandler):
    mode = "ok"
    root = Path(".")

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        getattr(self, f"_{self.mode}")()

    def _slow(self) -> None:  # trickles a body that never ends in time
        self.send_response(200)
        self.send_header("Content-Length", "5000")
        self.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(200):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)

    def _stall(self) -> None:  # accepts, then says nothing
        time.sleep(5)

    def _endless(self) -> None:  # no length, bytes forever
        self.send_response(200)
        self.end_headers()
        chunk = b"[" * 65536
        with contextlib.suppress(OSError):
            for _ in range(100_000):
                self.wfile.write(chunk)

    def _oversized(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(1 << 40))
        self.end_headers()

    def _loop(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.path)
        self.end_headers()

    def _failing(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextlib.contextmanager
def hostile(mode: str) -> Iterator[str]:
    with loopback(type(f"Hostile_{mode}", (Hostile,), {"mode": mode})) as url:
        yield url


@pytest.mark.parametrize("mode, text", [
    ("slow", "no complete answer within 1 s"),
    ("stall", "no complete answer within 1 s"),
    ("endless", "cut off"),
    ("oversized", "bytes announced"),
    ("loop", "more than 5 redirects"),
    ("failing", "HTTP 503 (after 3 tries)"),
], ids=["slow", "stall", "endless", "oversized", "redirect-loop", "failing"])
def test_hostile_server_is_reported_in_one_line(mode: str, text: str) -> None:
    git("config", "--global", "elite.urlTimeout", "1")
    git("config", "--global", "elite.urlDeadline", "20")
    with hostile(mode) as url:
        started = time.monotonic()
        proc = run_cli("discover", "--url", url, check=1)
        took = time.monotonic() - started
        verify = run_cli("verify", "--url", url, check=1)
    assert text in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + verify.stderr
    errors = [line for line in verify.stderr.splitlines() if "waiting for" not in line]
    assert len(errors) == 1 and text in verify.stderr  # (and what it waited for, if it did)
    assert took < 15
    assert "127.0.0.1" in proc.stderr.splitlines()[0]


def test_overall_budget_stops_a_read(published: tuple[Path, Path]) -> None:
    _, out = published
    with serve(out) as url:
        registry = sparse.HttpRegistry(url, sparse.Budget(requests=2))
        assert registry.read(layout.IDENTITY) is not None
        assert registry.read(layout.INDEX) is not None
        with pytest.raises(RegistryError, match="more than 2 requests"):
            registry.read("site.json")


def test_credentials_never_shown() -> None:
    assert sparse.shown("https://user:secret@example.org:8443/reg/?token=x#f") == \
        "https://example.org:8443/reg/"


@contextlib.contextmanager
def counting(root: Path, connections: list[Any] | None = None
             ) -> Iterator[tuple[str, list[str]]]:
    """A static server counting the paths asked for; with `connections`, an HTTP/1.1 one
    (keep-alive) that also notes each connection's client address."""
    paths: list[str] = []
    with static(root, paths, connections, keep_alive=connections is not None) as url:
        yield url, paths


def _requests_of_top(tmp: Path, name: str, agents: int, top: int
                     ) -> tuple[list[str], list[Any], list[dict[str, Any]]]:
    specs = [{"owner": o, "n": i, "rate": 0.8 + (i % 19) / 100, "total": 60 + 3 * i,
              "recent": 15} for i, o in enumerate(["alice", "bob", "carol"] * (agents // 3))]
    work, _ = registry_with(tmp, name, specs)
    out = tmp / f"{name}-public"
    site.build(work, out)
    connections: list[Any] = []
    with counting(out, connections) as (url, paths):
        rows = discover("--url", url, "--top", str(top))
    return paths, connections, rows


def test_discover_url_requests_do_not_grow_with_the_registry(tmp_path: Path) -> None:
    """SPEC §12/§14: `discover --url --top N` asks for IDENTITY.json, INDEX.json,
    index/ranked.json (the pinned entries, SPEC §6.2: site.json is no longer read) and each
    shown agent's manifest and profile (no shard, no probe for prompt.md/demos.json), each
    once, over kept-alive connections: the same count for 6 agents as for 30."""
    small, small_conns, small_rows = _requests_of_top(tmp_path, "small", 6, 3)
    large, large_conns, large_rows = _requests_of_top(tmp_path, "large", 30, 3)
    assert len(small_rows) == len(large_rows) == 3
    for paths, rows in ((small, small_rows), (large, large_rows)):
        assert len(paths) == len(set(paths)) == 3 + 2 * 3
        assert sorted(p for p in paths if not p.startswith("/agents/")) == [
            "/IDENTITY.json", "/INDEX.json", "/index/ranked.json"]
        assert sorted(p.rsplit("/", 1)[1] for p in paths if p.startswith("/agents/")) == \
            ["manifest.json"] * 3 + ["profile.json"] * 3
        assert {p.split("/")[3] for p in paths if p.startswith("/agents/")} == \
            {r["agent_id"] for r in rows}
    for conns, paths in ((small_conns, small), (large_conns, large)):
        assert len(conns) <= sparse.POOL_SIZE < len(paths)  # connections are reused


def test_import_url_reads_the_extras_the_manifest_fingerprints(
        published: tuple[Path, Path], isolated_env: Path) -> None:
    """import over HTTP asks for prompt.md/demos.json only when the manifest carries their
    fingerprint (discover never asks)."""
    _, out = published
    head = json.loads((out / layout.INDEX).read_bytes())
    agent_id = head["rankings"]["general"][0]
    manifest = json.loads(next(out.glob(f"agents/**/{agent_id}/manifest.json")).read_bytes())
    declared = {"prompt.md": "system_prompt_fingerprint" in manifest,
                "demos.json": "demos_fingerprint" in manifest}
    with counting(out) as (url, paths):
        run_cli("import", agent_id[:12], "--url", url, "--allow-untrusted")
    for name, wanted in declared.items():
        assert any(p.endswith(f"/{agent_id}/{name}") for p in paths) == wanted
