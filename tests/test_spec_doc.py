"""docs/spec.md, the format contract other clients implement, kept in step with the code:

- every ```json example is a complete document of a type listed in TYPE_SCHEMA, valid against
  that type's JSON Schema in `schemas/` (through jsonschema itself, not our compiled checker)
  and, when it is a signed document, passing every check of `verify-file`;
- every command of the command line and every rule id is named in it;
- `-h` texts and the README cite docs/spec.md, never the SPEC outside the project.

Examples that are shapes with placeholders are ```jsonc blocks (not checked). When a new
document type gets its schema (attestation §5.8, timestamp §6.1, the format-2 index), the lead
adds it to TYPE_SCHEMA and turns its example into a real ```json one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from git_elite.cli.main import COMMANDS, HIDDEN
from git_elite.core import documents, schema
from git_elite.core.errors import RULES
from tests.conftest import ROOT, run_cli

SPEC = (ROOT / "docs" / "spec.md").read_text()

# document type -> the schema that defines it (schemas/<name>.schema.json)
TYPE_SCHEMA = {
    "manifest": "manifest",
    "agent-config": "agent-config",
    "registry-identity": "registry-identity",
    "tombstone": "tombstone",
    "endorsement": "endorsement",
    "key-rotation": "key-rotation",
    "training-job": "training-job",
    "attestation": "attestation",
    "timestamp": "timestamp",
}
SIGNED = {"manifest", "registry-identity", "tombstone", "endorsement", "key-rotation",
          "training-job", "attestation", "timestamp"}


def examples() -> list[tuple[str, str]]:
    """(section heading, block text) of every ```json block."""
    found = []
    for match in re.finditer(r"^```json\n(.*?)^```$", SPEC, re.DOTALL | re.MULTILINE):
        heading = re.findall(r"^#+ (.+)$", SPEC[:match.start()], re.MULTILINE)[-1]
        found.append((heading, match.group(1)))
    return found


def kind_of(body: dict[str, Any]) -> str:
    if isinstance(body.get("type"), str):
        return str(body["type"])
    if "agent_id" in body and "metrics" in body:
        return "manifest"
    if "system_prompt_hash" in body:
        return "agent-config"
    if "job_id" in body:
        return "training-job"
    raise AssertionError(f"an example of no known type: {sorted(body)}")


def test_there_are_checked_examples_for_every_type_with_a_schema() -> None:
    kinds = {kind_of(json.loads(text)) for _, text in examples()}
    assert kinds == set(TYPE_SCHEMA)


@pytest.mark.parametrize(("heading", "text"), examples(), ids=lambda v: v[:24])
def test_example_matches_its_schema_and_verifies(heading: str, text: str) -> None:
    body = json.loads(text)
    kind = kind_of(body)
    assert kind in TYPE_SCHEMA, f"{heading}: type {kind!r} has no schema in TYPE_SCHEMA"
    errors = sorted(Draft202012Validator(schema.load(TYPE_SCHEMA[kind])).iter_errors(body),
                    key=str)
    assert not errors, f"{heading}: {errors[0].message}"
    if kind in SIGNED:
        _, problems = documents.check(text.encode(), heading, kind)
        assert not problems, f"{heading}: {problems[0].line()}"


def test_every_command_and_rule_is_in_the_spec() -> None:
    for name in set(COMMANDS) - HIDDEN:
        assert f"`{name}" in SPEC or f"| `{name} " in SPEC, f"command {name} not in docs/spec.md"
    for rule in RULES:
        assert f"`{rule}`" in SPEC or f"[{rule}]" in SPEC, f"rule {rule} not in docs/spec.md"


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - HIDDEN))
def test_help_cites_docs_spec_not_the_shared_spec(name: str) -> None:
    text = run_cli(name, "-h").stdout
    assert "SPEC §" not in text and "../shared" not in text


def test_readme_and_docs_cite_the_project_spec() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme and "docs/spec.md" in readme
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert "../shared" not in page.read_text(), page.name


def test_spec_doc_examples_are_not_stale_copies(tmp_path: Path) -> None:
    """The checked examples are the fixtures' bytes (fixtures/docs, rebuilt by `make
    fixtures`), so a format change that regenerates the fixtures shows up here."""
    blocks = {kind_of(json.loads(text)): text for _, text in examples()}
    for kind, name in [("manifest", "manifest"), ("tombstone", "tombstone"),
                       ("key-rotation", "rotation"), ("endorsement", "endorsement")]:
        assert blocks[kind] == (ROOT / "fixtures" / "docs" / f"{name}.json").read_text()
