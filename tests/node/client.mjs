// The official TypeScript MCP SDK's client against `git elite mcp` (tests/test_mcp_node.py).
// Usage: node client.mjs PLAN.json — PLAN: {"command", "args", "cwd", "calls": [{"name",
// "arguments"}], "readFirst": bool, "read": [uri]}. Prints one JSON object: the server's
// info, its tools, each call's result (or the error the client threw: the SDK checks
// structuredContent against the tool's outputSchema), the resources and what was read.
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const transport = new StdioClientTransport({
  command: plan.command, args: plan.args, cwd: plan.cwd, env: { ...process.env },
  stderr: "inherit",
});
const client = new Client({ name: "git-elite-node-test", version: "1.0.0" });
await client.connect(transport);
const out = { server: client.getServerVersion(), tools: [], calls: [], resources: [], reads: [] };
out.tools = (await client.listTools()).tools;
for (const call of plan.calls ?? []) {
  try {
    out.calls.push(await client.callTool({ name: call.name, arguments: call.arguments }));
  } catch (err) {
    out.calls.push({ thrown: String(err && err.message ? err.message : err) });
  }
}
out.resources = (await client.listResources()).resources;
const uris = [...(plan.readFirst && out.resources.length ? [out.resources[0].uri] : []),
              ...(plan.read ?? [])];
for (const uri of uris) {
  try {
    out.reads.push(await client.readResource({ uri }));
  } catch (err) {
    out.reads.push({ thrown: String(err && err.message ? err.message : err) });
  }
}
await client.close();
process.stdout.write(JSON.stringify(out) + "\n");
