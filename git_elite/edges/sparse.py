"""Sparse reads over HTTP(S) (SPEC §14): a registry's files fetched by path from a static site
(`git elite site`), a git host's raw-file URL or radicle-httpd's raw endpoint — whatever
serves `BASE/<path>` with the file's bytes. Only the files a reader asks for are fetched;
every answer is just bytes, checked by the rule engine exactly as a clone's would be.

Bounded: each document by its size limit (a longer answer is cut off, a longer
Content-Length refused before reading) and by a per-request deadline enforced by a watchdog
that closes the socket (so a server trickling headers or body cannot hold a reader), the
whole read by a budget of requests, bytes and seconds; at most 5 redirects (http/https only);
transient failures (connection errors, timeouts, 429 and 5xx) retried twice with backoff.
Every failure is one line naming the URL (without credentials) and what went wrong.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from git_elite.core import layout, read_limits
from git_elite.core.errors import RegistryError

KIB = 1024
MIB = 1024 * KIB
MAX_REDIRECTS = 5
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SITE_JSON = "site.json"
TIMESTAMP = "timestamp.json"
MAX_LISTED = 100_000
NOTICE_AFTER = 3.0  # seconds without an answer before saying what we wait for


def limit_for(path: str, head: Mapping[str, Any] | None = None) -> int:
    """The most bytes a document at `path` may have: an index file what the served head
    declares for it (core/read_limits), the head itself a small fixed size, other
    documents SPEC §3's limits."""
    declared = read_limits.declared(head, path)
    if declared is not None:
        return declared
    name = path.rsplit("/", 1)[-1]
    if path == SITE_JSON:
        return read_limits.DOC_MAX
    if name in ("prompt.md", "demos.json"):
        return 256 * KIB
    return 64 * KIB


def parse_guard(path: str, data: bytes, where: str) -> bytes:
    """`data` unless parsing it could cost more than a reader spends on one document (an
    index file or site.json made of tiny containers): then one line, nothing parsed."""
    if path == layout.INDEX or path.startswith("index/") or path == SITE_JSON:
        cost = read_limits.parse_cost(data)
        if cost > read_limits.PARSE_BUDGET:
            raise RegistryError(f"{where}: [json] {len(data)} bytes whose parse would take "
                                f"~{cost // MIB} MiB, more than the "
                                f"{read_limits.PARSE_BUDGET // MIB} MiB a reader spends on "
                                "one document; not parsed")
    return data


@dataclass
class Budget:
    """What one command may spend on one server: requests, bytes, seconds (overall), and
    seconds per request. Shared by the threads of one read (`Remembered.prefetch`)."""

    requests: int = 5000
    bytes: int = 2048 * MIB
    seconds: float = 300.0
    per_request: float = 20.0
    retries: int = 2
    used_requests: int = 0
    used_bytes: int = 0
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def spend_request(self, where: str) -> None:
        with self._lock:
            if self.used_requests >= self.requests:
                raise RegistryError(f"{where}: more than {self.requests} requests; stopped")
            if self.left() <= 0:
                raise RegistryError(f"{where}: took longer than {self.seconds:g} s; stopped")
            self.used_requests += 1

    def spend_bytes(self, where: str, count: int) -> None:
        with self._lock:
            self.used_bytes += count
            if self.used_bytes > self.bytes:
                raise RegistryError(f"{where}: more than {self.bytes} bytes in all; stopped")


def for_verify() -> Budget:
    """A full audit reads every file: a bigger budget, still bounded."""
    return Budget(requests=10_000_000, bytes=64 * 1024 * MIB, seconds=6 * 3600.0)


def shown(url: str) -> str:
    """`url` without userinfo, query or fragment (never print credentials)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


class _Transient(Exception):
    pass


_Key = tuple[str, str, int | None]
POOL_SIZE = 8  # connections kept open per server, and reads in flight (`Remembered.prefetch`)


class _Pool:
    """Idle keep-alive connections per (scheme, host, port): a connection is put back only
    after an answer read to its end that does not ask to close."""

    def __init__(self) -> None:
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def take(self, key: _Key) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def give(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < POOL_SIZE:
                idle.append(conn)
                return
        conn.close()


class HttpRegistry:
    """A registry read by path from `base` (ending in /) within a budget, over keep-alive
    connections."""

    def __init__(self, base: str, budget: Budget | None = None):
        parts = urllib.parse.urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RegistryError(f"{shown(base)}: not an http(s) URL")
        self.base = base if base.endswith("/") else base + "/"
        self.budget = budget or Budget()
        self.pool = _Pool()
        # the served head once parsed: what it declares bounds every index file read after
        self.head: Callable[[], Mapping[str, Any] | None] = lambda: None
        self.noticed = False

    def url(self, path: str) -> str:
        return self.base + urllib.parse.quote(path)

    def read(self, path: str) -> bytes | None:
        """The bytes at `path`, None when the server says 404/410. A read still waiting after
        NOTICE_AFTER seconds says so on stderr once, with the real longest wait."""
        tries, each = self.budget.retries + 1, self.budget.per_request
        pauses = sum(0.25 * 2 ** a for a in range(self.budget.retries))
        longest = min(tries * each + pauses, max(0.0, self.budget.left()))
        notice = threading.Timer(NOTICE_AFTER, self._waiting, (path, longest, tries, each))
        notice.daemon = True
        if longest > NOTICE_AFTER:
            notice.start()
        try:
            return self._read(path)
        finally:
            notice.cancel()

    def _waiting(self, path: str, longest: float, tries: int, each: float) -> None:
        from git_elite.edges import output

        with self.budget._lock:
            if self.noticed:
                return
            self.noticed = True
        output.info(f"git-elite: waiting for {shown(self.url(path))}: no answer after "
                    f"{NOTICE_AFTER:g} s; waiting up to {longest:.0f} s in all ({tries} tries "
                    f"of up to {each:g} s; git config elite.urlTimeout sets the time per try)")

    def _read(self, path: str) -> bytes | None:
        url = self.url(path)
        limit = limit_for(path, self.head())
        for attempt in range(self.budget.retries + 1):
            try:
                data = self._get(url, limit)
                return None if data is None else parse_guard(path, data, shown(url))
            except _Transient as err:
                if attempt == self.budget.retries:
                    raise RegistryError(f"{shown(url)}: {err} (after {attempt + 1} tries)"
                                        ) from None
                pause = min(0.25 * 2 ** attempt, max(0.0, self.budget.left()))
                time.sleep(pause)
        raise RegistryError(f"{shown(url)}: no answer")

    def _get(self, url: str, limit: int) -> bytes | None:
        for _ in range(MAX_REDIRECTS + 1):
            self.budget.spend_request(shown(url))
            status, location, body = _request(url, limit, self.budget, self.pool)
            if status in (301, 302, 303, 307, 308) and location:
                url = urllib.parse.urljoin(url, location)
                if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
                    raise RegistryError(f"{shown(url)}: redirected away from http(s)")
                continue
            if status in (404, 410):
                return None
            if status in RETRY_STATUSES:
                raise _Transient(f"HTTP {status}")
            if status != 200:
                raise RegistryError(f"{shown(url)}: HTTP {status}")
            return body
        raise RegistryError(f"{shown(url)}: more than {MAX_REDIRECTS} redirects (a loop?)")


def _key(url: str) -> _Key:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.hostname or "", parts.port


def _target(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return (parts.path or "/") + ("?" + parts.query if parts.query else "")


def _connection(key: _Key, timeout: float) -> http.client.HTTPConnection:
    scheme, host, port = key
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout,
                                           context=ssl.create_default_context())
    return http.client.HTTPConnection(host, port, timeout=timeout)


def _request(url: str, limit: int, budget: Budget, pool: _Pool
             ) -> tuple[int, str | None, bytes]:
    """One GET: (status, Location, body), on an idle connection to the server when there is
    one. A kept connection the server has closed meanwhile is replaced once, at once."""
    key = _key(url)
    conn = pool.take(key)
    if conn is not None:
        try:
            return _exchange(conn, url, limit, budget, pool, reused=True)
        except _Stale:
            pass
    deadline = min(budget.per_request, max(0.0, budget.left()))
    return _exchange(_connection(key, deadline), url, limit, budget, pool, reused=False)


class _Stale(Exception):
    """A kept-alive connection closed by the server before it answered."""


def _exchange(conn: http.client.HTTPConnection, url: str, limit: int, budget: Budget,
              pool: _Pool, reused: bool) -> tuple[int, str | None, bytes]:
    """The request on `conn`; a watchdog closes the socket at the deadline."""
    deadline = min(budget.per_request, max(0.0, budget.left()))
    fired = threading.Event()
    sockets: list[socket.socket] = []  # http.client drops conn.sock once the answer has it
    watchdog = threading.Timer(deadline, _close, (sockets, fired))
    watchdog.daemon = True
    started = time.monotonic()
    keep = False
    answered = False
    try:
        watchdog.start()
        if conn.sock is None:
            conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(deadline)
            sockets.append(conn.sock)
        conn.request("GET", _target(url), headers={"User-Agent": "git-elite",
                                                   "Accept-Encoding": "identity"})
        response = conn.getresponse()
        answered = True
        location = response.getheader("Location")
        if response.status != 200:
            keep = _drained(response)
            return response.status, location, b""
        body = _body(response, url, limit, budget)
        if fired.is_set():
            raise _Transient(f"no complete answer within {deadline:g} s")
        if response.length:  # the server closed before the Content-Length it announced
            raise _Transient("answer cut short")
        if response.length == 0:
            response.close()  # read1 leaves a complete answer open: the connection is free
        keep = response.isclosed() and not response.will_close
        return 200, location, body
    except RegistryError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as err:
        if reused and not answered and not fired.is_set():
            raise _Stale() from None
        if fired.is_set() or time.monotonic() - started >= deadline:
            raise _Transient(f"no complete answer within {deadline:g} s") from None
        raise _Transient(_why(err)) from None
    finally:
        watchdog.cancel()
        if keep and not fired.is_set():
            pool.give(_key(url), conn)
        else:
            conn.close()


def _drained(response: Any) -> bool:
    """Read a short error page to its end so the connection can be kept; False (close it)
    for a long, endless or stalled one."""
    if response.will_close or response.length is None or response.length > 64 * KIB:
        return False
    try:
        response.read()
    except (OSError, http.client.HTTPException, ValueError):
        return False
    return bool(response.isclosed())


def _close(sockets: list[socket.socket], fired: threading.Event) -> None:
    fired.set()
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _why(err: BaseException) -> str:
    if isinstance(err, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, ssl.SSLError):
        return "TLS failed"
    if isinstance(err, http.client.HTTPException):
        return f"bad HTTP answer ({type(err).__name__})"
    return f"connection failed ({type(err).__name__})"


def _body(response: Any, url: str, limit: int, budget: Budget) -> bytes:
    declared = response.getheader("Content-Length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise RegistryError(f"{shown(url)}: {int(declared)} bytes announced, more than the "
                            f"{limit} a document there may have; not read")
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = response.read1(64 * KIB)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise RegistryError(f"{shown(url)}: more than the {limit} bytes a document "
                                "there may have; cut off")
        budget.spend_bytes(shown(url), len(chunk))
        parts.append(chunk)
    return b"".join(parts)


class Remembered:
    """`read` that asks the server once per path per command (discover reads a shown
    agent's manifest to rank it and again to verify it), and `prefetch` that reads paths
    about to be needed concurrently (at most POOL_SIZE in flight), each kept with its
    answer or its error for the read that asks for it."""

    def __init__(self, read: Callable[[str], bytes | None]):
        self._read = read
        self._seen: dict[str, bytes | None | RegistryError] = {}

    def __call__(self, path: str) -> bytes | None:
        if path not in self._seen:
            self._fill(path)
        # an index file is parsed once by its reader: its bytes are not kept (a hostile
        # server's shards at their limits would otherwise add up in memory)
        found = self._seen.pop(path) if path.startswith("index/") else self._seen[path]
        if isinstance(found, RegistryError):
            raise found
        return found

    def _fill(self, path: str) -> None:
        try:
            self._seen[path] = self._read(path)
        except RegistryError as err:
            self._seen[path] = err

    def prefetch(self, paths: Sequence[str]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        todo = list(dict.fromkeys(p for p in paths if p not in self._seen))
        if len(todo) < 2:
            return
        with ThreadPoolExecutor(max_workers=min(POOL_SIZE, len(todo))) as pool:
            list(pool.map(self._fill, todo))


def remembered(read: Callable[[str], bytes | None]) -> Remembered:
    return Remembered(read)


def timestamp_path(identity: bytes) -> list[str]:
    """[timestamp.json] when IDENTITY.json declares a timestamp role (the engine checks the
    document itself), else []: a registry without one is not asked for it."""
    import json

    try:
        body = json.loads(identity)
    except ValueError:
        return []
    return [TIMESTAMP] if isinstance(body, dict) and "timestamp" in body else []


def listed_documents(registry: HttpRegistry | Remembered
                     ) -> tuple[Iterator[tuple[str, bytes]], str | None]:
    """The endorsements and rotations site.json lists (a static host has no directory
    listing), read when iterated (concurrently through a `Remembered`), and a note when
    there is no listing to read."""
    import json

    read = registry.read if isinstance(registry, HttpRegistry) else registry
    raw = read(SITE_JSON)
    if raw is None:
        return iter(()), "endorsements are not read: the server has no site.json listing"
    try:
        body = json.loads(raw)
        paths = [*body.get("endorsements", []), *body.get("rotations", [])][:MAX_LISTED]
    except (ValueError, AttributeError, TypeError):
        return iter(()), "endorsements are not read: site.json is not a listing"
    wanted = [p for p in paths if isinstance(p, str) and _listed_kind(p)]

    def documents() -> Iterator[tuple[str, bytes]]:
        if isinstance(registry, Remembered):
            registry.prefetch(wanted)
        for path in wanted:
            data = read(path)
            if data is not None:
                yield path, data

    return documents(), None


def _listed_kind(path: str) -> bool:
    slot = layout.classify(path)
    return slot is not None and slot.kind in ("endorsement", "rotation")


def budget_from_config(full: bool = False) -> Budget:
    """The default budget (or `for_verify`), with `git config elite.urlTimeout` (seconds per
    request) and `elite.urlDeadline` (seconds in all) when set."""
    from git_elite.edges import git

    budget = for_verify() if full else Budget()
    for key, name in (("elite.urlTimeout", "per_request"), ("elite.urlDeadline", "seconds")):
        value = git.config_get(key)
        if value is not None:
            try:
                setattr(budget, name, max(0.1, float(value)))
            except ValueError:
                raise RegistryError(f"git config {key}: {value!r} is not a number of "
                                    "seconds") from None
    return budget


# `verify --url`: every file the served head reaches, checked as a clone's tree is -----------
def collect(registry: HttpRegistry) -> tuple[dict[str, bytes], list[Any]]:
    """The files of the registry as served: IDENTITY.json, the head, every shard it lists,
    the files of every agent they list, and the listed endorsements and rotations; plus the
    problems found while collecting (a missing head, a head that is not JSON)."""
    from git_elite.core import jsonstrict
    from git_elite.core.errors import EliteError, Problem

    files: dict[str, bytes] = {}
    for path in (layout.IDENTITY, layout.INDEX):
        data = registry.read(path)
        if data is None:
            return files, [Problem("layout", path, f"{path} is not served at "
                                   f"{shown(registry.base)}")]
        files[path] = data
    try:
        head = jsonstrict.load_large(files[layout.INDEX], name=layout.INDEX,
                                     max_bytes=limit_for(layout.INDEX))
    except EliteError as err:
        return files, [Problem("json", layout.INDEX, err.message)]
    registry.head = lambda: head if isinstance(head, dict) else None
    for path in _shard_paths(head) + _pinned_paths(head):
        data = registry.read(path)
        if data is not None:
            files[path] = data
    fmt = _format(files[layout.IDENTITY])
    for agent_id in _agent_ids(head, files):
        for name in ("manifest.json", "profile.json", "prompt.md", "demos.json"):
            path = layout.agent_path(agent_id, name, fmt)
            data = registry.read(path)
            if data is not None:
                files[path] = data
    if isinstance(head, dict) and isinstance(head.get("trust"), dict):
        # SPEC §6.2: the trust documents and attestations the pinned files name (the rule
        # engine then holds every byte to its pin, as on a clone's tree)
        for path in _pinned_documents(files):
            data = registry.read(path)
            if data is not None:
                files[path] = data
        return files, []
    listed, _ = listed_documents(registry)
    files.update(dict(listed))
    return files, []


def _pinned_documents(files: dict[str, bytes]) -> list[str]:
    """The endorsements and rotations the trust shards list, and the attestations the
    shard entries pin (`attestation_sha256`)."""
    import json

    out: list[str] = []
    for path, data in files.items():
        if not path.startswith("index/") or path == layout.RANKED:
            continue
        try:
            value = json.loads(data)
        except ValueError:
            continue  # the engine names the bad file
        if path.startswith(layout.TRUST_DIR + "/"):
            docs = value.get("documents") if isinstance(value, dict) else None
            out += [p for p in (docs or {}) if isinstance(p, str) and _listed_kind(p)]
            continue
        agents = value.get("agents") if isinstance(value, dict) else None
        for agent_id, entry in (agents or {}).items():
            pinned = entry.get("attestation_sha256") if isinstance(entry, dict) else None
            if layout.is_agent_id(agent_id) and isinstance(pinned, dict):
                out += [layout.attestation_path(agent_id, nid) for nid in pinned
                        if isinstance(nid, str) and layout.classify(
                            layout.attestation_path(agent_id, nid)) is not None]
    return sorted(set(out))[:MAX_LISTED]


def _format(identity: bytes) -> int:
    """The layout IDENTITY.json declares (the engine checks the document itself)."""
    import json

    try:
        body = json.loads(identity)
    except ValueError:
        return layout.FORMAT
    return layout.format_of(body) if isinstance(body, dict) else layout.FORMAT


def _shard_paths(head: Any) -> list[str]:
    shards = head.get("shards") if isinstance(head, dict) else None
    if not isinstance(shards, dict):
        return []
    return [f"index/{ab}.json" for ab in sorted(shards)
            if isinstance(ab, str) and len(ab) == 2 and all(c in "0123456789abcdef" for c in ab)]


def _pinned_paths(head: Any) -> list[str]:
    """index/ranked.json and the trust shards a pinned head lists (SPEC §6.2)."""
    if not isinstance(head, dict) or not isinstance(head.get("ranked"), dict):
        return []
    trust = head.get("trust")
    return [layout.RANKED] + [layout.trust_shard_path(ab) for ab in sorted(
        trust if isinstance(trust, dict) else ())
        if isinstance(ab, str) and len(ab) == 2 and all(c in "0123456789abcdef" for c in ab)]


def _agent_ids(head: Any, files: dict[str, bytes]) -> list[str]:
    import json

    found: set[str] = set()
    tables = [head.get("agents")] if isinstance(head, dict) else []
    for path, data in files.items():
        if path.startswith("index/") and not path.startswith(layout.TRUST_DIR):
            try:
                tables.append(json.loads(data).get("agents"))
            except (ValueError, AttributeError):
                continue  # the engine names the bad shard
    for table in tables:
        if isinstance(table, dict):
            found.update(k for k in table if isinstance(k, str) and layout.is_agent_id(k))
    return sorted(found)


def audit(url: str, now: int, allow_stale: bool) -> tuple[list[Any], Any]:
    """`verify --url`: the rule engine over every served file as if added to an empty
    registry (what `verify` does to a clone's tree), and the freshness of what is served
    (None for a registry without a timestamp role); a stale copy is a `timestamp` problem
    unless `allow_stale` (then a warning)."""
    from git_elite.core import engine, timestamp
    from git_elite.core.errors import Problem
    from git_elite.core.state import EMPTY, MemoryState, additions
    from git_elite.edges import output

    registry = HttpRegistry(url, budget_from_config(full=True))
    files, problems = collect(registry)
    if problems:
        return problems, None
    problems = engine.check_change(EMPTY, additions(files), MemoryState(files))
    pinned = identity_problems(files[layout.IDENTITY], shown(url))
    if pinned:
        return problems + pinned, None
    result = freshness(registry.read, files[layout.IDENTITY], now)
    if result.case == timestamp.UNDECLARED:
        return problems, None
    if result.ok:
        output.info(f"git-elite: verify: {shown(url)}: {result.message}")
    elif allow_stale:
        output.warn(f"{result.line(shown(url))} (--allow-stale)")
    else:
        problems.append(Problem(timestamp.RULE, TIMESTAMP, f"{result.case}: {result.message}"))
    return problems, result


def identity_problems(raw: bytes, name: str) -> list[Any]:
    """SPEC §6.2 over HTTP: an IDENTITY.json older than, or dropping a role of, the highest
    one seen for this registry (owner and name) is a `rollback` problem."""
    from git_elite.core import documents
    from git_elite.core.errors import EliteError
    from git_elite.edges import identity_seen

    try:
        body = documents.parse(raw, layout.IDENTITY, documents.REGISTRY_IDENTITY).body
        identity_seen.check(identity_seen.http_key(body), raw, name)
    except EliteError as err:
        return [err.problem()]
    return []


def freshness(read: Callable[[str], bytes | None], identity_raw: bytes, now: int) -> Any:
    """SPEC §6.1 over HTTP: `timestamp.json` as served, judged by `timestamp.assess`. There
    is no commit graph to ask whether the served tip contains the signed one, so the served
    INDEX.json must be exactly the one the timestamp signs (else: withholding). The highest
    version seen is remembered per registry name and owner (there is no root commit to key
    it by), so a second server cannot serve an older timestamp either."""
    import hashlib

    from git_elite.core import documents, timestamp
    from git_elite.edges import freshness as memory

    identity = documents.parse(identity_raw, layout.IDENTITY, documents.REGISTRY_IDENTITY).body
    role = timestamp.Role.of(identity)
    index = read(layout.INDEX) or b""
    if role is None:
        return timestamp.Freshness(timestamp.UNDECLARED, "declares no timestamp role "
                                   "(freshness not checked)")
    name, owner = str(identity["name"]), str(identity["owner_did"])
    key = "url-" + hashlib.sha256(f"{name}\0{owner}".encode()).hexdigest()[:40]
    result = timestamp.assess(read(TIMESTAMP), role, registry=name, owner_did=owner,
                              branch=None, tip="(served)", now=now,
                              seen=memory.seen(key, role), contains=lambda commit: True,
                              index_at=lambda commit: index)
    signed = result.signed
    if signed is not None and hashlib.sha256(index).hexdigest() != signed.index_sha256:
        return timestamp.Freshness(
            timestamp.WITHHOLDING, f"the served INDEX.json is not the one timestamp "
            f"v{signed.version} signs ({signed.dates()}): this server serves another state "
            "than was signed", signed)
    if signed is not None and result.case != timestamp.INVALID:
        memory.remember(key, role, signed.version, name)
    return result
