"""Read a registry from radicle-httpd without cloning (SPEC §11).

Endpoint shapes, checked against radicle-httpd's source (heartwood `radicle-httpd/` before
its removal, pre-2024 `projects` API; radicle-explorer `crates/radicle-httpd`, `repos` API):

- `GET /api/v1/repos/:rid` → `{"payloads": {"xyz.radicle.project": {"data": {name,
  description, defaultBranch}, "meta": {"head": sha, …}}}, "delegates": [{"id": did,
  "alias"?}], "threshold", "visibility", "rid", …}`
- `GET /api/v1/projects/:rid` (older) → `{name, description, defaultBranch, "head": sha,
  "delegates": [{"id": did, …}] (or plain did strings in the oldest), threshold, id, …}`
- `GET /raw/:rid/:sha/<path>` and `/raw/:rid/head/<path>` → the blob's bytes
- `GET /api/v1/{repos|projects}/:rid/blob/:sha/<path>` → `{"binary", "content", "path", …}`
  with `content` the UTF-8 text, or base64 when the blob is not UTF-8.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from git_elite.core import radicle
from git_elite.core.errors import RegistryError

MAX_BYTES = 4 * 1024 * 1024  # radicle-httpd's own blob limit
REQUEST_SECONDS = 30.0  # one request, start to last byte
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class Budget:
    """What one registry read over radicle-httpd may still spend: a wall-clock deadline
    (time.monotonic) and bytes, shared by all its requests (`git config
    elite.networkTimeout` / `elite.maxFetchBytes`, as for git remotes)."""

    deadline: float
    bytes_left: int

    @classmethod
    def configured(cls) -> Budget:
        from git_elite.edges import gitnet

        limits = gitnet.Limits.configured()
        return cls(limits.deadline, limits.max_bytes)


def get(url: str, *, timeout: float = 10.0, retries: int = 2, budget: Budget | None = None
        ) -> bytes | None:
    """GET `url`: the body, None on 404, RegistryError after bounded retries otherwise. Each
    request must be complete within REQUEST_SECONDS and the budget's deadline (a server
    that trickles a byte at a time beats a per-read timeout, not this); a stalled request
    is not retried."""
    budget = budget or Budget.configured()
    for attempt in range(retries + 1):
        try:
            body = _once(url, timeout, min(time.monotonic() + REQUEST_SECONDS,
                                           budget.deadline))
            if len(body) > MAX_BYTES:
                raise RegistryError(f"{url}: response larger than {MAX_BYTES} bytes")
            budget.bytes_left -= len(body)
            if budget.bytes_left < 0:
                raise RegistryError(f"{url}: more bytes than allowed for one registry (git "
                                    "config elite.maxFetchBytes)")
            return body
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            if err.code not in RETRY_STATUSES or attempt == retries:
                raise RegistryError(f"{url}: HTTP {err.code} {err.reason}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError,
                http.client.HTTPException) as err:
            if attempt == retries:
                reason = getattr(err, "reason", err)
                raise RegistryError(f"{url}: cannot reach radicle-httpd ({reason})") from None
        time.sleep(0.2 * 2 ** attempt)
    raise RegistryError(f"{url}: no answer")


def _once(url: str, timeout: float, deadline: float) -> bytes:
    """One GET in a worker thread, waited for until `deadline` at most; the answer's bytes
    or the exception it raised."""
    import threading

    box: dict[str, Any] = {}

    def work() -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                box["body"] = response.read(MAX_BYTES + 1)
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = err

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise RegistryError(f"{url}: no complete answer before the deadline (a stalled or "
                            "trickling server; git config elite.networkTimeout)")
    if "error" in box:
        raise box["error"]
    body: bytes = box["body"]
    return body


def _json(url: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RegistryError(f"{url}: radicle-httpd answered with invalid JSON") from None


def _delegates(raw: Any, url: str) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise RegistryError(f"{url}: no delegates in the answer")
    dids = [d.get("id") if isinstance(d, dict) else d for d in raw]
    if not dids or not all(isinstance(d, str) and d.startswith("did:key:") for d in dids):
        raise RegistryError(f"{url}: delegates are not did:key identifiers")
    return tuple(str(d) for d in dids)


def _info(body: Any, url: str) -> tuple[str, tuple[str, ...], str]:
    """(head sha, delegates, default branch) from either API shape."""
    if not isinstance(body, dict):
        raise RegistryError(f"{url}: unexpected answer")
    if isinstance(body.get("payloads"), dict):
        project = _mapping(body["payloads"].get(radicle.PROJECT_PAYLOAD), url, "payload")
        head = _mapping(project.get("meta"), url, "meta").get("head")
        branch = _mapping(project.get("data"), url, "data").get("defaultBranch")
    else:
        head, branch = body.get("head"), body.get("defaultBranch")
    if not isinstance(head, str) or len(head) != 40:
        raise RegistryError(f"{url}: no project head in the answer")
    return head, _delegates(body.get("delegates"), url), str(branch or "")


def _mapping(value: Any, url: str, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RegistryError(f"{url}: malformed answer ({radicle.PROJECT_PAYLOAD} {what} is "
                            "not an object)")
    return value


@dataclass(frozen=True)
class HttpdRepo:
    """A repository as one radicle-httpd serves it, pinned at its head commit."""

    base: str
    rid: str
    api: str  # "repos" (current) or "projects" (pre-2024)
    head: str
    delegates: tuple[str, ...]
    default_branch: str
    timeout: float = 10.0
    retries: int = 2
    budget: Budget = field(default_factory=Budget.configured, compare=False)

    def _get(self, path: str) -> bytes | None:
        return get(self.base + path, timeout=self.timeout, retries=self.retries,
                   budget=self.budget)

    def read(self, path: str) -> bytes:
        """Bytes of `path` at `head`: `/raw/…`, else the JSON blob endpoint."""
        quoted = urllib.parse.quote(path.lstrip("/"))
        raw = self._get(f"/raw/{self.rid}/{self.head}/{quoted}")
        if raw is not None:
            return raw
        url = f"/api/v1/{self.api}/{self.rid}/blob/{self.head}/{quoted}"
        body = self._get(url)
        if body is None:
            raise RegistryError(f"{self.base}: {path} not found at {self.head[:12]} of {self.rid}")
        return _blob_content(_json(self.base + url, body), self.base + url)

    def index(self) -> bytes:
        """INDEX.json at the same head as every other read."""
        return self.read("INDEX.json")


def _blob_content(body: Any, url: str) -> bytes:
    """radicle-httpd sends UTF-8 text as is and other bytes as base64; a `binary` blob is
    decoded from base64 when it is valid base64 (our registry files are all UTF-8 text)."""
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, str):
        raise RegistryError(f"{url}: no blob content in the answer")
    if body.get("binary") is True:
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            pass
    return content.encode("utf-8", errors="surrogatepass")


def open_repo(base: str, rid: str, *, timeout: float = 10.0, retries: int = 2) -> HttpdRepo:
    """Ask `base` (e.g. `https://seed.example:443`) about `rid`, trying the current
    `repos` API first and the pre-2024 `projects` API second."""
    base, rid = base.rstrip("/"), radicle.canonical_rid(rid)
    budget = Budget.configured()
    for api in ("repos", "projects"):
        url = f"{base}/api/v1/{api}/{rid}"
        body = get(url, timeout=timeout, retries=retries, budget=budget)
        if body is not None:
            head, delegates, branch = _info(_json(url, body), url)
            return HttpdRepo(base, rid, api, head, delegates, branch, timeout, retries,
                             budget)
    raise RegistryError(f"{base}: radicle-httpd does not know {rid}")
