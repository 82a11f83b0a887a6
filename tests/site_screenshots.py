"""Screenshots of the leaderboard page for docs/site.md (wide, narrow, an agent's detail and
a tampered site), from a registry made by the project's own commands and served on loopback.

    .venv/bin/python -m tests.site_screenshots docs/
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from git_elite.core import documents, layout
from git_elite.edges import site
from tests.helpers_discover import registry_with
from tests.helpers_registry import attestation, commit_raw, isolated_module_env, nid
from tests.helpers_site import chromium, serve

AGENTS = [{"owner": o, "n": i, "rate": 0.78 + (i * 7 % 21) / 100, "total": 40 + 37 * (i % 13),
           "recent": 8 + i % 30} for i, o in enumerate(["alice", "bob", "carol", "dave"] * 12)]


def settle(driver: Any) -> None:
    for _ in range(200):
        status = driver.execute_script("return document.getElementById('status').textContent")
        if "verified," in status:
            return
        time.sleep(0.1)


def main(target: Path) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        with isolated_module_env(tmp):
            work, _ = registry_with(tmp, "chrysalis-elites", AGENTS)
            first = json.loads((work / layout.INDEX).read_bytes())["rankings"]["general"][0]
            commit_raw(work, {layout.attestation_path(first, nid("eve")): documents.to_bytes(
                attestation("eve", first, rate=0.74))}, "an attestation", index=True)
            www = tmp / "www"
            site.build(work, www / "clean")
            shutil.copytree(www / "clean", www / "tampered")
            ranked = json.loads((www / "tampered" / layout.INDEX).read_bytes())["rankings"]
            top = www / "tampered" / layout.agent_path(ranked["general"][1], "manifest.json")
            top.write_bytes(top.read_bytes().replace(b'"avg_duration_ms": 5320',
                                                      b'"avg_duration_ms": 999', 1))
            with serve(www) as url, chromium(tmp) as driver:
                driver.set_window_size(1280, 1100)
                driver.get(url + "clean/")
                settle(driver)
                driver.save_screenshot(str(target / "site-wide.png"))
                driver.execute_script("document.getElementById('chart-title').scrollIntoView()")
                driver.save_screenshot(str(target / "site-chart.png"))
                agent = driver.find_element("css selector", "#rows tr").get_attribute(
                    "data-agent")
                driver.get(url + f"clean/#agent={agent}")
                settle(driver)
                time.sleep(1)
                driver.execute_script("document.getElementById('detail').scrollIntoView()")
                driver.save_screenshot(str(target / "site-agent.png"))
                driver.get(url + "tampered/")
                settle(driver)
                driver.save_screenshot(str(target / "site-tampered.png"))
                driver.set_window_size(390, 1100)
                driver.get(url + "clean/")
                settle(driver)
                driver.execute_script("document.getElementById('ranking-title')"
                                      ".scrollIntoView()")
                driver.save_screenshot(str(target / "site-narrow.png"))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
