"""The one loopback HTTP server of the benches and the tests (bench/site_bench.py,
tests/helpers_site.py, tests/test_sparse.py): any handler on a free 127.0.0.1 port, or a
folder served as static files, counting the paths asked. Standard library only, so that
both `python bench/run.py` (bench/ on sys.path) and the tests (`bench.loopback`) import it."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


class Quiet(http.server.SimpleHTTPRequestHandler):
    """Static files without a log line per request."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def loopback(handler: Callable[..., Any]) -> Iterator[str]:
    """A threading HTTP server with `handler` on a free loopback port; yields its base URL
    and is shut down, closed and joined on the way out (handler threads are daemons, so a
    handler that stalls on purpose cannot hold the exit)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def static(root: Path, requests: list[str] | None = None,
           connections: list[Any] | None = None, keep_alive: bool = False) -> Iterator[str]:
    """`root` served as static files; every path asked is appended to `requests` when
    given (to count what a reader fetched). With `keep_alive`, HTTP/1.1 (connections kept
    open, as any real static server does); each connection's client address is appended to
    `connections` when given."""

    class Counting(Quiet):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def __init__(self, *args: Any, **kw: Any) -> None:
            if connections is not None:
                connections.append(args[1])
            super().__init__(*args, **kw)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if requests is not None:
                requests.append(self.path)
            super().do_GET()

    with loopback(functools.partial(Counting, directory=str(root))) as url:
        yield url
