"""Load (SPEC §13): 20 processes x 5 manifests into one bare registry with the server hook,
all started together; separate $AGENTD_HOMEs with different keys (AGENTD_KEYGEN_SEED).

Prints the wall time and the retries in all (each publisher's summary line on stderr,
`…; N retries`; `--json` gives each agent's status). Measured numbers: docs/publish.md, "Load".
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import git, run_cli
from tests.helpers_publish import index, write_agent_for
from tests.helpers_registry import make_server

PUBLISHERS = 20
EACH = 5


def _homes(tmp: Path) -> list[tuple[dict[str, str], set[str]]]:
    """Each publisher's home: an identity made by `id init` with its own AGENTD_KEYGEN_SEED
    (all at once), and 5 agents signed by that key."""
    envs = [{"AGENTD_HOME": str(tmp / f"publisher-{p:02d}"),
             "AGENTD_KEYGEN_SEED": (bytes([0x80 + p]) * 32).hex()} for p in range(PUBLISHERS)]
    procs = [subprocess.Popen(["git", "elite", "id", "init", "--alias", f"p{p}"],
                              env={**os.environ, **env}, stdout=subprocess.DEVNULL)
             for p, env in enumerate(envs)]
    assert [proc.wait() for proc in procs] == [0] * PUBLISHERS
    return [(env, {write_agent_for(Path(env["AGENTD_HOME"]),
                                   bytes.fromhex(env["AGENTD_KEYGEN_SEED"]), 1000 * p + i)
                   for i in range(EACH)}) for p, env in enumerate(envs)]


@pytest.mark.slow
def test_twenty_publishers_five_manifests_each(tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    homes = _homes(tmp_path)
    expected = set().union(*(agents for _, agents in homes))
    assert len(expected) == PUBLISHERS * EACH
    started = time.monotonic()
    procs = [subprocess.Popen(["git", "elite", "publish", "--json", "--registry", str(server)],
                              cwd=tmp_path, env={**os.environ, **env}, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for env, _ in homes]
    outputs = [proc.communicate(timeout=900) for proc in procs]
    elapsed = time.monotonic() - started
    failed = [(p.returncode, err[-500:]) for p, (_, err) in zip(procs, outputs, strict=True)
              if p.returncode != 0]
    assert not failed, failed[:2]
    statuses = [row["status"] for out, _ in outputs for row in json.loads(out)]
    assert statuses == ["published"] * len(expected)
    retries = [sum(int(m) for m in re.findall(r"; (\d+) retr", err)) for _, err in outputs]
    print(f"\nload: {PUBLISHERS} publishers x {EACH} manifests: {elapsed:.1f}s wall, "
          f"{sum(retries)} retries in all (max {max(retries)} for one publisher)")
    assert set(index(server)["agents"]) == expected
    assert index(server)["agent_count"] == len(expected)
    run_cli("verify", "--history", cwd=server)
    clone = tmp_path / "clone"
    git("clone", "-q", str(server), str(clone))
    run_cli("index", "--check", cwd=clone)
