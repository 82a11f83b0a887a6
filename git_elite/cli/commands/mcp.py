"""`git elite mcp [--allow-write] [--registry R]…`: the Model Context Protocol server on stdio
(SPEC §16, docs/mcp.md)."""

from __future__ import annotations

import click

CTX = {"help_option_names": ["-h", "--help"]}


@click.command(context_settings=CTX)
@click.option("--allow-write", is_flag=True, help="Let the agent run the tools that write: "
              "import_elite_agent (into $AGENTD_HOME) and export_elite_agents (signs and "
              "pushes with this node's key). Without it they are listed but refused.")
@click.option("--registry", "names", multiple=True, metavar="R", help="The registries "
              "discover_elites, import_elite_agent and the resources read when a call names "
              "none (repeatable; default: as for discover).")
def command(allow_write: bool, names: tuple[str, ...]) -> int:
    """Serve git elite to an AI agent over the Model Context Protocol (stdio): the tools
    discover_elites, import_elite_agent, export_elite_agents, verify_registry and
    explain_trust, each returning its command's --json shape as structured content, and the
    top agents' manifests as elite://<registry>/<agent_id> resources. Errors are tool errors
    carrying the command line's one-line message; registry text is escaped.

    Needs the MCP SDK: pip install 'git-elite[mcp]'. An agent's MCP configuration starts it
    as {"command": "git-elite", "args": ["mcp"]} (docs/mcp.md).

    \b
    Examples:
      git elite mcp
      git elite mcp --registry origin --allow-write
      npx @modelcontextprotocol/inspector git-elite mcp
    """
    from git_elite.cli import mcp_server

    return mcp_server.serve(mcp_server.Settings(allow_write, names))
