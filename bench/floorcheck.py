"""The essential checks of one agent, by the project's own functions (bench/floors.py's
floors: a whole-registry verify's and a second verify's). A module of its own with only
what those checks import, so that the second verify's floor (bench/floor_second.py), a
process of its own, loads no more than they need."""

from __future__ import annotations

import hashlib

from git_elite.core import canonical, documents
from git_elite.core.context import MANIFEST_LIMIT
from git_elite.core.errors import EliteError, Problem

# the fields of a manifest that must equal profile.json's (rules._profile)
BINDING = (("signature", "signature"), ("module", "module"), ("profile", "profile"),
           ("system_prompt_fingerprint", "system_prompt_hash"),
           ("demos_fingerprint", "demos_hash"))


def check_agent(agent_id: str, manifest: bytes, profile: bytes) -> list[Problem]:
    """The essential checks of one agent, by the project's own functions (what `verify`
    finds for a forged signature, a schema-invalid document, a broken binding)."""
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
    if hashlib.sha256(canonical.canonicalize(config.body)).hexdigest() != agent_id:
        problems.append(Problem("binding", config.path, "sha256(JCS(profile.json)) is not "
                                "the agent_id"))
    for mine, theirs in BINDING:
        if doc.body.get(mine) != config.body.get(theirs):
            problems.append(Problem("binding", doc.path, f"{mine} differs from profile.json's "
                                    f"{theirs}"))
    return problems


