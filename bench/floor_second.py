"""The floor of a second `git elite verify` after a one-agent push (SPEC §12, issue 26):
what it cannot do without, in a process of its own started as `git-elite` is (the same
interpreter: `python -c pass` is its start), and nothing else — the two `git` processes
verify keeps, each spawned as verify spawns it (edges/spawn through `git.run` and
`spawn.Child`, `git -C REPO`): the one `git config` (the registry branch, a Radicle
remote: git's configuration cascade cannot be read without git) and one `git cat-file
--batch-command` that reads what a one-agent change needs — the new tip commit, the
changed agent's manifest.json and profile.json, its touched shard index/<ab>.json and the
head INDEX.json; then that agent's essential checks (bench/essential.py: strict parse,
schema, signature, binding), the shard naming the agent, and the SHA-256 of the shard and
the head (what their pins are checked with).

What it leaves out is what a second verify does around that: finding which agent changed
(its memory of the last verified tree and the tree diff down to the agent), the rule
engine's glue, the index entry compared field by field, the identity pin and the root
commit, the memory rewritten, and the imports of all that.

    python bench/floor_second.py REPO AGENT_ID    # exit 0 when the agent checks clean
"""

from __future__ import annotations

import sys

from essential import check_agent

from git_elite.core import layout
from git_elite.core.state import sha256_hex
from git_elite.edges import git, repofacts, spawn


def read_all(repo: str, specs: list[str]) -> list[bytes]:
    """The contents of each of `specs`, through one `git cat-file --batch-command`."""
    child = spawn.Child(git.at(repo, ["cat-file", "--batch-command"]), stdin=spawn.PIPE,
                        stdout=spawn.PIPE, stderr=spawn.DEVNULL)
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("".join(f"contents {spec}\n" for spec in specs).encode())
    child.stdin.close()
    found = []
    for spec in specs:
        header = child.stdout.readline().split()
        if len(header) != 3:
            raise SystemExit(f"floor_second: {spec}: {header!r}")
        found.append(child.stdout.read(int(header[2]) + 1)[:-1])
    child.stdout.close()
    child.wait()
    return found


def main(repo: str, agent_id: str) -> int:
    config = git.run(["config", "-z", "--show-scope", "--get-regexp", repofacts.PATTERN],
                     repo, check=False)
    if config.returncode not in (0, 1):
        return 2
    shard = layout.shard_path(layout.shard_of(agent_id))
    commit, manifest, profile, shard_bytes, head = read_all(repo, [
        "HEAD^{commit}", f"HEAD:{layout.agent_path(agent_id, 'manifest.json', 2)}",
        f"HEAD:{layout.agent_path(agent_id, 'profile.json', 2)}", f"HEAD:{shard}",
        f"HEAD:{layout.INDEX}"])
    problems = check_agent(agent_id, manifest, profile)
    pins = sha256_hex(shard_bytes), sha256_hex(head)
    ok = commit.startswith(b"tree ") and not problems and agent_id.encode() in shard_bytes \
        and all(len(pin) == 64 for pin in pins)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
