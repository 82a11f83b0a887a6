"""verify7: what replaced the modules a second verify no longer loads gives what they gave.
cli/verifying.py's str-method tests are the regular expression and the core.radicle test
they replace; edges/verified's os.path stamp is the pathlib one; the memory files written
without `json` read back (docs/scale.md, "second verify, round 7")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
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


def _old_stamp(root: Path, dirs: list[str]) -> str:
    """edges/verified.stamp as it was (pathlib and hashlib), for an explicit root."""
    import hashlib
    import sys

    import git_elite

    schemas = root / "schemas"
    digest = hashlib.sha256(f"{git_elite.__version__} {sys.version}\n".encode())
    for path in [*sorted(root.rglob("*.py")), *sorted(schemas.glob("*")), *map(Path, dirs)]:
        if not path.exists():
            digest.update(f"{path} -\n".encode("utf-8", "surrogateescape"))
            continue
        st = path.stat()
        digest.update(f"{path} {st.st_size} {st.st_dev} {st.st_ino} {st.st_mtime_ns} "
                      f"{st.st_ctime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def test_stamp_is_the_pathlib_stamp(tmp_path: Path) -> None:
    """verify7's os.path stamp gives pathlib's digest (its order is by path parts: `a/b.py`
    before `a-c.py`), so a `code-version` line written before still matches."""
    from git_elite.edges import verified

    root = tmp_path / "pkg"
    for name in ("a/b.py", "a-c.py", "x.py", ".h.py", "b/__init__.py", "b/c/d.py",
                 "notes.txt", "schemas/s.json", "schemas/.d", "schemas/Z.json",
                 "schemas/sub/t.json"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    dirs = [str(tmp_path), str(tmp_path / "absent"), f"{tmp_path}/", f"{tmp_path}//pkg/./a",
            str(root / "x.py" / "y")]
    assert verified.stamp(root, dirs) == _old_stamp(root, dirs)
    (root / "a" / "b.py").write_text("changed")
    assert verified.stamp(root, dirs) == _old_stamp(root, dirs)


def test_root_commit_memory_is_json_dumps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    """freshness writes root-commits.json byte for byte as `json.dumps(kept) + "\\n"`."""
    import json

    from git_elite.edges import freshness

    monkeypatch.setenv("AGENTD_HOME", str(tmp_path / "home"))
    known = {f"{n:040x}": f"{n + 1:064x}" for n in range(3)}
    freshness._remember_root(known, "f" * 40, "e" * 40)
    kept = {**known, "f" * 40: "e" * 40}
    written = (tmp_path / "home" / "cache" / "root-commits.json").read_bytes()
    assert written == (json.dumps(kept) + "\n").encode()
    assert freshness._roots() == kept


def test_memory_file_round_trip(tmp_path: Path) -> None:
    """The memory written by cjson's encoder (non-ASCII as itself) reads back as written;
    a value json.dumps would write with a NaN is not remembered (nothing written)."""
    from git_elite.core import audit
    from git_elite.edges import verified

    memo = audit.PieceMemo("k1", {"agents": 1, "sha256": "0" * 64}, 1, {"score": 1})
    ranked = {"ab" + "0" * 62: {"name": "Zoë ✓ \ud800"}}
    remembered = audit.Remembered({"ab": memo}, {"score": 1}, {"score": []}, {}, ranked,
                                  ("1" * 64, "2" * 64))
    path = tmp_path / "m.json"
    verified.FileMemory(str(path), "key").keep(remembered)
    assert "Zoë ✓".encode() in path.read_bytes()
    assert verified.FileMemory(str(path), "key").recall() == remembered
    nan = remembered._replace(ranked={"ab": {"score": float("nan")}})
    verified.FileMemory(str(tmp_path / "n.json"), "key").keep(nan)
    assert not (tmp_path / "n.json").exists()
