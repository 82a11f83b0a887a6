"""discover7: what took `re`, `json` and `subprocess` off `discover --offline` answers as
they did. Each replacement is held to the library call it stands for: output.indented to
`json.dumps(indent=2, ensure_ascii=False)`, the str.translate escapes to the regular
expressions they replace, the str tests of registry names, scp-like URLs and fastpath's
numbers to their patterns, and `git -C DIR` through edges/spawn to `subprocess` in DIR."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_elite.cli import fastpath
from git_elite.core import logrole, safetext
from git_elite.core.errors import RegistryError
from git_elite.edges import catfile, git, known_registries, output
from tests.conftest import git as run_git

# the patterns the str methods replace, as they were
UNSAFE = "\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}
JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
COUNT = re.compile(r"[0-9]{1,18}")
RATE = re.compile(r"[0-9]{1,18}(\.[0-9]{0,18})?|\.[0-9]{1,18}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def escaped(text: str, keep_newlines: bool = False) -> str:
    def visible(match: re.Match[str]) -> str:
        char = match.group()
        return NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100
                                   else f"\\u{ord(char):04x}")

    pattern = f"[{UNSAFE}]" if keep_newlines else f"[{UNSAFE}\n]"
    return re.sub(pattern, visible, safetext.redact(text))


def test_escape_is_the_regular_expression_for_every_character() -> None:
    every = "".join(chr(c) for c in range(0x3000)) + "\U0001f600\ufeff\u200f"
    for keep in (False, True):
        assert safetext.escape(every, keep_newlines=keep) == escaped(every, keep)
    assert output.json_safe(every) == JSON_UNSAFE.sub(
        lambda m: f"\\u{ord(m.group()):04x}", every)


@given(st.text())
def test_escape_of_any_text(text: str) -> None:
    assert safetext.escape(text) == escaped(text)
    assert safetext.escape(text, keep_newlines=True) == escaped(text, True)


def test_urls_still_lose_their_credentials() -> None:
    line = "fetch https://me:ghp_abcdefgh123@host/r.git?token=s3cret&x=1 failed\x1b[2J"
    assert safetext.escape(line) == \
        "fetch https://host/r.git?token=<redacted>&x=1 failed\\e[2J"
    assert safetext.clean_url("https://u:p@h/x?q#f") == "https://h/x"
    assert safetext.secret_in("x sk-abcdefghijklmnopqrstu y") == "sk-abcdefghijklmnopqrstu"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() |
    st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)
    | st.tuples(inner, inner), max_leaves=30)


@settings(max_examples=300)
@given(JSON)
def test_indented_is_json_dumps(value: Any) -> None:
    assert output.indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


DEEP: Any = 1
for _ in range(70):  # past output.indented's nesting bound
    DEEP = [DEEP]


class Number(int):
    def __repr__(self) -> str:
        return "Number()"


@pytest.mark.parametrize("value", [
    {"nan": math.nan}, [math.inf, -math.inf], {1: "int key"}, {None: 0, True: 1, 2.5: 2},
    [Number(3)], {"a": DEEP},
    "a\u2028b\x7f\x1b\"\\", [], {}, [[], {}], 10**30, -0.0, 1e300, 5e-324],
    ids=["nan", "infinities", "int-key", "other-keys", "int-subclass", "deep",
         "controls", "empty-list", "empty-dict", "empties", "big-int", "minus-zero",
         "big-float", "tiny-float"])
def test_indented_leaves_the_rest_to_json(value: Any) -> None:
    assert output.indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_indented_errors_are_jsons() -> None:
    loop: list[Any] = []
    loop.append(loop)
    for bad in (loop, {"x": object()}, {(1, 2): 3}):
        with pytest.raises((ValueError, TypeError)) as ours:
            output.indented(bad)
        with pytest.raises((ValueError, TypeError)) as theirs:
            json.dumps(bad, indent=2, ensure_ascii=False)
        assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))


NUMBERS = st.text(alphabet="0123456789.-+ _e", max_size=40) | \
    st.from_regex(r"[0-9]{0,20}(\.[0-9]{0,20})?", fullmatch=True)


@given(NUMBERS)
def test_fastpath_numbers_are_the_patterns(text: str) -> None:
    assert fastpath._count_text(text) == bool(COUNT.fullmatch(text))
    assert fastpath._rate_text(text) == bool(RATE.fullmatch(text))


@given(st.text(alphabet="ahtps+~!*,-/:= \x7f\n", max_size=12) |
       st.from_regex(r"https?://[!-~]{0,5}", fullmatch=True))
def test_log_role_names_and_urls_are_the_patterns(text: str) -> None:
    assert logrole.NAME.fullmatch(text) == bool(re.fullmatch(r"[!-*,-~]{1,255}", text))
    assert logrole.URL.fullmatch(text) == bool(re.fullmatch(r"https?://[!-~]+", text))
    long = "a" * 255
    assert logrole.NAME.fullmatch(long) and not logrole.NAME.fullmatch(long + "a")


@given(st.text(alphabet="aZ09._-/:@ \n\u00e9", max_size=70) |
       st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{60,66}", fullmatch=True))
def test_registry_names_urls_and_stems_are_the_patterns(text: str) -> None:
    assert known_registries.NAME.fullmatch(text) == bool(NAME.fullmatch(text))
    assert known_registries._scp_like(text) == bool(re.match(r"^[^/:]+:(?!//)", text))
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", text.rstrip("/").rsplit("/", 1)[-1]).strip("-.")
    assert known_registries._ad_hoc(text, "url").name == (stem.removesuffix(".git")
                                                           or "registry")


def test_git_in_another_directory_answers_as_subprocess_did(tmp_path: Path) -> None:
    """`git -C DIR` through edges/spawn: the same output, status and error as `subprocess`
    run in DIR; a DIR that is not a directory still goes to `subprocess` (its error)."""
    repo = tmp_path / "r"
    run_git("init", "-q", str(repo), cwd=tmp_path)
    for args in (["rev-parse", "--show-toplevel", "--absolute-git-dir"],
                 ["for-each-ref", "--format=%(refname)"], ["cat-file", "-t", "HEAD"],
                 ["rev-parse", "--verify", "-q", "nothing"]):
        ours = git.run(args, repo, check=False)
        theirs = subprocess.run(["git", *args], cwd=repo, capture_output=True, check=False)
        assert (ours.returncode, ours.stdout, ours.stderr, ours.args) == \
            (theirs.returncode, theirs.stdout, theirs.stderr, theirs.args)
    relative = os.path.relpath(repo)
    assert git.run(["rev-parse", "--show-toplevel"], relative).stdout.strip() == \
        str(repo).encode()
    assert git.at(repo, ["x"]) == ["git", "-C", str(repo), "x"] and git.at(None, ["x"]) == \
        ["git", "x"]
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(RegistryError, match="not a git repository"):
        git.run(["rev-parse", "HEAD"], plain)
    with pytest.raises(RegistryError, match="git is not installed"):  # as before
        git.run(["rev-parse", "HEAD"], tmp_path / "absent")
    assert not git.spawnable(tmp_path / "absent") and not git.spawnable("")
    reader = catfile.CatRepo(str(repo / ".git"), str(repo), cwd=str(repo))
    try:
        assert reader.odb.proc.args == ["git", "-C", str(repo), "cat-file", "--batch-command"]
        with pytest.raises(KeyError):
            reader.odb.read("0" * 40)
    finally:
        reader.close()


@given(st.text(alphabet="/.a~ ", max_size=12))
def test_home_paths_are_pathlibs(text: str) -> None:
    """store.as_path is `str(PurePosixPath(text))`: `$AGENTD_HOME` and the paths under it
    read by os.path name the files pathlib named (and the messages say them alike)."""
    from pathlib import PurePosixPath

    from git_elite.edges import store

    assert store.as_path(text) == str(PurePosixPath(text))


@pytest.mark.parametrize("home", ["/tmp/h", "/tmp//h/", "./rel/./h", "//net/h", "rel"])
def test_home_dir_is_str_of_home(home: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from git_elite.edges import store

    monkeypatch.setenv("AGENTD_HOME", home)
    assert store.home_dir() == str(store.home())
    registry = known_registries.Registry("r", "/srv/r.git", None, "url")
    digest = hashlib.sha256(b"/srv/r.git").hexdigest()[:10]
    assert registry.cache == str(store.home() / "cache" / "registries" / f"r-{digest}.git")
    assert known_registries.Registry("n", "/x").cache == \
        str(store.home() / "cache" / "registries" / "n.git")
    monkeypatch.delenv("AGENTD_HOME")
    assert store.home_dir() == str(store.home())
