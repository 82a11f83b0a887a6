"""schema.checker (hooks5): the first GENERATE_AFTER documents of a kind are checked by
compile_schema's closures, the rest by the generated function (schemagen), which a one-agent
commit then never builds. Both give the same answer on valid and invalid documents, before
and after the switch; a schema that does not compile is refused either way."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from git_elite.core import schema
from tests.test_schema_compiled import VALID, _reference


@pytest.fixture()
def fresh() -> Iterator[None]:
    saved = dict(schema._USES)
    schema._USES.clear()
    yield
    schema._USES.clear()
    schema._USES.update(saved)


def invalid(kind: str) -> dict[str, object]:
    """The valid document without its first required property."""
    bad = copy.deepcopy(VALID[kind])
    del bad[schema.load(kind)["required"][0]]
    return bad


@pytest.mark.parametrize("kind", sorted(VALID))
def test_closures_first_then_the_generated_function(kind: str, fresh: None) -> None:
    good, bad = VALID[kind], invalid(kind)
    assert _reference(kind).is_valid(good) and not _reference(kind).is_valid(bad)
    seen = []
    for n in range(schema.GENERATE_AFTER + 3):
        check = schema.checker(kind)
        seen.append(check)
        assert check(good) is True and check(bad) is False, (kind, n)
        assert schema.is_valid(kind, good) and not schema.is_valid(kind, bad)
    assert seen[0] is schema.closures(kind) and not hasattr(seen[0], "source")
    assert seen[-1] is schema.compiled(kind) and "def check(v):" in seen[-1].source
    assert schema.validate(kind, bad, "x.json")  # the detailed problems, as before
    assert schema.validate(kind, good, "x.json") == []


def test_a_one_agent_commit_s_few_documents_never_build_the_generated_one(fresh: None) -> None:
    schema._COMPILED.clear()
    try:
        for kind in ("manifest", "agent-config"):
            for _ in range(3):
                assert schema.is_valid(kind, VALID[kind])
        assert not schema._COMPILED
    finally:
        schema._COMPILED.clear()
