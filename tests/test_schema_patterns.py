"""schema.Runs: the schemas' `pattern`s matched without `re` (the hooks' start-up, docs/scale.md
"The hooks, round 7") give `re.search`'s answer with ECMA-262's `$` (`schema.ecma_re`) on
every pattern of every schema, on strings drawn to match, to almost match and at random;
forms it does not take are left to `re`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_elite.core import schema

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def _patterns(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            found.add(node["pattern"])
        for value in node.values():
            found |= _patterns(value)
    elif isinstance(node, list):
        for value in node:
            found |= _patterns(value)
    return found


PATTERNS = sorted(set().union(*(_patterns(json.loads(p.read_text()))
                                for p in SCHEMAS.glob("*.json"))))
# forms beyond the schemas' own, each matched by Runs (a count of every kind, a negated
# class, a pattern without `$`, alternatives)
MORE = ["^[^-]", "^[^-]+$", "^a?b*c+$", "^x{2}y{1,}z{0,3}$", "^[a-c]{2,4}[b-d]{1,3}$",
        "^(ab|abc)$", "^[0-9]{3}", "^-[!-~]{0,2}$", "^$", "^"]
# forms left to `re`
NOT_RUNS = ["[a-z]+", "^a.b$", "^a|b$", "^ab|cd", "^a|b$[", "^(a)(b)$", "^\\d+$", "^[\\w]+$",
            "^a{,3}$", "^a{3,1}$", "^[z-a]$", "^(?i)a$", "^a$$"]

ALPHABET = st.sampled_from(list("abcdz019AZ._:/+-!~*,\n\r \té€😀") + ["did:key:z", "sha256:",
                                                                     "https://", "http://"])


@pytest.mark.parametrize("pattern", PATTERNS + MORE)
def test_every_form_is_matched_without_re(pattern: str) -> None:
    assert isinstance(schema.ecma(pattern), schema.Runs), pattern


@pytest.mark.parametrize("pattern", NOT_RUNS)
def test_other_forms_are_left_to_re(pattern: str) -> None:
    assert schema.Runs.parse(pattern) is None


@pytest.mark.parametrize("pattern", PATTERNS + MORE)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_runs_give_re_s_answer(pattern: str, data: st.DataObject) -> None:
    expected = schema.ecma_re(pattern)
    runs = schema.Runs.parse(pattern)
    assert runs is not None
    body = pattern.removeprefix("^").removesuffix("$") or "(?:)"
    matching = data.draw(st.from_regex(body, fullmatch=True))
    for text in (matching, matching + "\n", matching[:-1], matching + "a", "-" + matching,
                 matching[1:], data.draw(st.lists(ALPHABET, max_size=12).map("".join))):
        assert (runs.search(text) is not None) == (expected.search(text) is not None), \
            (pattern, text)


def test_the_real_patterns_on_known_strings() -> None:
    did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    assert schema.ecma("^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$").search(did)
    assert not schema.ecma("^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$").search(did + "\n")
    assert not schema.ecma("^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$").search(did[:-1] + "0")
    assert schema.ecma("^([0-9a-f]{40}|[0-9a-f]{64})$").search("a" * 40)
    assert schema.ecma("^([0-9a-f]{40}|[0-9a-f]{64})$").search("a" * 64)
    assert not schema.ecma("^([0-9a-f]{40}|[0-9a-f]{64})$").search("a" * 50)
    assert schema.ecma("^https?://[!-~]+$").search("https://x.org/a")
    assert not schema.ecma("^https?://[!-~]+$").search("https://x.org/ a")
    assert schema.ecma("^[^-]").search("a-") and not schema.ecma("^[^-]").search("-a")
