"""A registry with a timestamp role (SPEC §6.1), published with `git elite site` from its
hooked bare server and read over HTTP: fresh, frozen (expired), withholding (an older head
served with a newer timestamp) and rollback (an older timestamp after a newer one was seen),
by `discover/verify --url` and by the page in headless Chromium."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from git_elite.edges import site
from tests.conftest import run_cli
from tests.helpers_freshness import honest_push, stamped_server
from tests.helpers_registry import agent_files
from tests.helpers_site import browser_missing, chromium, serve


def test_fresh_site_reads_over_http(tmp_path: Path) -> None:
    server = stamped_server(tmp_path)
    out = tmp_path / "public"
    run_cli("site", str(server.bare), "-o", str(out))
    assert json.loads((out / "timestamp.json").read_bytes())["version"] == 1
    with serve(out) as url:
        found = run_cli("discover", "--url", url, "--json")
        audit = run_cli("verify", "--url", url, "--json")
    assert len(json.loads(found.stdout)) == 2 and "signed fresh until" in found.stderr
    body = json.loads(audit.stdout)
    assert body["ok"] is True and body["freshness"]["case"] == "fresh"


def test_expired_timestamp_is_a_freeze(tmp_path: Path) -> None:
    server = stamped_server(tmp_path, expires=1)
    out = tmp_path / "public"
    run_cli("site", str(server.bare), "-o", str(out))
    expires = json.loads((out / "timestamp.json").read_bytes())["expires_at"]
    time.sleep(max(0.0, expires + 1 - time.time()))  # until it has expired, no longer
    with serve(out) as url:
        refused = run_cli("discover", "--url", url, check=1)
        allowed = run_cli("discover", "--url", url, "--allow-stale", "--json")
        audit = run_cli("verify", "--url", url, "--json", check=1)
    assert "freeze" in refused.stderr and "expired" in refused.stderr
    assert len(json.loads(allowed.stdout)) == 2 and "--allow-stale" in allowed.stderr
    assert [p["rule"] for p in json.loads(audit.stdout)["problems"]] == ["timestamp"]


def test_withholding_and_rollback_over_http(tmp_path: Path) -> None:
    server = stamped_server(tmp_path)
    old = tmp_path / "old"
    run_cli("site", str(server.bare), "-o", str(old))
    honest_push(server, agent_files("carol", 3))
    new = tmp_path / "new"
    run_cli("site", str(server.bare), "-o", str(new))
    assert json.loads((new / "timestamp.json").read_bytes())["version"] == 2
    held = tmp_path / "held"  # the old state, with the newer timestamp beside it
    shutil.copytree(old, held)
    shutil.copy(new / "timestamp.json", held / "timestamp.json")
    with serve(held) as url:
        withheld = run_cli("discover", "--url", url, check=1)
    assert "withholding" in withheld.stderr
    with serve(new) as url:
        run_cli("discover", "--url", url)  # sees v2 (remembered)
    with serve(old) as url:
        rolled = run_cli("discover", "--url", url, check=1)
    assert "rollback" in rolled.stderr


@pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))
def test_page_of_a_stamped_registry(tmp_path: Path) -> None:
    server = stamped_server(tmp_path)
    out = tmp_path / "public"
    site.build(server.bare, out)
    with serve(out) as url, chromium(tmp_path) as browser:
        browser.get(url)
        for _ in range(200):
            status = browser.find_element("id", "status").text
            if "verified," in status:
                break
            time.sleep(0.1)
        assert "2 verified, 0 failed" in status
        assert "fresh until" in browser.find_element("id", "freshness").text
        assert browser.find_element("id", "banner").get_attribute("hidden") is not None
