"""`git elite check` and the pre-receive hook agree on every attack of the project (SPEC §16,
issue 28): the push tests of tests/test_attacks.py, test_hostile_pushes.py,
test_hostile_trees.py, test_attest_server.py and test_hostile_output.py run here again,
unchanged, with every push to the hooked server's main preceded by `git elite check <server
main>..<pushed commit>` in the pushing work tree (helpers_check): same verdict, same REJECT
lines. Pushes that are not a range (deleting the branch, another ref)
are ref rules of a push and are listed, not compared; the last test says how many of each."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from tests import (
    helpers_attacks,
    helpers_check,
    test_attacks,
    test_attest_server,
    test_hostile_output,
    test_hostile_pushes,
    test_hostile_trees,
)
from tests.conftest import git

pytestmark = pytest.mark.slow  # the catalogue twice over: ~1 min of CPU

SOURCES = (test_attacks, test_hostile_pushes, test_hostile_trees, test_attest_server,
           test_hostile_output)


# needs the client hooks `init` installed in the shared work tree, which tests of other modules
# uninstall when they run in one module (as here); it pushes nothing an attacker would
AFTER_CLIENT_HOOKS = {"test_client_pre_commit_counts_the_attestation"}


def _pushing_tests() -> dict[str, Any]:
    """The tests of SOURCES that push to the shared hooked server (they take `srv`)."""
    found = {}
    for module in SOURCES:
        for name, func in vars(module).items():
            if name.startswith("test_") and inspect.isfunction(func) and \
                    name not in AFTER_CLIENT_HOOKS and \
                    "srv" in inspect.signature(func).parameters:
                found[f"test_{module.__name__.rsplit('.', 1)[-1]}__{name[5:]}"] = func
    return found


globals().update(_pushing_tests())


@pytest.fixture(autouse=True)
def checked_pushes(monkeypatch: pytest.MonkeyPatch, shared: Any) -> Iterator[None]:
    for module in (helpers_attacks, *SOURCES):
        monkeypatch.setattr(module, "push", helpers_check.push_and_check, raising=False)
    monkeypatch.setattr(test_hostile_trees, "push_commit", lambda srv, sha: helpers_check.
                        push_and_check(srv.work, f"{sha}:refs/heads/main"))
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
