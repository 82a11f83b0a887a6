"""SPEC §12's targets of the static site and sparse reads (§14), on the largest registry:
`discover --url` of the top 20 over loopback HTTP (<= 1 s, <= 30 requests), the page's first
page usable in headless Chromium (<= 1.5 s), and the site's rewrite after a one-agent commit
(<= 1 s). The site of a registry is written once under bench/out/site-<n>/ (at 1M that is 2M
files) and rewritten incrementally afterwards. The browser is Debian's chromium driven by
selenium with the system chromedriver (as tests/helpers_site.py does); without it, or without
the site code, the rows are left out and the notes say why."""

from __future__ import annotations

import contextlib
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common import AFTER, Bench, Row, paired, paired_timed
from e2e import bare_copy, call, one_manifest_commit, sandbox, sh, version
from loopback import static

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
URL_MS, URL_REQUESTS, PAGE_MS, REWRITE_MS = 1000.0, 30, 1500.0, 1000.0
BLANK = b"<!doctype html><title>blank</title><p>blank</p>\n"


@contextlib.contextmanager
def serve(root: Path) -> Iterator[tuple[str, list[str]]]:
    """A static HTTP server over `root` on a loopback port: (base URL, paths requested)."""
    requests: list[str] = []
    with static(root, requests, keep_alive=True) as url:  # as any real static server
        yield url, requests


def missing() -> str | None:
    """Why the site cannot be measured here, or None."""
    proc = subprocess.run([str(AFTER.bin / "git-elite"), "site", "-h"], capture_output=True)
    if proc.returncode != 0:
        return "this tree has no `git elite site` (SPEC §14's code is not merged here)"
    return None


def browser_missing() -> str | None:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        return "Debian's chromium and chromium-driver are not installed"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def measure_site(b: Bench) -> list[Row]:
    why = missing()
    if why and b.once():
        b.notes.append(f"Site and --url targets not measured: {why}.")
    if why:
        return []
    n = b.site_size or b.sizes[-1]
    if not b.todo(n):
        return []
    _compiled()
    with sandbox() as tmp:
        registry = bare_copy(b.repo(n), tmp / "registry.git", hook=False)
        site = b.out / f"site-{n}"
        start = time.perf_counter()
        sh(["git", "elite", "site", str(registry), "-o", str(site), "--rev", "main"])
        b.notes.append(f"Site of {n}: (re)written in {time.perf_counter() - start:.0f} s "
                       f"before the timed runs ({_du(site)}).")
        rows = [_rewrite(b, n, registry, site)]
        with serve(site) as (url, requests):
            rows += _discover_url(b, n, url, requests, tmp)
        rows += _stamped_url(b, n, tmp)
        with serve(site) as (url, requests):
            why = browser_missing()
            if why:
                b.notes.append(f"First page in the browser not measured: {why}.")
            else:
                rows += _first_page(b, n, url, tmp)
    return rows


def _compiled() -> None:
    """Byte-compile the package once, as `pip install` does: with PYTHONDONTWRITEBYTECODE
    set (as on the shared machine) a checkout would otherwise compile ~90 modules on every
    `git elite discover`, which is not what an installed tool pays."""
    package = Path(__file__).resolve().parents[1] / "git_elite"
    subprocess.run([str(AFTER.bin / "python"), "-m", "compileall", "-q", str(package)],
                   check=False, capture_output=True)


def _du(path: Path) -> str:
    out = subprocess.run(["du", "-sh", "--apparent-size", str(path)], capture_output=True,
                         text=True).stdout.split()
    return f"{out[0] if out else '?'}B"


def _rewrite(b: Bench, n: int, registry: Path, site: Path) -> Row:
    """`git elite site` on a commit adding one agent (then back to main, untimed), against
    a rerun with nothing changed."""
    commit = one_manifest_commit(registry, n)
    args = ["git", "elite", "site", str(registry), "-o", str(site), "--rev"]

    def forward() -> float:
        start = time.perf_counter()
        sh([*args, commit])
        took = time.perf_counter() - start
        sh([*args, "main"])
        return took

    def same() -> float:
        start = time.perf_counter()
        sh([*args, "main"])
        return time.perf_counter() - start

    t, t_same = paired_timed(forward, same, b.repeat)
    return Row(f"site rewrite after a one-agent commit, {n}", t * 1e3, "ms",
               "rerun with nothing changed", t_same * 1e3, f"<= {REWRITE_MS:.0f} ms", False,
               None, REWRITE_MS)


def _stamped_url(b: Bench, n: int, tmp: Path) -> list[Row]:
    """`discover --url` of the same agents in a registry whose IDENTITY.json declares a
    timestamp role, freshly signed before the run: the head is chained to a signature, so
    the shown manifests' profiles are not fetched (docs/discover.md)."""
    import synth

    registry = synth.build(n, b.out, stamped=True)
    version = synth.stamp(registry)
    site = b.out / f"site-{n}-ts"
    sh(["git", "elite", "site", str(registry), "-o", str(site), "--rev", "main"])
    b.notes.append(f"Site of {n} with a timestamp role: timestamp v{version} signed just "
                   "before the run.")
    with serve(site) as (url, requests):
        return _discover_url(b, n, url, requests, tmp, ", timestamp role")


def _discover_url(b: Bench, n: int, url: str, requests: list[str], tmp: Path,
                  what: str = "") -> list[Row]:
    args = ["git", "elite", "discover", "--url", url, "--json"]
    sh(args, cwd=tmp)  # warm-up (and the freshness memory, if any)
    requests.clear()
    sh(args, cwd=tmp)
    one = list(requests)
    t, t_start = paired(call(args, cwd=tmp), version(), b.repeat)
    count = len(one)
    b.notes.append(f"discover --url of {n}{what}: {count} requests: " + _summary(one))
    return [Row(f"discover --url top 20 of {n}{what}, loopback HTTP", t * 1e3, "ms",
                "git-elite --version", t_start * 1e3, f"<= {URL_MS:.0f} ms", False, None,
                URL_MS),
            Row(f"discover --url top 20 of {n}{what}: HTTP requests", count, "requests",
                "agents shown", 20, f"<= {URL_REQUESTS}", False, None, URL_REQUESTS)]


def _summary(paths: list[str]) -> str:
    """How many requests of each kind: a top-level file by name, agents/ by file name."""
    kinds: dict[str, int] = {}
    for path in paths:
        parts = path.split("?")[0].strip("/").split("/")
        kind = f"agents/…/{parts[-1]}" if parts[0] == "agents" else \
            f"{parts[0]}/" if len(parts) > 1 else parts[0] or "/"
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))


def _first_page(b: Bench, n: int, url: str, tmp: Path) -> list[Row]:
    """Navigation start to the page's `elite:listed` mark (the first rows drawn: usable) and
    to `elite:verified` (every mark on the page settled), against the load of a blank page
    from a server on the same loopback; the browser's cache is disabled for each load."""
    blank_dir = tmp / "blank"
    blank_dir.mkdir()
    (blank_dir / "index.html").write_bytes(BLANK)
    listed, verified, blank = [], [], []
    with _chromium(tmp) as driver, serve(blank_dir) as (blank_url, _):
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        _load(driver, url, "verified")  # warm-up: the browser's own start-up
        for _ in range(b.repeat):
            marks = _load(driver, url, "verified")
            listed.append(marks["elite:listed"])
            verified.append(marks["elite:verified"])
            driver.get(blank_url)
            blank.append(driver.execute_script(
                "return performance.getEntriesByType('navigation')[0].loadEventEnd"))
    base = statistics.median(blank)
    return [Row(f"site of {n}: first page usable in headless Chromium (elite:listed)",
                statistics.median(listed), "ms", "blank page load", base,
                f"<= {PAGE_MS:.0f} ms", False, None, PAGE_MS),
            Row(f"site of {n}: first page verified (elite:verified)",
                statistics.median(verified), "ms", "blank page load", base, "reported", False,
                None)]


def _load(driver: Any, url: str, state: str, timeout: float = 120.0) -> dict[str, float]:
    driver.get(url)
    deadline = time.monotonic() + timeout
    script = "return document.body && document.body.dataset.state"
    while driver.execute_script(script) != state:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the page did not reach data-state={state} in {timeout} s")
        time.sleep(0.02)
    marks: dict[str, float] = driver.execute_script(
        "const o = {}; for (const m of performance.getEntriesByType('mark')) "
        "o[m.name] = m.startTime; return o")
    return marks


@contextlib.contextmanager
def _chromium(tmp: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp / "chromium-profile"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                              options=options)
    try:
        driver.set_page_load_timeout(120)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


