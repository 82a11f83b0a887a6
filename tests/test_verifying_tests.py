"""cli/verifying.py's str-method tests are the regular expression and the core.radicle test
they replace (verify loads neither `re` nor core.radicle on a local registry's path)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from git_elite.cli import verifying
from git_elite.core import radicle

URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^[^/\s]+@[^/\s]+:")  # the pattern verify used

# the characters that matter to either test, and some that must not
PIECES = st.sampled_from(["a", "z", "A", "0", "9", "+", ".", "-", ":", "/", "@", "rad", "z6M",
                          "://", " ", "\t", "\n", "\u00a0", "\u2003", "é", "_", "~", "git"])
TEXT = st.one_of(st.text(), st.lists(PIECES, max_size=12).map("".join))


@given(TEXT)
def test_is_url_is_the_regex(target: str) -> None:
    assert verifying.is_url(target) == bool(URL.match(target))


@given(TEXT)
def test_is_rad_url_is_radicles(target: str) -> None:
    assert verifying.is_rad_url(target) == radicle.is_rad_url(target)


def test_examples() -> None:
    yes = ["https://example.com/r.git", "git+ssh://h/r", "a://", "git@github.com:o/r.git",
           "u@h:", "a@@b:", "x@y:z/w"]
    no = ["", "/srv/r.git", "./r.git", "Https://x", "1a://x", "@h:x", "u@:x", "u@h/x:y",
          "u @h:x", "u@h", "rad:z6Mk", "C:\\r", "a/b@c:d"]
    for target in yes:
        assert verifying.is_url(target) and URL.match(target), target
    for target in no:
        assert not verifying.is_url(target) and not URL.match(target), target
    assert verifying.is_rad_url("rad:z6MkX") and verifying.is_rad_url("rad://z6MkX")
    assert not verifying.is_rad_url("rad:x") and not verifying.is_rad_url("./rad:z")
