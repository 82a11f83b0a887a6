"""The essential checks of one agent, shared by the floors (bench/floors.py: a whole-registry
`verify`; bench/discover_floor.py: `discover --offline` top 20): the project's own calls,
nothing re-implemented — `documents.parse` (strict JSON), `documents.check_shape` (schema and
cross-field rules), `documents.verify_signature` (JCS signing input, Ed25519), the profile's
strict parse and schema, sha256(JCS(profile)) against the agent_id, and the manifest/profile
binding fields. Imports only what those calls need (the discover floor is a process of its
own, whose start-up is part of what it measures)."""

from __future__ import annotations

from git_elite.core import canonical, documents
from git_elite.core.context import MANIFEST_LIMIT
from git_elite.core.errors import EliteError, Problem
from git_elite.core.state import sha256_hex

# the fields of a manifest that must equal profile.json's (rules._profile)
BINDING = (("signature", "signature"), ("module", "module"), ("profile", "profile"),
           ("system_prompt_fingerprint", "system_prompt_hash"),
           ("demos_fingerprint", "demos_hash"))


def check_agent(agent_id: str, manifest: bytes, profile: bytes) -> list[Problem]:
    """The essential checks of one agent (what `verify` finds for a forged signature, a
    schema-invalid document, a broken binding)."""
    base = f"agents/{agent_id[:2]}/{agent_id}/"
    try:
        doc = documents.parse(manifest, base + "manifest.json", documents.MANIFEST,
                              MANIFEST_LIMIT)
    except EliteError as err:
        return [err.problem()]
    problems = documents.check_shape(doc)
    if problems:
        return problems
    problems = documents.verify_signature(doc)
    if doc.body["agent_id"] != agent_id:
        problems.append(Problem("binding", doc.path, "agent_id is not the directory's"))
    try:
        config = documents.parse(profile, base + "profile.json", documents.AGENT_CONFIG)
    except EliteError as err:
        return [*problems, err.problem()]
    shape = documents.check_shape(config)
    if shape:
        return [*problems, *shape]
    if sha256_hex(canonical.canonicalize(config.body)) != agent_id:
        problems.append(Problem("binding", config.path, "sha256(JCS(profile.json)) is not "
                                "the agent_id"))
    for mine, theirs in BINDING:
        if doc.body.get(mine) != config.body.get(theirs):
            problems.append(Problem("binding", doc.path, f"{mine} differs from profile.json's "
                                    f"{theirs}"))
    return problems
