"""The generated schema checker (core/schemagen.py: what `schema.compiled` serves, so every
document verify reads) accepts exactly what the closure compiler and jsonschema accept: on
every fixture document and on a few thousand mutations of each document kind made from a
fixed seed (each field removed, each value replaced by values of every JSON type and by
boundary values, extra properties, unicode, huge and deep values). A refusal always goes
through jsonschema for its message (schema.validate), so the rule ids and messages are
today's; the generated code can only decide that nothing is wrong."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import documents, jsonstrict, schema, schemagen
from git_elite.core.errors import EliteError
from tests.test_schema_compiled import KINDS, TRICKY, VALID, _paths, _reference

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261207
BOUNDARY = [0, -1, 1, 2**53 - 1, 2**53, -(2**53), 10**300, 1e308, -0.0, 0.5, 1.0, 1.0000001,
            63, 64, 65, 255, 256, 257, 2047, 2048, 2049, "", "é" * 64, "\U0001f600" * 40,
            "0" * 64, "0" * 65, "0" * 40, "A" * 85, "A" * 86, "A" * 100, "A" * 101, "\n",
            "sha256:" + "0" * 64 + "\n", "did:key:z" + "1" * 39, "did:key:z" + "1" * 61,
            {"type": "git"}, {"success_rate": 1.5, "count": 1}, [[[[[[[[]]]]]]]],
            {"a": {"b": {"c": {"d": {}}}}}, ["x"] * 300, {f"k{i}": 1 for i in range(300)}]


def _generated(kind: str) -> Any:
    return schema.compiled(kind)


def _closure(kind: str) -> Any:
    return schema.compile_schema(schema.load(kind))


def _agree(kind: str, body: Any) -> bool:
    expected = _reference(kind).is_valid(body)
    assert _closure(kind)(body) == expected, json.dumps(body)[:300]
    assert _generated(kind)(body) == expected, json.dumps(body)[:300]
    return expected


def test_compiled_is_the_generated_function() -> None:
    for kind in documents.TYPES:
        check = schema.compiled(kind)
        assert "def check(v):" in getattr(check, "source", "")


def _mutations(kind: str, rng: random.Random) -> list[Any]:
    """Each path of the valid document removed, replaced by each tricky and boundary value,
    given an extra property; then random stacks of two or three such changes."""
    base = VALID[kind]
    values = TRICKY + BOUNDARY
    out: list[Any] = []
    for path in _paths(base)[1:]:
        for value in [None, *values]:
            body = copy.deepcopy(base)
            parent = body
            for step in path[:-1]:
                parent = parent[step]
            if value is None and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(value)
            out.append(body)
    for path in _paths(base):
        body = copy.deepcopy(base)
        parent = body
        for step in path:
            parent = parent[step]
        if isinstance(parent, dict):
            parent[rng.choice(["x-extra", "type", "é", "", "a" * 80])] = rng.choice(values)
            out.append(body)
        elif isinstance(parent, list):
            parent.append(rng.choice(values))
            out.append(body)
    for _ in range(400):
        body = copy.deepcopy(base)
        for _ in range(rng.randint(2, 3)):
            paths = _paths(body)[1:]
            if not paths:
                break
            path = rng.choice(paths)
            parent = body
            for step in path[:-1]:
                parent = parent[step]
            if rng.random() < 0.3 and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(rng.choice(values))
        out.append(body)
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_mutated_documents_agree_with_jsonschema(kind: str) -> None:
    rng = random.Random(f"{SEED}-{kind}")
    cases = _mutations(kind, rng)
    assert len(cases) > 800
    verdicts = [_agree(kind, body) for body in cases]
    assert any(verdicts) and not all(verdicts)  # both answers were met


def _fixture_documents() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for path in sorted((ROOT / "fixtures").rglob("*.json")):
        try:
            body = jsonstrict.loads(path.read_bytes(), name=str(path), max_bytes=1 << 22)
        except EliteError:
            continue
        for value in _objects(body):
            try:
                kind = documents.detect_type(value)
            except EliteError:
                continue
            found.append((kind, value))
    return found


def _objects(value: Any) -> list[Any]:
    """`value` and every object nested in it (the vectors hold documents inside cases)."""
    out, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def test_every_fixture_document_agrees() -> None:
    found = _fixture_documents()
    assert len({kind for kind, _ in found}) >= 3
    for kind, body in found:
        _agree(kind, body)
        for field in list(body):
            _agree(kind, {k: v for k, v in body.items() if k != field})


def test_a_refusal_keeps_the_jsonschema_message() -> None:
    body = copy.deepcopy(VALID["manifest"])
    body["metrics"]["total_tasks"] = 1.5
    assert not schema.is_valid("manifest", body)
    [problem] = schema.validate("manifest", body, "agents/x/manifest.json")
    assert problem.rule == "schema"
    assert problem.message.startswith("metrics.total_tasks: 1.5 is not of type 'integer'")


def test_what_is_not_written_out_is_the_closures_answer() -> None:
    """anyOf, const, a list of types, uniqueItems: called as compile_schema's closures."""
    odd = {"type": "object", "properties": {
        "a": {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 3}]},
        "b": {"const": 1}, "c": {"type": ["string", "null"], "maxLength": 2},
        "d": {"type": "array", "uniqueItems": True}, "e": {"maxLength": 1}},
        "additionalProperties": False}
    parts = schemagen.Parts(schema.compile_schema, schema.ecma, schema.TYPE_CHECKS["integer"],
                            schema.TYPE_CHECKS["number"])
    check, closure = schemagen.generate(odd, parts), schema.compile_schema(odd)
    rng = random.Random(SEED)
    values = [*TRICKY, *BOUNDARY, "ab", "abc", 3, 2, [1, 1.0], [1, True]]
    for _ in range(2000):
        body = {k: rng.choice(values) for k in rng.sample("abcdef", rng.randint(0, 4))}
        assert check(body) == closure(body), body
