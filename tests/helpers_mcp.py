"""The MCP tests' world (tests/test_mcp.py, tests/test_mcp_node.py): one module-scoped set-up
of real registries and a trust set, and the server command an MCP client starts."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from git_elite.core import layout
from tests.conftest import BIN, git, run_cli
from tests.helpers_discover import registry_with
from tests.helpers_registry import agent_id_of, commit_raw, key, make_identity, make_server, profile

HOSTILE = "\x1b]0;pwned\x07\u202eevil\x1b[2J"  # OSC title, BEL, bidi override, clear screen
TRUSTED = agent_id_of(profile(1))  # alice's, trusted
UNTRUSTED = agent_id_of(profile(2))  # bob's, carrying HOSTILE in a signed extra field


@dataclass(frozen=True)
class World:
    tmp: Path
    bare: Path  # a registry: alice's agent 1, bob's agent 2
    odd: Path  # a registry with a hostile file name (a [layout] problem)
    server: Path  # a hooked bare registry to publish into
    env: dict[str, str]  # the environment a client starts the server with

    def command(self, *args: str) -> list[str]:
        return [str(BIN / "git-elite"), "mcp", *args]


def build(tmp: Path) -> World:
    """Called inside tests.helpers_registry.isolated_module_env(tmp)."""
    _, bare = registry_with(tmp, "reg", [{"owner": "alice", "n": 1},
                                         {"owner": "bob", "n": 2, "rate": 0.85,
                                          "note": HOSTILE}])
    run_cli("trust", "add", key("alice").did, "--alias", "alice")
    odd_work, _ = registry_with(tmp, "odd", [{"owner": "alice", "n": 3}])
    commit_raw(odd_work, {f"agents/zz/{HOSTILE}.json": b"{}"}, "odd", index=True)
    _, server = make_server(tmp / "pub")
    make_identity("alice")
    return World(tmp, bare, odd_work, server, dict(os.environ))


def fresh_home(world: World) -> None:
    """No imported agents and no local manifests left by an earlier test."""
    home = Path(world.env["AGENTD_HOME"])
    for sub in ("elite",):
        shutil.rmtree(home / sub, ignore_errors=True)


def manifest_bytes(registry: Path, agent_id: str) -> bytes:
    path = layout.agent_path(agent_id, "manifest.json")
    proc = git("show", f"HEAD:{path}", cwd=registry)
    return proc.stdout.encode()
