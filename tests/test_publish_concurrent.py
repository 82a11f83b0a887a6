"""Many publishers at once into one bare registry with the server hook (SPEC §13):
separate $AGENTD_HOMEs and keys, real `git elite publish` subprocesses started together."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.helpers_publish import index, write_agent_for, write_identity
from tests.helpers_registry import make_server

PUBLISHERS = 10
EACH = 2


@pytest.mark.slow
def test_concurrent_publishers_lose_nothing(tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    expected: set[str] = set()
    homes = []
    for p in range(PUBLISHERS):
        home = tmp_path / f"publisher-{p}"
        seed = bytes([0x40 + p]) * 32
        write_identity(home, seed)
        expected |= {write_agent_for(home, seed, 100 * p + i) for i in range(EACH)}
        homes.append(home)
    started = time.monotonic()
    procs = [subprocess.Popen(["git", "elite", "publish", "--registry", str(server)],
                              env={**os.environ, "AGENTD_HOME": str(home)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for home in homes]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    elapsed = time.monotonic() - started
    failed = [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs, strict=True)
              if p.returncode != 0]
    assert not failed, failed[:2]
    retries = sum(int(m) for _, err in outputs for m in re.findall(r"(\d+) retr", err))
    print(f"\n{PUBLISHERS} publishers x {EACH}: {elapsed:.1f}s, {retries} retries in all")
    assert set(index(server)["agents"]) == expected
    assert index(server)["agent_count"] == len(expected)
    run_cli("verify", "--history", cwd=server)
