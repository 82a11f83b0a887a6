"""Registry layout (SPEC §4): which paths may exist and what each one holds. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

IDENTITY = "IDENTITY.json"
INDEX = "INDEX.json"
# not checked beyond size and secrets: SPEC §4's free files, plus the two files a registry
# needs to use the pre-commit framework (.pre-commit-hooks.yaml) and to ignore local clutter
FREE = frozenset({"README.md", "LICENSE", ".gitattributes", ".gitignore",
                  ".pre-commit-config.yaml"})
FREE_LIMIT = 1024 * 1024
AGENT_FILES = frozenset({"manifest.json", "profile.json", "prompt.md", "demos.json",
                         "tombstone.json"})
GITATTRIBUTES = "*.json -text\nINDEX.json merge=elite-index\n"
_AGENT_ID = re.compile(r"[0-9a-f]{64}")
_NID = re.compile(r"z[1-9A-HJ-NP-Za-km-z]{40,60}")


@dataclass(frozen=True)
class Slot:
    """What a path is: kind is identity|index|free|agent|endorsement|rotation."""

    kind: str
    path: str
    agent_id: str = ""
    name: str = ""
    from_nid: str = ""
    to_nid: str = ""


def is_agent_id(text: str) -> bool:
    return bool(_AGENT_ID.fullmatch(text))


def classify(path: str) -> Slot | None:
    """The slot of `path`, or None when the layout has no place for it."""
    if path == IDENTITY:
        return Slot("identity", path)
    if path == INDEX:
        return Slot("index", path)
    if path in FREE:
        return Slot("free", path)
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == "agents" and _AGENT_ID.fullmatch(parts[1]) \
            and parts[2] in AGENT_FILES:
        return Slot("agent", path, agent_id=parts[1], name=parts[2])
    if len(parts) == 3 and parts[0] == "endorsements" and _NID.fullmatch(parts[1]) \
            and parts[2].endswith(".json") and _NID.fullmatch(parts[2][:-5]):
        return Slot("endorsement", path, from_nid=parts[1], to_nid=parts[2][:-5])
    if len(parts) == 3 and parts[0] == "identities" and _NID.fullmatch(parts[1]) \
            and parts[2] == "rotation.json":
        return Slot("rotation", path, from_nid=parts[1])
    return None


def why_not(path: str) -> str:
    """A one-line reason why `path` has no place in the layout."""
    top = path.split("/", 1)[0]
    if top == "agents":
        return ("agents/ holds only agents/<64 lowercase hex agent_id>/{"
                + ",".join(sorted(AGENT_FILES)) + "}")
    if top == "endorsements":
        return "endorsements/ holds only endorsements/<from-nid>/<to-nid>.json"
    if top == "identities":
        return "identities/ holds only identities/<old-nid>/rotation.json"
    return ("not part of the registry layout (allowed: IDENTITY.json, INDEX.json, "
            + ", ".join(sorted(FREE)) + ", agents/, endorsements/, identities/)")


def agent_path(agent_id: str, name: str) -> str:
    return f"agents/{agent_id}/{name}"


def rotation_path(nid: str) -> str:
    return f"identities/{nid}/rotation.json"


def endorsement_path(from_nid: str, to_nid: str) -> str:
    return f"endorsements/{from_nid}/{to_nid}.json"
