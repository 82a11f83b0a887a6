"""Schemas mean the same in every language (issue 17, item 9; f9.sh): every `pattern` of
`schemas/` has ECMA-262's meaning — `$` never matches before a trailing newline — in the
fast compiled check and in the detailed jsonschema validator alike; names checked in code
(eval task types, registry names) are full matches too. Through the real hook and publish."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_elite.core import evals, schema
from git_elite.core.documents import MANIFEST
from git_elite.edges import known_registries
from tests.conftest import ROOT, git, run_cli
from tests.helpers_attacks import Server, commit, doc, mpath, refused, reset
from tests.helpers_registry import (
    T0,
    make_identity,
    make_server,
    manifest,
    profile,
)


def _patterns(node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield where, value
            else:
                yield from _patterns(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _patterns(value, f"{where}[{i}]")


PATTERNS = sorted({(f"{p.name.split('.')[0]}{where}", pattern)
                   for p in (ROOT / "schemas").glob("*.schema.json")
                   for where, pattern in _patterns(json.loads(p.read_text()), "")})


def test_every_schema_has_patterns() -> None:
    assert len(PATTERNS) >= 15


@pytest.mark.parametrize(("where", "pattern"), PATTERNS, ids=[w for w, _ in PATTERNS])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_no_pattern_matches_before_a_trailing_newline(where: str, pattern: str,
                                                      data: st.DataObject) -> None:
    sample = data.draw(st.from_regex(pattern.removeprefix("^").removesuffix("$"),
                                     fullmatch=True).filter(lambda s: "\n" not in s))
    compiled = schema.ecma(pattern)
    assert compiled.search(sample), (where, sample)
    assert not compiled.search(sample + "\n"), where
    assert not compiled.search(sample + "\r\n"), where


@pytest.mark.parametrize("kind", ["manifest", "endorsement", "registry-identity"])
def test_both_validators_refuse_a_trailing_newline(kind: str) -> None:
    from jsonschema import Draft202012Validator

    bad = {"type": "object", "properties": {"t": {"pattern": "^[a-z-]+$"}}}
    assert not schema.compile_schema(bad)({"t": "file-edit\n"})
    assert schema.compile_schema(bad)({"t": "file-edit"})
    assert Draft202012Validator(bad).is_valid({"t": "file-edit\n"})  # the difference fixed
    assert list(schema._validator(kind).iter_errors({"owner_did": "x\n"}))


def test_names_in_code_are_full_matches() -> None:
    assert evals.TASK_TYPE.fullmatch("file-edit")
    assert not evals.TASK_TYPE.fullmatch("file-edit\n")
    with pytest.raises(Exception, match="registry name"):
        known_registries.check_name("reg\n")


def test_hook_refuses_a_task_type_with_a_trailing_newline(shared: Server) -> None:
    reset(shared)
    body = manifest("alice", profile(1), created_at=T0 + 10,
                    task_type_stats={"file-edit\n": {"success_rate": 0.9, "count": 60}})
    sha = commit(shared.work, {mpath(1): doc(body)})
    refused(shared, sha, "schema", mpath(1))
    assert schema.validate(MANIFEST, body, "m")[0].rule == "schema"


def test_publish_from_evals_counts_the_line_as_malformed(tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    make_identity("alice")
    log = tmp_path / "e.jsonl"
    log.write_text("".join(json.dumps({"ts": 1767225600 - i, "success": True, "profile": "p",
                                       "task_type": "file-edit\n"}) + "\n" for i in range(60)))
    proc = run_cli("publish", "--from-evals", "--evals", str(log), "--now", "1767225600",
                   "--registry", str(server), cwd=tmp_path, check=None)
    assert "internal error" not in proc.stderr
    assert "malformed" in proc.stderr
    index = git("show", "main:INDEX.json", cwd=server).stdout
    assert "file-edit\\n" not in index
