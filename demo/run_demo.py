"""git elite demo: the whole network story, a list of steps, each a real command in a temp dir.

Run with `make demo`. Stdlib + subprocess only. Four people, each with their own HOME,
$AGENTD_HOME and git config inside the temp dir (nothing is written outside it); keys come
from fixed seeds (AGENTD_KEYGEN_SEED), so every run prints the same dids and agent ids.
Every command's exit status is checked: the demo stops loudly at the first surprise.
Extend by appending steps to STEPS.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVALS = ROOT / "fixtures" / "evals"
NOW = "1767225600"  # 2026-01-01T00:00:00Z: the time the bundled eval logs were made for
SEEDS = {name: (bytes([i]) * 32).hex() for i, name in
         [(1, "alice"), (2, "bob"), (3, "carol"), (4, "dave"), (6, "mallory"), (9, "server")]}
CLEAN = ("GIT_", "AGENTD_", "RAD_")


class Demo:
    """Runs commands as one of the people, prints them like a terminal, checks exit codes."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.server = workdir / "server" / "chrysalis-elites.git"
        self.did: dict[str, str] = {}
        self.best = ""  # alice's best agent_id
        self.published: dict[str, list[str]] = {}  # who -> agent_ids
        self.rejected: list[str] = []  # rules the server refused mallory's pushes for
        self.caught: list[str] = []  # how readers caught mallory's stale mirror
        for who in SEEDS:
            self._account(who)

    def _account(self, who: str) -> None:
        (self.dir / who).mkdir()
        (self.dir / who / ".gitconfig").write_text(
            f"[user]\n\tname = {who.title()}\n\temail = {who}@example.invalid\n"
            "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")

    def env(self, who: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(CLEAN)}
        home = self.dir / who
        return {**base, "HOME": str(home), "AGENTD_HOME": str(home / ".agentd"),
                "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
                "AGENTD_KEYGEN_SEED": SEEDS[who], "NO_COLOR": "1", "LC_ALL": "C.UTF-8",
                "PYTHONUNBUFFERED": "1"}

    def show(self, text: str) -> str:
        return text.replace(str(self.dir), "$DEMO")

    def where(self, who: str, cwd: Path) -> str:
        home = self.dir / who
        return "~" + str(cwd)[len(str(home)):] if cwd.is_relative_to(home) else self.show(str(cwd))

    def run(self, who: str, argv: list[str], cwd: Path | None = None, expect: int = 0,
            pipe: str = "") -> subprocess.CompletedProcess[str]:
        """Run argv as `who` in cwd (default: their home); print it and its output (stdout
        and stderr as a terminal interleaves them, returned as stdout) — or, with `pipe`,
        print stderr and return stdout alone for the demo to read."""
        cwd = cwd or self.dir / who
        line = self.show(shlex.join(argv)) + (f" | {pipe}" if pipe else "")
        print(f"  [{who} {self.where(who, cwd)}]$ {line}")
        proc = subprocess.run(argv, cwd=cwd, env=self.env(who), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE if pipe else subprocess.STDOUT,
                              text=True, check=False)
        for text in self.show(proc.stderr if pipe else proc.stdout).splitlines():
            print(f"    {text}".rstrip())
        if proc.returncode != expect:
            print(self.show(proc.stdout + (proc.stderr or "")), file=sys.stderr)
            sys.exit(f"demo failed: `{line}` exited {proc.returncode}, expected {expect}")
        return proc

    def elite(self, who: str, *args: str, cwd: Path | None = None, expect: int = 0,
              pipe: str = "") -> str:
        return self.run(who, ["git", "elite", *args], cwd, expect, pipe).stdout

    def git(self, who: str, *args: str, cwd: Path | None = None, expect: int = 0
            ) -> subprocess.CompletedProcess[str]:
        return self.run(who, ["git", *args], cwd, expect)

    def quiet(self, who: str, *args: str, cwd: Path) -> str:
        """A git command the story does not need to show (reading a commit id)."""
        return subprocess.run(["git", *args], cwd=cwd, env=self.env(who), capture_output=True,
                              text=True, check=True).stdout.strip()

    def note(self, text: str) -> None:
        print(f"    # {self.show(text)}")


def check(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"demo failed: {what}")


def identities(demo: Demo) -> None:
    for who in SEEDS:
        out = demo.elite(who, "id", "init", "--alias", who)
        demo.did[who] = re.findall(r"^did:key:\w+$", out, re.MULTILINE)[0]
    demo.elite("alice", "id", "show")


def registry_on_server(demo: Demo) -> None:
    demo.elite("carol", "init", "chrysalis-elites", *timestamp_role(demo))
    demo.git("carol", "clone", "-q", "--bare", "chrysalis-elites", str(demo.server))
    demo.elite("carol", "hooks", "install", "--server", *timestamp_signer(demo),
               cwd=demo.server)


def agent_project(demo: Demo, who: str, prompts: dict[str, str]) -> Path:
    """A git repo with agents.yaml, prompts/ and demos/ (copied from fixtures/evals, with
    `prompts` overriding some prompt texts) and the TypeScript eval logs in .chrysalis/."""
    repo = demo.dir / who / "agents"
    repo.mkdir()
    for name in ("agents.yaml", "prompts", "demos"):
        copy = shutil.copytree if (EVALS / name).is_dir() else shutil.copy
        copy(EVALS / name, repo / name)
    for name, text in prompts.items():
        (repo / "prompts" / name).write_text(text)
    shutil.copytree(EVALS / "ts" / ".chrysalis", repo / ".chrysalis")
    (repo / ".gitignore").write_text(".chrysalis/\n")
    demo.note(f"{who}'s agent project ~/agents: agents.yaml, prompts/, demos/; TypeScript "
              "eval logs in .chrysalis/state/ (copied from fixtures/evals/ts)")
    demo.git(who, "init", "-q", cwd=repo)
    demo.git(who, "add", "-A", cwd=repo)
    demo.git(who, "commit", "-q", "-m", "agent configs and prompts", cwd=repo)
    demo.git(who, "remote", "add", "origin", f"https://git.example.org/{who}/agents.git",
             cwd=repo)
    return repo


def alice_generates(demo: Demo) -> None:
    repo = agent_project(demo, "alice", {})
    shutil.copy(EVALS / "racket" / "evals.jsonl", demo.dir / "alice" / ".agentd" / "evals.jsonl")
    demo.note("Racket eval log in ~/.agentd/evals.jsonl (copied from fixtures/evals/racket)")
    table = demo.elite("alice", "generate", "--agents", "agents.yaml", "--now", NOW, cwd=repo)
    elite = demo.dir / "alice" / ".agentd" / "elite"
    manifests = [json.loads(p.read_text())  # kept per agent project (elite/projects/<project>)
                 for p in sorted(elite.glob("projects/*/*/manifest.json"))]
    rows = re.findall(r"^[0-9a-f]{12}  ", table, re.MULTILINE)
    check(len(rows) == 6 and len(manifests) == 2, "expected 6 agents in the table, 2 qualified")
    best = max(manifests, key=lambda m: m["metrics"]["success_rate"])
    demo.best = best["agent_id"]
    demo.published["alice"] = sorted(m["agent_id"] for m in manifests)


def alice_publishes(demo: Demo) -> None:
    repo = demo.dir / "alice" / "agents"
    demo.elite("alice", "publish", "--registry", str(demo.server), cwd=repo)
    head = demo.quiet("alice", "rev-parse", "HEAD", cwd=repo)
    branch = demo.quiet("alice", "symbolic-ref", "--short", "HEAD", cwd=demo.server)
    path = f"{branch}:agents/{demo.best[:2]}/{demo.best}/manifest.json"  # main or master
    shown = demo.run("alice", ["git", "show", path], demo.server, pipe="(repo_ref only)")
    ref = json.loads(shown.stdout)["repo_ref"]
    print(f"    \"repo_ref\": {json.dumps(ref, sort_keys=True)}")
    check(ref.get("commit") == head and ref.get("url", "").endswith("alice/agents.git"),
          f"repo_ref does not name alice's project: {ref}")


def bob_publishes(demo: Demo) -> None:
    repo = agent_project(demo, "bob", {"coder.md": "Bob's coder: plan, patch, test.\n"})
    out = demo.elite("bob", "publish", "--from-evals", "--agents", "agents.yaml", "--now", NOW,
                     "--registry", str(demo.server), cwd=repo)
    demo.published["bob"] = [line.split()[1] for line in out.splitlines()
                             if line.startswith("published ")]
    check(len(demo.published["bob"]) == 1, "bob should have published one agent")


def bob_endorses_alice(demo: Demo) -> None:
    demo.elite("bob", "trust", "endorse", demo.did["alice"], "--registry", str(demo.server))


def carol_discovers(demo: Demo) -> None:
    demo.elite("carol", "trust", "add", demo.did["bob"], "--alias", "bob")
    demo.elite("carol", "registry", "add", "elites", str(demo.server))
    demo.elite("carol", "discover")
    explained = demo.elite("carol", "trust", "explain", demo.did["alice"])
    check(demo.did["bob"] in explained, "alice is not trusted through bob")


def discover_json(demo: Demo) -> None:
    rows = json.loads(demo.elite("carol", "discover", "--json",
                                 pipe="(summary: rank, agent, owner, trusted via)"))
    names = {did: who for who, did in demo.did.items()}
    for row in rows:
        via = " -> ".join(names.get(d, d[:16]) for d in row["trust_path"]) or "-"
        print(f"    {row['rank']}. {row['agent_id'][:12]}  {names.get(row['owner_did'], '?'):<6}"
              f" score {row['score_ppm'] / 1e6:.3f}  success {row['success_rate']:.3f}  "
              f"trusted: {'yes via ' + via if row['trusted'] else 'no'}")
    owners = [names.get(r["owner_did"]) for r in rows]
    check(owners.count("alice") == 2 and owners.count("bob") == 1, f"unexpected rows {rows}")
    check(all(r["trusted"] for r in rows), "every agent should be trusted (bob, alice via bob)")
    check(rows[0]["agent_id"] == demo.best, "alice's best agent is not first")


def carol_imports(demo: Demo) -> None:
    best = demo.best
    demo.elite("carol", "import", best)
    imported = demo.dir / "carol" / ".agentd" / "elite" / "imported" / best
    check((imported / "manifest.json").is_file(), f"{imported} has no manifest.json")
    demo.note(f"imported: {sorted(p.name for p in imported.iterdir())}")


# attestations (issue 15): dave measures alice's best agent on his own tasks ------------------
def dave_attests(demo: Demo) -> None:
    logs = demo.dir / "dave" / "runs"
    shutil.copytree(EVALS / "attester", logs)
    demo.note("dave ran alice's published agent config on his own tasks; his logs in ~/runs "
              "(copied from fixtures/evals/attester)")
    out = demo.elite("dave", "attest", demo.best, "--evals", "runs", "--suite",
                     "dave-editing-suite-v1", "--registry", str(demo.server))
    check(f"attested   {demo.best}" in out, "dave's attestation was not published")


def carol_weighs_attestation(demo: Demo) -> None:
    demo.elite("carol", "trust", "add", demo.did["dave"], "--alias", "dave")
    table = demo.elite("carol", "discover")
    check("(1/1)" in table, "carol's discover does not show dave's attestation")
    rows = json.loads(demo.elite("carol", "discover", "--json", "--attested",
                                 pipe="(summary: attested vs self-reported)"))
    check(len(rows) == 1 and rows[0]["agent_id"] == demo.best, f"unexpected rows {rows}")
    mine = rows[0]["attestations"]["trusted"][0]
    gap = mine["success_rate"] - rows[0]["success_rate"]
    print(f"    {rows[0]['agent_id'][:12]}: alice reports {rows[0]['success_rate']:.3f} over "
          f"{rows[0]['total_tasks']} tasks; dave measured {mine['success_rate']:.3f} over "
          f"{mine['total_tasks']} (disagreement {gap:+.3f})")
    check(gap < 0, "dave's fixture log should show a lower success rate than alice's")


def _mallory_edits(demo: Demo, change: Callable[[dict[str, Any]], None]) -> Path:
    """Mallory's clone of the server at its tip, alice's best manifest edited by `change`."""
    work = demo.dir / "mallory" / "elites"
    if not work.exists():
        demo.git("mallory", "clone", "-q", str(demo.server), "elites")
    else:
        demo.git("mallory", "reset", "-q", "--hard", "origin/main", cwd=work)
    path = work / "agents" / demo.best[:2] / demo.best / "manifest.json"
    body = json.loads(path.read_text())
    change(body)
    path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    return path


def _push_refused(demo: Demo, rule: str) -> None:
    work = demo.dir / "mallory" / "elites"
    demo.elite("mallory", "index", cwd=work)
    demo.git("mallory", "commit", "-q", "--no-verify", "-am", f"mallory: {rule} attack",
             cwd=work)
    before = demo.quiet("mallory", "rev-parse", "main", cwd=demo.server)
    result = demo.git("mallory", "push", "origin", "main", cwd=work, expect=1)
    rejects = [line for line in result.stdout.splitlines() if "git-elite: REJECT" in line]
    check(any(f"[{rule}]" in line for line in rejects), f"no REJECT [{rule}] line")
    after = demo.quiet("mallory", "rev-parse", "main", cwd=demo.server)
    check(before == after, "a refused push moved the server's branch")
    demo.rejected.append(rule)


def mallory_forges(demo: Demo) -> None:
    def raise_rate(body: dict[str, Any]) -> None:
        body["metrics"]["success_rate"] = 0.999

    _mallory_edits(demo, raise_rate)
    demo.note("mallory raised success_rate to 0.999 in alice's manifest (signature unchanged)")
    _push_refused(demo, "signature")


def mallory_hijacks(demo: Demo) -> None:
    def take_over(body: dict[str, Any]) -> None:
        body["owner_did"] = demo.did["mallory"]
        body["created_at"] += 1
        body.pop("signature_ed25519")

    path = _mallory_edits(demo, take_over)
    demo.note("mallory makes alice's agent hers: owner_did = her did, a later created_at, "
              "signed with her own key")
    demo.elite("mallory", "sign", "--type", "manifest", path.name, cwd=path.parent)
    _push_refused(demo, "ownership")


def history_clean(demo: Demo) -> None:
    demo.elite("carol", "verify", "--history", str(demo.server))


# freshness (SPEC §6.1): the server signs timestamps; a stale mirror is caught ---------------
def timestamp_role(demo: Demo) -> list[str]:
    """IDENTITY.json declares the server's key as the registry's timestamp key."""
    return ["--timestamp-key", demo.did["server"]]


def timestamp_signer(demo: Demo) -> list[str]:
    """The server signs refs/elite/timestamp after every push, with its own key file (0600,
    outside the repository)."""
    return ["--timestamp-key", str(demo.dir / "server" / ".agentd" / "identity.json")]


def stale_mirror_caught(demo: Demo) -> None:
    mirror = demo.dir / "mallory" / "mirror.git"
    demo.git("mallory", "clone", "-q", "--mirror", str(demo.server), str(mirror))
    demo.note("mallory runs a mirror (every ref, timestamp included) and stops syncing it")
    other = next(a for a in demo.published["alice"] if a != demo.best)
    demo.elite("alice", "unpublish", other, "--reason", "superseded", "--registry",
               str(demo.server))
    demo.elite("carol", "discover", "--top", "1")
    out = demo.elite("carol", "verify", str(mirror), expect=1)
    check("[timestamp] rollback: " in out, "the frozen mirror's older timestamp was not caught")
    demo.caught.append("rollback")
    demo.elite("carol", "discover", "--registry", str(mirror), expect=1)
    demo.git("mallory", "fetch", "-q", str(demo.server),
             "+refs/elite/timestamp:refs/elite/timestamp", cwd=mirror)
    demo.note("mallory copies the newest timestamp but keeps withholding alice's tombstone")
    out = demo.elite("bob", "verify", str(mirror), expect=1)
    check("[timestamp] withholding: " in out, "the withholding mirror was not caught")
    demo.caught.append("withholding")
    demo.note("a reader who has seen nothing newer is caught when the mirror's timestamp "
              "expires (freeze; the role's max_age is one day here)")


STEPS: list[tuple[str, Callable[[Demo], None]]] = [
    ("Four identities from fixed seeds (did:key = Radicle NID)", identities),
    ("Carol creates a registry and serves it from a bare repo with the pre-receive hook",
     registry_on_server),
    ("Alice generates manifests from her eval logs, Racket and TypeScript formats",
     alice_generates),
    ("Alice publishes from her agent project (its repo_ref is recorded)", alice_publishes),
    ("Bob (his own prompts) generates and publishes in one command", bob_publishes),
    ("Bob endorses Alice in the registry", bob_endorses_alice),
    ("Carol trusts Bob and discovers: ranked, verified, Alice trusted through Bob",
     carol_discovers),
    ("The same as JSON, summarised", discover_json),
    ("Carol imports Alice's best agent", carol_imports),
    ("Dave (a third identity) attests Alice's best agent from his own eval logs",
     dave_attests),
    ("Carol trusts Dave: discover shows his measurement beside Alice's own",
     carol_weighs_attestation),
    ("Mallory pushes a forged manifest straight to the server", mallory_forges),
    ("Mallory tries to take over Alice's agent", mallory_hijacks),
    ("The server's whole history verifies", history_clean),
    ("Mallory's mirror goes stale; signed timestamps give it away", stale_mirror_caught),
]


def summary(demo: Demo) -> None:
    print("\nsummary:")
    print(f"  registry {demo.show(str(demo.server))} (owner carol, server hook installed)")
    print(f"  alice published {len(demo.published['alice'])} agents from 6 eval groups "
          "(Racket + TypeScript logs); bob published his; bob endorsed alice")
    print(f"  carol trusts bob only, sees alice trusted through bob, imported "
          f"{demo.best[:12]}")
    print("  dave attested alice's best agent from his own logs; carol, trusting dave, sees "
          "his lower number beside alice's")
    print(f"  mallory's pushes refused: {', '.join(demo.rejected)}; "
          "history verifies clean")
    print(f"  mallory's stale mirror caught by the signed timestamp: {', '.join(demo.caught)}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="git-elite-demo-") as tmp:
        demo = Demo(Path(tmp).resolve())
        print(f"$DEMO = {demo.dir} (removed at the end)")
        for number, (title, step) in enumerate(STEPS, start=1):
            print(f"\n[{number}/{len(STEPS)}] {title}")
            step(demo)
        summary(demo)
    print("\ndemo complete: every step behaved as expected")


if __name__ == "__main__":
    main()
