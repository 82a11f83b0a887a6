"""`git elite mcp` driven by the official Python SDK's client over stdio (SPEC §16,
docs/mcp.md): the server is the real `git-elite mcp` process; the client lists the tools,
calls each one (its structuredContent checked by the client against the outputSchema), reads
a manifest resource, and is refused a write without --allow-write, a bad argument and
nothing raw from a hostile registry. tests/test_mcp_node.py does the same with the
TypeScript SDK's client."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import layout
from tests.helpers_mcp import HOSTILE, TRUSTED, UNTRUSTED, World, build, fresh_home
from tests.helpers_pipeline import fixture_args
from tests.helpers_registry import isolated_module_env, key

mcp = pytest.importorskip("mcp", reason="the MCP SDK is not installed (pip install "
                          "'git-elite[mcp]')")
anyio = pytest.importorskip("anyio")
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

RAW = ("\x1b", "\x07", "\u202e")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("mcp")
    with isolated_module_env(tmp):
        yield build(tmp)


def session(world: World, *args: str, cwd: Path | None = None,
            ) -> Callable[[Callable[[Any], Awaitable[Any]]], Any]:
    """Run `scenario(client_session)` against a fresh `git-elite mcp ARGS` process."""
    def run(scenario: Callable[[Any], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            command = world.command(*args)
            params = StdioServerParameters(command=command[0], args=command[1:],
                                           env=world.env, cwd=str(cwd or world.tmp))
            async with stdio_client(params, errlog=sys.stderr) as (read, write), \
                    mcp.ClientSession(read, write) as client:
                await client.initialize()
                return await scenario(client)
        return anyio.run(main)
    return run


def text(result: Any) -> str:
    return "".join(c.text for c in result.content if c.type == "text")


def no_raw(value: str) -> None:
    assert not any(ch in value for ch in RAW), repr(value)


def test_read_only_server(world: World) -> None:
    fresh_home(world)

    async def scenario(client: Any) -> dict[str, Any]:
        tools = (await client.list_tools()).tools
        out: dict[str, Any] = {"tools": {t.name: t for t in tools}}
        out["discover"] = await client.call_tool("discover_elites", {"top": 5})
        out["verify"] = await client.call_tool("verify_registry", {"target": str(world.bare)})
        out["trust"] = await client.call_tool("explain_trust", {"did": key("alice").did})
        out["untrusted"] = await client.call_tool("explain_trust", {"did": key("bob").did})
        out["import"] = await client.call_tool("import_elite_agent", {"agent_id": TRUSTED})
        out["export"] = await client.call_tool("export_elite_agents", {})
        out["bad_top"] = await client.call_tool("discover_elites", {"top": -1})
        out["bad_extra"] = await client.call_tool("discover_elites", {"topp": 1})
        out["unknown"] = await client.call_tool("verify_registry",
                                                 {"target": str(world.tmp / "nowhere")})
        out["resources"] = (await client.list_resources()).resources
        out["templates"] = (await client.list_resource_templates()).resource_templates
        return out

    out = session(world, "--registry", str(world.bare))(scenario)
    tools = out["tools"]
    assert set(tools) == {"discover_elites", "import_elite_agent", "export_elite_agents",
                          "verify_registry", "explain_trust"}
    for name in ("discover_elites", "verify_registry", "explain_trust"):
        assert tools[name].annotations.read_only_hint is True
        assert tools[name].output_schema["type"] == "object"
    for name in ("import_elite_agent", "export_elite_agents"):
        assert tools[name].annotations.read_only_hint is False
        assert "--allow-write" in tools[name].description
        assert "Disabled on this server" in tools[name].description
    rows = out["discover"].structured_content["agents"]
    assert not out["discover"].is_error
    assert [r["agent_id"] for r in rows] == [TRUSTED, UNTRUSTED]
    assert rows[0]["trusted"] is True and rows[1]["trusted"] is False
    assert json.loads(text(out["discover"]))["agents"] == rows
    assert out["verify"].structured_content["ok"] is True
    assert out["trust"].structured_content["trusted"] is True
    assert out["untrusted"].structured_content == {
        "did": key("bob").did, "task_type": "*", "trusted": False, "path": [],
        "warnings": []}
    for name in ("import", "export"):
        assert out[name].is_error and out[name].structured_content is None
        line = text(out[name])
        assert line.startswith("git-elite: error: ") and "--allow-write" in line
        assert "\n" not in line
    imported = Path(world.env["AGENTD_HOME"]) / "elite" / "imported"
    assert not imported.exists()
    assert out["bad_top"].is_error and text(out["bad_top"]) == \
        "git-elite: error: discover_elites: top: -1 is less than the minimum of 0"
    assert out["bad_extra"].is_error and "'topp' was unexpected" in text(out["bad_extra"])
    assert out["unknown"].is_error
    assert text(out["unknown"]) == f"git-elite: error: {world.tmp / 'nowhere'}: does not " \
        "exist (give a registry path, bare repository or URL)"
    uris = [str(r.uri) for r in out["resources"]]
    assert uris[0].startswith("elite://") and uris[0].endswith(f"/{TRUSTED}")
    assert len(uris) == 2
    assert str(out["templates"][0].uri_template) == "elite://{registry}/{agent_id}"


def test_resources_and_hostile_text(world: World) -> None:
    async def scenario(client: Any) -> dict[str, Any]:
        listed = (await client.list_resources()).resources
        by_id = {str(r.uri).rsplit("/", 1)[1]: r for r in listed}
        out: dict[str, Any] = {"listed": listed}
        out["good"] = await client.read_resource(str(by_id[TRUSTED].uri))
        out["hostile"] = await client.read_resource(str(by_id[UNTRUSTED].uri))
        out["verify_odd"] = await client.call_tool("verify_registry",
                                                    {"target": str(world.odd)})
        try:
            await client.read_resource(f"elite://nosuch/{TRUSTED}")
        except Exception as err:  # noqa: BLE001 - the SDK's error type for a JSON-RPC error
            out["missing"] = str(err)
        return out

    out = session(world, "--registry", str(world.bare))(scenario)
    good = out["good"].contents[0]
    assert good.mime_type == "application/json"
    stored = (world.bare.parent / "reg" / layout.agent_path(TRUSTED, "manifest.json"))
    assert good.text == stored.read_text(encoding="utf-8")  # the signed bytes, as stored
    hostile = out["hostile"].contents[0].text
    no_raw(hostile)
    assert json.loads(hostile)["note"] == HOSTILE  # escaped as JSON: the same value
    assert "\\u202e" in hostile
    for resource in out["listed"]:
        no_raw(str(resource.title) + str(resource.description))
    odd = out["verify_odd"]
    assert odd.structured_content["ok"] is False and not odd.is_error
    paths = [p["path"] for p in odd.structured_content["problems"]]
    assert any("\\e]0;pwned\\x07\\u202eevil\\e[2J" in p for p in paths), paths
    no_raw(json.dumps(odd.structured_content, ensure_ascii=False))
    no_raw(text(odd))
    assert "nosuch" in out["missing"] and "\n" not in out["missing"]


def test_write_tools_with_allow_write(world: World, tmp_path: Path) -> None:
    fresh_home(world)
    args = fixture_args()
    evals = [args[i + 1] for i, a in enumerate(args) if a == "--evals"]
    export = {"registry": str(world.server), "evals": evals,
              "agents": args[args.index("--agents") + 1],
              "now": int(args[args.index("--now") + 1])}

    async def scenario(client: Any) -> dict[str, Any]:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        return {"tools": tools,
                "untrusted": await client.call_tool("import_elite_agent",
                                                    {"agent_id": UNTRUSTED[:12],
                                                     "registry": [str(world.bare)]}),
                "import": await client.call_tool("import_elite_agent",  # the server's registry
                                                 {"agent_id": TRUSTED[:12]}),
                "waits": await client.call_tool("export_elite_agents",
                                                {**export, "min_new": 100_000}),
                "export": await client.call_tool("export_elite_agents", export),
                "again": await client.call_tool("export_elite_agents",
                                                {**export, "min_new": 1}),
                "none": await client.call_tool("export_elite_agents",
                                               {**export, "min_success": 1, "min_tasks": 9999})}

    out = session(world, "--allow-write", "--registry", str(world.bare), cwd=tmp_path)(scenario)
    assert "Disabled" not in out["tools"]["import_elite_agent"].description
    assert out["untrusted"].is_error
    assert "whom you do not trust" in text(out["untrusted"])
    done = out["import"].structured_content
    assert not out["import"].is_error and done["agent_id"] == TRUSTED
    assert done["owner_did"] == key("alice").did and done["trusted"] is True
    assert sorted(p.name for p in Path(done["path"]).iterdir()) == ["manifest.json",
                                                                    "profile.json"]
    assert done["files"] == ["manifest.json", "profile.json"]
    waits = out["waits"].structured_content  # min_new: fewer records than that, no run
    assert waits["ran"] is False and waits["results"] == [] and waits["ok"] is True
    records = waits["new_records"]
    assert 0 < records < 100_000 and waits["min_new"] == 100_000
    exported = out["export"].structured_content
    assert not out["export"].is_error, text(out["export"])
    assert exported["ok"] is True and exported["ran"] is True and len(exported["results"]) == 2
    assert exported["new_records"] == records  # the run without min_new counted them too
    assert {r["status"] for r in exported["results"]} == {"published"}
    assert sum(row["qualified"] for row in exported["generated"]) == 2
    again = out["again"].structured_content  # nothing new since the run
    assert again["ran"] is False and again["new_records"] == 0
    assert out["none"].is_error  # the command's own line: nothing qualified
    assert text(out["none"]).startswith("git-elite: error: no agent qualified, nothing to "
                                        "publish")


def test_without_the_sdk_one_line(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    from git_elite.cli.main import main

    for name in [m for m in sys.modules if m == "mcp" or m.startswith("mcp.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mcp", None)
    assert main(["mcp"]) == 1
    err = capsys.readouterr().err
    assert err == "git-elite: error: `git elite mcp` needs the MCP SDK: pip install " \
        "'git-elite[mcp]' (or pip install 'mcp>=2')\n"


def test_no_argument_becomes_an_option(world: World) -> None:
    """Values are `--option=value`, positionals come after `--`: a value that looks like an
    option stays a value (here: an unknown registry, not --allow-untrusted)."""
    from git_elite.cli import mcp_server, mcp_tools

    assert mcp_tools.BY_NAME["import_elite_agent"].argv(
        {"agent_id": UNTRUSTED[:8], "registry": ["--allow-untrusted"]}) == \
        ["import", "--json", "--registry=--allow-untrusted", "--", UNTRUSTED[:8]]
    answer = mcp_server.call(mcp_server.Settings(allow_write=True), "import_elite_agent",
                             {"agent_id": UNTRUSTED[:8], "registry": ["--allow-untrusted"]})
    assert answer.error is not None and "--allow-untrusted" in answer.error
    assert not (Path(os.environ["AGENTD_HOME"]) / "elite" / "imported").exists()
    target = mcp_server.call(mcp_server.Settings(), "verify_registry", {"target": "-h"})
    assert target.error == "git-elite: error: -h: does not exist (give a registry path, " \
        "bare repository or URL)"


@pytest.mark.parametrize("bad", ["http://reg/" + "a" * 64, "elite:///" + "a" * 64,
                                 "elite://reg/sub/" + "a" * 64, "elite://reg/../etc",
                                 "elite://reg/zz" + "a" * 62, "elite://reg/", "elite://reg/abc"])
def test_a_resource_uri_that_is_not_one_is_refused(bad: str) -> None:
    """elite://<registry>/<agent_id> only: another scheme, no registry, a path, or an id
    that is no agent id (prefix) is a usage error before any registry is opened."""
    from git_elite.cli import mcp_server
    from git_elite.core.errors import UsageError

    with pytest.raises(UsageError):
        mcp_server.parse_uri(bad)
    assert mcp_server.parse_uri(mcp_server.uri("a reg/x", "A" * 8)) == ("a reg/x", "a" * 8)
