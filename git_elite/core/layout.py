"""Registry layout (SPEC §4): which paths may exist and what each one holds. Pure.

Format 2 (what `init` creates) shards agents by the first two hex digits of their id:
`agents/<ab>/<agent_id>/<file>`, with one index shard `index/<ab>.json` per `<ab>`. Format 1
(the first release: no `format` field in IDENTITY.json) is flat: `agents/<agent_id>/<file>`
and one INDEX.json. Functions that name or classify paths take the format (default 2).
"""

from __future__ import annotations

from git_elite.core.keys import B58_DIGITS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

FORMAT = 2  # the format `init` and `migrate` write
IDENTITY = "IDENTITY.json"
INDEX = "INDEX.json"
RANKED = "index/ranked.json"  # the entries of every head-ranked agent (SPEC §6.2)
TRUST_DIR = "index/trust"  # index/trust/<ab>.json: digests of trust documents (SPEC §6.2)
DERIVED = frozenset({"index", "shard", "ranked", "trust"})  # slot kinds the index rule writes
GITATTRIBUTES_PATH = ".gitattributes"
# not checked beyond size and secrets: SPEC §4's free files, plus the two files a registry
# needs to use the pre-commit framework (.pre-commit-hooks.yaml) and to ignore local clutter
FREE = frozenset({"README.md", "LICENSE", ".gitattributes", ".gitignore",
                  ".pre-commit-config.yaml"})
FREE_LIMIT = 1024 * 1024
AGENT_FILES = frozenset({"manifest.json", "profile.json", "prompt.md", "demos.json",
                         "tombstone.json"})
ATTESTATIONS = "attestations"  # format 2: agents/<ab>/<agent_id>/attestations/<nid>.json
# the lines .gitattributes must hold, by format (SPEC §4)
REQUIRED_ATTRIBUTES = {1: ("*.json -text", "INDEX.json merge=elite-index"),
                       2: ("*.json -text", "INDEX.json merge=elite-index",
                           "index/*.json merge=elite-index")}
# what `init` writes: the required lines, and the merge driver for the trust shards, which
# `index/*.json` does not reach (a `*` in a path pattern stops at `/`)
TRUST_ATTRIBUTE = "index/trust/*.json merge=elite-index"
GITATTRIBUTES = "".join(line + "\n" for line in (*REQUIRED_ATTRIBUTES[FORMAT], TRUST_ATTRIBUTE))
_HEX = "0123456789abcdef"


def _hex(text: str, length: int) -> bool:
    """`[0-9a-f]{length}` (tested with `str.strip` at C speed: no `re` on the hooks' path)."""
    return len(text) == length and not text.strip(_HEX)


def is_nid(text: str) -> bool:
    """A node id's form: `z` and 40 to 60 base58btc digits."""
    return 41 <= len(text) <= 61 and text[0] == "z" and not text[1:].strip(B58_DIGITS)


class Slot(NamedTuple):
    """What a path is: kind is identity|index|shard|ranked|trust|free|agent|attestation|
    endorsement|rotation (`name` is the file name of an agent file, the `<ab>` of a shard or
    of a trust shard)."""

    kind: str
    path: str
    agent_id: str = ""
    name: str = ""
    from_nid: str = ""
    to_nid: str = ""


def is_agent_id(text: str) -> bool:
    return _hex(text, 64)


def format_of(identity: Mapping[str, Any] | None) -> int:
    """The layout an IDENTITY.json body declares: its `format` (absent = 1). With no
    identity at all, the format a new registry gets."""
    if not isinstance(identity, dict):
        return FORMAT
    value = identity.get("format", 1)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value in (1, 2)
    return int(value) if ok else 1


def classify(path: str, fmt: int = FORMAT) -> Slot | None:
    """The slot of `path` in a registry of format `fmt`, or None when it has no place."""
    if path == IDENTITY:
        return Slot("identity", path)
    if path == INDEX:
        return Slot("index", path)
    if path in FREE:
        return Slot("free", path)
    parts = path.split("/")
    if fmt >= 2:
        if len(parts) == 4 and parts[0] == "agents" and _hex(parts[2], 64) \
                and parts[1] == parts[2][:2] and parts[3] in AGENT_FILES:
            return Slot("agent", path, agent_id=parts[2], name=parts[3])
        if len(parts) == 2 and parts[0] == "index" and parts[1].endswith(".json") \
                and _hex(parts[1][:-5], 2):
            return Slot("shard", path, name=parts[1][:-5])
        if path == RANKED:
            return Slot("ranked", path)
        if len(parts) == 3 and parts[0] == "index" and parts[1] == "trust" \
                and parts[2].endswith(".json") and _hex(parts[2][:-5], 2):
            return Slot("trust", path, name=parts[2][:-5])
        if len(parts) == 5 and parts[0] == "agents" and _hex(parts[2], 64) \
                and parts[1] == parts[2][:2] and parts[3] == ATTESTATIONS \
                and parts[4].endswith(".json") and is_nid(parts[4][:-5]):
            return Slot("attestation", path, agent_id=parts[2], from_nid=parts[4][:-5])
    elif len(parts) == 3 and parts[0] == "agents" and _hex(parts[1], 64) \
            and parts[2] in AGENT_FILES:
        return Slot("agent", path, agent_id=parts[1], name=parts[2])
    if len(parts) == 3 and parts[0] == "endorsements" and is_nid(parts[1]) \
            and parts[2].endswith(".json") and is_nid(parts[2][:-5]):
        return Slot("endorsement", path, from_nid=parts[1], to_nid=parts[2][:-5])
    if len(parts) == 3 and parts[0] == "identities" and is_nid(parts[1]) \
            and parts[2] == "rotation.json":
        return Slot("rotation", path, from_nid=parts[1])
    return None


def why_not(path: str, fmt: int = FORMAT) -> str:
    """A one-line reason why `path` has no place in the layout."""
    top = path.split("/", 1)[0]
    files = "{" + ",".join(sorted(AGENT_FILES)) + "}"
    if top == "agents":
        if fmt >= 2:
            return ("agents/ holds only agents/<ab>/<64 lowercase hex agent_id>/" + files
                    + " and .../attestations/<attester-nid>.json (<ab>: the agent_id's first "
                    "two hex digits)")
        return f"agents/ holds only agents/<64 lowercase hex agent_id>/{files} (format 1)"
    if top == "index":
        return ("index/ holds only index/<ab>.json, index/ranked.json and "
                "index/trust/<ab>.json (format 2)" if fmt >= 2 else
                "a format-1 registry has no index/ (run `git elite migrate`)")
    if top == "endorsements":
        return "endorsements/ holds only endorsements/<from-nid>/<to-nid>.json"
    if top == "identities":
        return "identities/ holds only identities/<old-nid>/rotation.json"
    return ("not part of the registry layout (allowed: IDENTITY.json, INDEX.json, "
            + ", ".join(sorted(FREE)) + ", agents/, index/, endorsements/, identities/)")


def shard_of(agent_id: str) -> str:
    """The `<ab>` of an agent: its id's first two hex digits."""
    return agent_id[:2]


def agent_dir(agent_id: str, fmt: int = FORMAT) -> str:
    return f"agents/{agent_id[:2]}/{agent_id}" if fmt >= 2 else f"agents/{agent_id}"


def agent_path(agent_id: str, name: str, fmt: int = FORMAT) -> str:
    return f"{agent_dir(agent_id, fmt)}/{name}"


def attestation_path(agent_id: str, attester_nid: str) -> str:
    """Where an attestation lives (format 2 only, SPEC §4)."""
    return f"{agent_dir(agent_id, 2)}/{ATTESTATIONS}/{attester_nid}.json"


def shard_path(ab: str) -> str:
    return f"index/{ab}.json"


def trust_shard_path(ab: str) -> str:
    """Where the trust shard `<ab>` lives (SPEC §6.2)."""
    return f"{TRUST_DIR}/{ab}.json"


def is_derived(path: str) -> bool:
    """Whether `path` is an index file (INDEX.json, a shard, ranked.json, a trust shard)."""
    slot = classify(path)
    return slot is not None and slot.kind in DERIVED


def agent_id_in(path: str) -> str | None:
    """The agent_id of a path under agents/ in either format (None for any other path)."""
    parts = path.split("/")
    if len(parts) >= 3 and parts[0] == "agents":
        for part in parts[1:3]:
            if _hex(part, 64):
                return part
    return None


def rotation_path(nid: str) -> str:
    return f"identities/{nid}/rotation.json"


def endorsement_path(from_nid: str, to_nid: str) -> str:
    return f"endorsements/{from_nid}/{to_nid}.json"
