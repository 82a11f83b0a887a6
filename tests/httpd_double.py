"""TEST DOUBLE of radicle-httpd — not radicle-httpd. Serves a storage repo made by
tests/radicle_fixtures.py on 127.0.0.1 (ephemeral port) with the endpoint shapes that
git_elite/edges/httpd.py documents. `shape` switches the API: "repos" (current), "projects"
(pre-2024), or "no-raw" (current API, but `/raw/…` answers 404 to force the blob fallback).
`failures` makes the next N requests answer 503 (to exercise retries)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from bench.loopback import loopback
from git_elite.core import radicle
from git_elite.core.keys import nid_from_did


class Double:
    def __init__(self, storage: Path, rid: str, shape: str = "repos") -> None:
        self.storage, self.rid, self.shape, self.failures = storage, rid, shape, 0
        self.requests: list[str] = []

    def _git(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["git", f"--git-dir={self.storage}", *args],
                              capture_output=True, check=False)

    def doc(self) -> dict[str, Any]:
        raw = self._git("show", f"{radicle.IDENTITY_REF}:{radicle.DOC_PATH}").stdout
        return dict(json.loads(raw))

    def head(self) -> str:
        doc = self.doc()
        branch = doc["payload"][radicle.PROJECT_PAYLOAD]["defaultBranch"]
        nid = nid_from_did(doc["delegates"][0])
        ref = f"refs/namespaces/{nid}/refs/heads/{branch}"
        return self._git("rev-parse", ref).stdout.decode().strip()

    def info(self) -> dict[str, Any]:
        doc, head = self.doc(), self.head()
        project = doc["payload"][radicle.PROJECT_PAYLOAD]
        delegates = [{"id": did} for did in doc["delegates"]]
        if self.shape == "projects":
            return {**project, "delegates": delegates, "threshold": doc["threshold"],
                    "visibility": {"type": "public"}, "head": head, "id": self.rid,
                    "seeding": 1, "issues": {"open": 0, "closed": 0},
                    "patches": {"open": 0, "draft": 0, "archived": 0, "merged": 0}}
        return {"payloads": {radicle.PROJECT_PAYLOAD: {"data": project, "meta": {
                    "head": head, "issues": {}, "patches": {}}}},
                "delegates": delegates, "threshold": doc["threshold"],
                "visibility": {"type": "public"}, "rid": self.rid, "seeding": 1}

    def blob(self, sha: str, path: str) -> bytes | None:
        proc = self._git("show", f"{sha}:{path}")
        return proc.stdout if proc.returncode == 0 else None

    def answer(self, path: str) -> tuple[int, bytes]:
        self.requests.append(path)
        if self.failures:
            self.failures -= 1
            return 503, b"busy"
        api = "projects" if self.shape == "projects" else "repos"
        parts = path.lstrip("/").split("/")
        if parts[:3] == ["api", "v1", api] and parts[3:] == [self.rid]:
            return 200, json.dumps(self.info()).encode()
        if parts[:3] == ["api", "v1", api] and parts[3:5] == [self.rid, "blob"]:
            content = self.blob(parts[5], "/".join(parts[6:]))
            if content is None:
                return 404, b"{}"
            text = content.decode()
            return 200, json.dumps({"binary": False, "content": text,
                                    "path": "/".join(parts[6:])}).encode()
        if parts[:2] == ["raw", self.rid] and len(parts) > 3 and self.shape != "no-raw":
            sha = self.head() if parts[2] == "head" else parts[2]
            content = self.blob(sha, "/".join(parts[3:]))
            return (200, content) if content is not None else (404, b"")
        return 404, b"not found"


@contextmanager
def serve(double: Double) -> Iterator[str]:
    """Run `double` on 127.0.0.1:<ephemeral>; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            status, body = double.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    with loopback(Handler) as url:
        yield url.rstrip("/")
