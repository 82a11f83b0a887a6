"""Builders for site tests: a registry written by the project's own commands, its static
site, a real HTTP server on 127.0.0.1 serving it, and headless Chromium (Debian's package,
driven through selenium with the system chromedriver; nothing is downloaded)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.loopback import static

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage")


def serve(root: Path) -> contextlib.AbstractContextManager[str]:
    """A static HTTP server over `root` on a free loopback port; yields its base URL."""
    return static(root)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        return ("Debian's chromium and chromium-driver are not installed "
                "(apt-get install -y chromium chromium-driver; .ci/run does it)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@contextlib.contextmanager
def chromium(tmp: Path, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """Headless Chromium with a fresh profile; selenium is given the driver path, so
    selenium-manager never runs (and never downloads anything)."""
    missing = browser_missing()
    if missing:
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp / "chromium-profile"
    for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                              options=options)
    try:
        driver.set_page_load_timeout(30)
        driver.set_script_timeout(30)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
