"""`git elite mcp` driven by a client nobody here wrote: the official TypeScript SDK's
(`@modelcontextprotocol/sdk`, pinned in tests/node/package-lock.json, installed by `.ci/run`
with `npm ci`) through tests/node/client.mjs. It lists the tools, calls each one (the SDK
checks structuredContent against each outputSchema), reads a manifest resource, and gets a
refused write, a bad argument and a hostile registry's text as tool results. Skips, saying
why, without node or the installed package; nothing is downloaded at test time."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.helpers_mcp import HOSTILE, TRUSTED, UNTRUSTED, World, build, fresh_home
from tests.helpers_registry import isolated_module_env, key

NODE_DIR = ROOT / "tests" / "node"
SDK = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json"
RAW = ("\x1b", "\x07", "\u202e")

pytest.importorskip("mcp", reason="the MCP SDK is not installed (pip install 'git-elite[mcp]')")


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is not installed (.ci/run installs Debian's nodejs and npm)")
    if not SDK.exists():
        pytest.skip("@modelcontextprotocol/sdk is not installed in tests/node (run `npm ci` "
                    "there; .ci/run does)")
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    node()
    tmp = tmp_path_factory.mktemp("mcp-node")
    with isolated_module_env(tmp):
        yield build(tmp)


def drive(world: World, plan: dict[str, Any], *args: str, cwd: Path | None = None
          ) -> dict[str, Any]:
    command = world.command(*args)
    path = world.tmp / "plan.json"
    path.write_text(json.dumps({"command": command[0], "args": command[1:],
                                "cwd": str(cwd or world.tmp), **plan}))
    proc = subprocess.run([node(), str(NODE_DIR / "client.mjs"), str(path)], env=world.env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def text(result: dict[str, Any]) -> str:
    return "".join(c["text"] for c in result.get("content", []) if c["type"] == "text")


def test_typescript_client_read_only(world: World) -> None:
    fresh_home(world)
    calls = [("discover_elites", {"top": 5}),
             ("verify_registry", {"target": str(world.bare)}),
             ("explain_trust", {"did": key("alice").did}),
             ("import_elite_agent", {"agent_id": TRUSTED}),
             ("export_elite_agents", {}),
             ("discover_elites", {"min_success": 2}),
             ("verify_registry", {"target": str(world.odd)})]
    out = drive(world, {"calls": [{"name": n, "arguments": a} for n, a in calls],
                        "readFirst": True}, "--registry", str(world.bare))
    assert out["server"]["name"] == "git-elite"
    tools = {t["name"]: t for t in out["tools"]}
    assert set(tools) == {name for name, _ in calls}
    assert tools["discover_elites"]["annotations"]["readOnlyHint"] is True
    assert tools["export_elite_agents"]["annotations"]["readOnlyHint"] is False
    assert "--allow-write" in tools["import_elite_agent"]["description"]
    assert all("thrown" not in c for c in out["calls"]), out["calls"]
    discover, verify, trust, imp, exp, bad, odd = out["calls"]
    assert [r["agent_id"] for r in discover["structuredContent"]["agents"]] == \
        [TRUSTED, UNTRUSTED]
    assert verify["structuredContent"]["ok"] is True and not verify.get("isError")
    assert trust["structuredContent"]["trusted"] is True
    assert trust["structuredContent"]["path"][-1] == key("alice").did
    for refused in (imp, exp):
        assert refused["isError"] is True and "--allow-write" in text(refused)
    assert bad["isError"] is True
    assert text(bad) == "git-elite: error: discover_elites: min_success: 2 is greater " \
        "than the maximum of 1"
    assert odd["structuredContent"]["ok"] is False
    wire = json.dumps(odd, ensure_ascii=False)
    assert not any(ch in wire for ch in RAW)
    assert "\\\\e]0;pwned" in wire  # the escape made visible, JSON-encoded once more
    assert [r["uri"].rsplit("/", 1)[1] for r in out["resources"]] == [TRUSTED, UNTRUSTED]
    manifest = json.loads(out["reads"][0]["contents"][0]["text"])
    assert manifest["agent_id"] == TRUSTED and manifest["owner_did"] == key("alice").did


def test_typescript_client_hostile_resource_and_writes(world: World, tmp_path: Path) -> None:
    fresh_home(world)
    out = drive(world, {"calls": [{"name": "import_elite_agent",
                                   "arguments": {"agent_id": TRUSTED,
                                                 "registry": [str(world.bare)]}}],
                        "read": [f"elite://{str(world.bare).replace('/', '%2F')}/"
                                 f"{UNTRUSTED[:16]}"]},
                "--allow-write", cwd=tmp_path)
    done = out["calls"][0]
    assert "thrown" not in done and not done.get("isError"), done
    assert Path(done["structuredContent"]["path"], "manifest.json").exists()
    hostile = out["reads"][0]["contents"][0]["text"]
    assert not any(ch in hostile for ch in RAW)
    assert json.loads(hostile)["note"] == HOSTILE
