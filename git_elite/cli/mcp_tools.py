"""The MCP server's tools (SPEC §16, docs/mcp.md): their JSON Schemas in and out, and what
each one runs in-process. No MCP SDK here: `mcp_server` wires these to it.

Four tools are a git elite command with `--json`: the structured result is that command's
JSON shape (docs/spec.md §10), an object (MCP's structuredContent must be one: `discover`'s
list is under `agents`), plus `warnings`, the command's stderr lines. Arguments become
`--option=value` and positionals follow `--`, so no value can be read as an option.
`export_elite_agents` calls what `publish --from-evals [--min-new N]` calls,
`edges/evalwatch.export`, and returns its whole outcome (how many records were new, whether
it ran, what generate found, what was published)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

AGENT_ID = {"type": "string", "pattern": "^[0-9a-f]{8,64}$",
            "description": "An agent id, or an unambiguous prefix of 8+ lowercase hex."}
DID = {"type": "string", "pattern": "^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$"}
NAMES = {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 32}
RATE = {"type": "number", "minimum": 0, "maximum": 1}
COUNT = {"type": "integer", "minimum": 0}
FLAG = {"type": "boolean"}
STALE = {**FLAG, "description": "Warn, do not refuse, when a registry's signed timestamp is "
         "missing, expired, withheld or rolled back."}
WARNINGS = {"type": "array", "items": {"type": "string"},
            "description": "What the command said on stderr (dropped agents, notes), escaped."}
PROBLEM = {"type": "object", "required": ["rule", "path", "commit", "message"],
           "properties": {"rule": {"type": "string"}, "path": {"type": "string"},
                          "commit": {"type": ["string", "null"]},
                          "message": {"type": "string"}}}
ROW = {"type": "object",
       "required": ["rank", "agent_id", "owner_did", "trusted", "trust_path", "registry",
                    "success_rate", "total_tasks", "score_ppm", "task_type", "created_at",
                    "attestations"],
       "properties": {"rank": {"type": "integer"}, "agent_id": {"type": "string"},
                      "owner_did": {"type": "string"}, "trusted": FLAG,
                      "trust_path": {"type": "array", "items": {"type": "string"}},
                      "registry": {"type": "string"}, "success_rate": {"type": "number"},
                      "total_tasks": {"type": "integer"}, "score_ppm": {"type": "integer"},
                      "task_type": {"type": "string"}, "created_at": {"type": "integer"},
                      "sources": {"type": "array", "items": {"type": "string"}},
                      "attestations": {"type": "object"}}}
OUTCOME = {"type": "object", "required": ["agent_id", "status", "registry", "commit"],
           "properties": {"agent_id": {"type": "string"}, "status": {"type": "string"},
                          "registry": {"type": "string"},
                          "commit": {"type": ["string", "null"]},
                          "message": {"type": ["string", "null"]}}}


def _obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False}


def _out(properties: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "object", "properties": {**properties, "warnings": WARNINGS},
            "required": [*required, "warnings"]}


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    argv: Callable[[dict[str, Any]], list[str]] | None
    writes: bool = False
    run: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # instead of a command
    wrap: str | None = None  # the key a JSON list is put under
    ok_codes: tuple[int, ...] = (0,)  # exits that are answers, not errors (verify: 1)


def options(args: dict[str, Any], names: dict[str, str]) -> list[str]:
    """`--flag` for true booleans, `--opt=value` (repeated for lists) for the rest."""
    out: list[str] = []
    for key, option in names.items():
        value = args.get(key)
        if value is None or value is False:
            continue
        if value is True:
            out.append(option)
        else:
            out += [f"{option}={item}" for item in (value if isinstance(value, list)
                                                    else [value])]
    return out


READ_OPTS = {"registry": "--registry", "url": "--url", "offline": "--offline",
             "allow_stale": "--allow-stale"}
READ_INPUTS = {"registry": {**NAMES, "description": "Registry names, paths or URLs (default: "
                            "the server's --registry, else every known registry)."},
               "url": {**NAMES, "description": "Registries served over HTTP(S) (a `git elite "
                       "site`, raw files), read without cloning."},
               "offline": {**FLAG, "description": "No network: read the cached copies."},
               "allow_stale": STALE}


def _discover(args: dict[str, Any]) -> list[str]:
    return ["discover", "--json", *options(args, {
        **READ_OPTS, "task_type": "--task-type", "top": "--top",
        "min_success": "--min-success", "min_tasks": "--min-tasks",
        "trusted_only": "--trusted-only", "attested": "--attested"})]


def _import(args: dict[str, Any]) -> list[str]:
    return ["import", "--json", *options(args, {**READ_OPTS,
                                                "allow_untrusted": "--allow-untrusted"}),
            "--", args["agent_id"]]


def export(args: dict[str, Any]) -> dict[str, Any]:
    """`publish --from-evals [--min-new N]` as a value: edges/evalwatch.export with the
    options the command builds from its own (generate's defaults where none is given)."""
    import time
    from pathlib import Path

    from git_elite.core.evals import Thresholds
    from git_elite.edges import evalwatch, generating, publishing

    limits = Thresholds()
    options = generating.Options(
        tuple(Path(p) for p in args.get("evals", ())),
        Path(args["agents"]) if args.get("agents") else None, args.get("now"),
        bool(args.get("all")), Thresholds(args.get("min_success", limits.min_success),
                                          args.get("min_tasks", limits.min_tasks),
                                          args.get("min_recent", limits.min_recent)),
        bool(args.get("strict")))
    request = publishing.Request((), args.get("registry"), bool(args.get("no_push")))
    done = evalwatch.export(options, request, int(args.get("min_new", 0)), int(time.time()),
                            Path.cwd())
    result = done.result
    return {"ok": result is None or result.ok, "ran": done.ran,
            "new_records": done.pending, "min_new": done.min_new, "generated": done.rows,
            "results": result.to_json() if result is not None else []}


def _verify(args: dict[str, Any]) -> list[str]:
    target = ["--", args["target"]] if args.get("target") else []
    return ["verify", "--json", *options(args, {"rev": "--rev", "history": "--history",
                                                "url": "--url",
                                                "allow_stale": "--allow-stale"}), *target]


def _explain(args: dict[str, Any]) -> list[str]:
    return ["trust", "explain", "--json", *options(args, {"task_type": "--task-type"}),
            "--", args["did"]]


WRITE_NOTE = (" Writes: runs only when the server was started with `git elite mcp "
              "--allow-write`.")

TOOLS = (
    Tool("discover_elites", "Discover elite agents",
         "The best agents across registries, each verified (signature, binding, index entry) "
         "and marked with your trust, best first: `git elite discover --json`.",
         _obj({**READ_INPUTS, "task_type": {"type": "string", "minLength": 1,
                                            "description": "Rank by this task type."},
               "top": {**COUNT, "description": "The best N (0 = all; default 20)."},
               "min_success": RATE, "min_tasks": COUNT,
               "trusted_only": {**FLAG, "description": "Only agents whose owner you trust."},
               "attested": {**FLAG, "description": "Only agents with an attestation by a "
                            "DID you trust, ranked by the attested numbers."}}),
         _out({"agents": {"type": "array", "items": ROW}}, ("agents",)),
         _discover, wrap="agents"),
    Tool("import_elite_agent", "Import an elite agent",
         "Copy a verified agent (manifest, profile, prompt and demos when published) into "
         "$AGENTD_HOME/elite/imported/<agent_id>/ and say where: `git elite import --json`. "
         "An owner you do not trust is refused unless allow_untrusted." + WRITE_NOTE,
         _obj({**READ_INPUTS, "agent_id": AGENT_ID,
               "allow_untrusted": {**FLAG, "description": "Import even if you do not trust "
                                   "the owner."}}, ("agent_id",)),
         _out({"agent_id": {"type": "string"}, "path": {"type": "string"},
               "registry": {"type": "string"}, "owner_did": {"type": "string"},
               "trusted": FLAG, "files": {"type": "array", "items": {"type": "string"}}},
              ("agent_id", "path", "registry", "owner_did")),
         _import, writes=True),
    Tool("export_elite_agents", "Publish elite agents from eval logs",
         "Turn eval logs into signed manifests and publish those that qualify to a registry, "
         "as `git elite publish --from-evals [--min-new N]` does (run in the agent's "
         "repository). With min_new it runs only when at least that many eval records are "
         "new since the last run (ran=false otherwise): cheap to call after every eval run." +
         WRITE_NOTE,
         _obj({"registry": {"type": "string", "minLength": 1, "description": "Registry name, "
                            "path or URL (default: the one publish picks)."},
               "evals": {**NAMES, "description": "Eval logs (files or directories; default: "
                         "$AGENTD_HOME/evals.jsonl and .chrysalis/state)."},
               "agents": {"type": "string", "minLength": 1, "description": "Agents file."},
               "min_new": {"type": "integer", "minimum": 1, "description": "Only when at "
                           "least this many eval records are new since the last run."},
               "now": COUNT, "all": FLAG, "min_success": RATE, "min_tasks": COUNT,
               "min_recent": COUNT, "strict": FLAG,
               "no_push": {**FLAG, "description": "Build and verify the commit, do not "
                           "push."}}),
         _out({"ok": FLAG, "ran": FLAG, "new_records": COUNT, "min_new": COUNT,
               "generated": {"type": "array", "items": {"type": "object"}},
               "results": {"type": "array", "items": OUTCOME}},
              ("ok", "ran", "new_records", "results")),
         None, writes=True, run=export),
    Tool("verify_registry", "Verify a registry",
         "Audit a registry (path, clone or URL) against every rule: `git elite verify "
         "--json`. ok=false with the problems is an answer, not a tool error.",
         _obj({"target": {"type": "string", "minLength": 1, "description": "Registry path "
                          "or URL (default: the server's working directory)."},
               "rev": {"type": "string", "minLength": 1, "pattern": "^[^-]"},
               "history": {**FLAG, "description": "Check every first-parent commit."},
               "url": {"type": "string", "minLength": 1, "description": "Audit a registry "
                       "served over HTTP(S), without cloning."},
               "allow_stale": STALE}),
         _out({"ok": FLAG, "problems": {"type": "array", "items": PROBLEM}},
              ("ok", "problems")),
         _verify, ok_codes=(0, 1)),
    Tool("explain_trust", "Explain trust in a DID",
         "Whether a DID is trusted for a task type, and through which chain of endorsements "
         "(root first): `git elite trust explain --json`.",
         _obj({"did": DID, "task_type": {"type": "string", "minLength": 1}}, ("did",)),
         _out({"did": {"type": "string"}, "task_type": {"type": "string"}, "trusted": FLAG,
               "path": {"type": "array", "items": {"type": "string"}}},
              ("did", "task_type", "trusted", "path")),
         _explain, ok_codes=(0, 1)),
)
BY_NAME = {tool.name: tool for tool in TOOLS}
