"""`git elite check` and the pre-receive hook agree on every attack of the project (SPEC §16,
issue 28): the push tests of tests/test_attacks.py and tests/test_hostile_pushes.py run here
again, unchanged, with every `push` of HEAD to the hooked server's main preceded by `git
elite check <server main>..<pushed commit>` in the pushing work tree (helpers_check): same
verdict, same REJECT lines. Pushes that are not a range (deleting the branch, another ref)
are ref rules of a push and are listed, not compared; the last test says how many of each."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from tests import helpers_attacks, helpers_check, test_attacks, test_hostile_pushes
from tests.conftest import git

SOURCES = (test_attacks, test_hostile_pushes)


def _pushing_tests() -> dict[str, Any]:
    """The tests of SOURCES that push to the shared hooked server (they take `srv`)."""
    found = {}
    for module in SOURCES:
        for name, func in vars(module).items():
            if name.startswith("test_") and inspect.isfunction(func) and \
                    "srv" in inspect.signature(func).parameters:
                found[f"test_{module.__name__.rsplit('.', 1)[-1]}__{name[5:]}"] = func
    return found


globals().update(_pushing_tests())


@pytest.fixture(autouse=True)
def checked_pushes(monkeypatch: pytest.MonkeyPatch, shared: Any) -> Iterator[None]:
    for module in (helpers_attacks, *SOURCES):
        monkeypatch.setattr(module, "push", helpers_check.push_and_check)
    yield
    for key in ("elite.maxCommitsPerPush", "elite.maxClockSkew"):
        git("config", "--unset", key, cwd=shared.bare, check=False)


def test_zz_every_range_compared() -> None:
    """Run last in this module (pytest keeps definition order; this one is defined after
    the imported ones): the attacks pushed ranges and every one was compared."""
    record = helpers_check.RECORD
    refused = [r for r, ok in record.compared if not ok]
    assert len(record.compared) >= 60 and len(refused) >= 45, record
    assert any(spec == ":main" for spec in record.not_ranges), record.not_ranges
