"""The floor of `git elite discover --offline` top 20 (SPEC §12: <= 3x `git-elite --version`,
flat from 1k to 1M; issue 26 item 2), run as a process of its own beside discover and
`--version` in the same rounds (bench/reads.py `measure_discover`).

It does what a checked top 20 of one registry's cache clone cannot do without, with the
project's own functions and the same git processes discover starts, and nothing else:
- the interpreter (the bench venv's, as `git-elite`'s; a regular install);
- `git for-each-ref` in the cache clone (its tip) and in the registry (whether the cache is
  behind it: discover's offline read says so), both through edges/spawn as discover's are;
- one `git cat-file --batch-command` in the cache clone: INDEX.json, IDENTITY.json and
  index/ranked.json at the tip; the directories of the 20 agents the head ranks first (one
  lookup each in its agents/<ab>, as discover's); their manifest.json and profile.json by
  id (three round trips, each needs the one before);
- the checks: the head parsed strictly; IDENTITY.json checked whole (schema, threshold
  signatures: `documents.check`) and against the head's pin; index/ranked.json against the
  head's pin and parsed strictly (`pins.checked_identity`, `pins.checked_ranked`); per
  agent bench/essential.py's checks (strict parse, schema, Ed25519 signature, profile,
  binding) and the manifest's sha256 against its pinned entry;
- the 20 rows written as JSON (core/cjson).

What discover does beyond it: the rule engine's glue per agent (paths, secret scan, policy,
rotations, the index entry rebuilt and compared number by number), the reader's memories
(identity, agents seen, freshness of the cache, known registries), trust (the registry's
signers and the trusted DIDs), attestation summaries, the union of several registries and
their ordering, the terminal's escaping. Its time against this floor's says what that costs.

    python bench/discover_floor.py CACHE.git REGISTRY.git    # prints the top 20 as JSON
"""

from __future__ import annotations

import sys

from essential import check_agent

from git_elite.core import cjson, documents, jsonstrict, layout, pins
from git_elite.core.errors import EliteError
from git_elite.core.state import sha256_hex
from git_elite.edges import spawn

TOP = 20


def refs(git_dir: str, *patterns: str) -> dict[str, str]:
    out = spawn.run(["git", "-C", git_dir, "for-each-ref",
                     "--format=%(refname) %(objectname)", *patterns]).stdout
    return dict(line.split(" ", 1) for line in out.decode().splitlines())


class Batch:
    """One `git cat-file --batch-command`: `contents <rev>:<path>` a round trip at a time."""

    def __init__(self, git_dir: str):
        self.child = spawn.Child(["git", "-C", git_dir, "cat-file", "--batch-command"],
                                 stdin=spawn.PIPE, stdout=spawn.PIPE, stderr=spawn.DEVNULL)

    def read(self, names: list[str], kind: bytes = b"blob") -> list[bytes | None]:
        stdin, stdout = self.child.stdin, self.child.stdout
        assert stdin is not None and stdout is not None
        stdin.write("".join(f"contents {n}\n" for n in names).encode())
        stdin.flush()
        found: list[bytes | None] = []
        for _ in names:
            line = stdout.readline().split()
            if len(line) != 3:
                found.append(None)
                continue
            data = stdout.read(int(line[2]) + 1)[:-1]
            found.append(data if line[1] == kind else None)
        return found

    def close(self) -> None:
        self.child.communicate()


def entries(tree: bytes) -> dict[str, str]:
    """name -> object id of a small tree's entries (`<mode> <name>\\0<20-byte id>` each)."""
    found, at = {}, 0
    while at < len(tree):
        space = tree.index(b" ", at)
        nul = tree.index(b"\0", space)
        found[tree[space + 1:nul].decode()] = tree[nul + 1:nul + 21].hex()
        at = nul + 21
    return found


def top(cache: str, registry: str) -> list[dict[str, object]]:
    tip = refs(cache)["refs/heads/main"]
    ahead = refs(registry, "refs/heads/main").get("refs/heads/main") != tip
    batch = Batch(cache)
    try:
        head_raw, identity_raw, ranked_raw = batch.read(
            [f"{tip}:{layout.INDEX}", f"{tip}:{layout.IDENTITY}", f"{tip}:{layout.RANKED}"])
        if head_raw is None or identity_raw is None or ranked_raw is None:
            raise SystemExit(f"{cache}: not a pinned format-2 registry")
        head = jsonstrict.load_large(head_raw, name=layout.INDEX, max_bytes=len(head_raw))
        identity, problems = documents.check(identity_raw, layout.IDENTITY,
                                             documents.REGISTRY_IDENTITY)
        if identity is None or problems:
            raise SystemExit(f"{layout.IDENTITY}: {problems}")
        pins.checked_identity(head, identity_raw)
        ranked = pins.checked_ranked(head, ranked_raw)
        chosen = head["rankings"]["general"][:TOP]
        # each agent's directory through one lookup in its 3,900-entry agents/<ab> at 1M (as
        # discover's `info <tree>:<name>/`; `<tip>:<dir>/manifest.json` and
        # `…/profile.json` would walk agents/<ab> twice), then its blobs by id
        dirs = batch.read([f"{tip}:{layout.agent_dir(a, 2)}" for a in chosen], b"tree")
        ids = [entries(tree or b"").get(name, "") for tree in dirs
               for name in ("manifest.json", "profile.json")]
        blobs = batch.read(ids)
    finally:
        batch.close()
    rows = []
    for rank, agent_id in enumerate(chosen, 1):
        manifest, profile = blobs[2 * rank - 2] or b"", blobs[2 * rank - 1] or b""
        entry = ranked[agent_id]
        problems = check_agent(agent_id, manifest, profile)
        if problems or sha256_hex(manifest) != entry["manifest_sha256"]:
            raise SystemExit(f"{agent_id}: {problems or 'manifest_sha256'}")
        rows.append({"rank": rank, "agent_id": agent_id, "owner_did": entry["owner_did"],
                     "score_ppm": entry["score_ppm"], "success_rate": entry["success_rate"],
                     "registry": registry, "cache_behind": ahead})
    return rows


def main() -> int:
    try:
        rows = top(sys.argv[1], sys.argv[2])
        text = cjson.indented(rows, sort_keys=False)
        if text is None:  # (never for these rows: strings, ints, floats, bools)
            raise SystemExit("discover_floor: rows cjson does not write")
        sys.stdout.write(text + "\n")
    except EliteError as err:
        raise SystemExit(f"discover_floor: {err}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
