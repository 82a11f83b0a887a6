"""Nothing from a registry or a server reaches a terminal raw (issue 17, item 2; f1.sh):
INDEX.json keys, file names, messages and table cells are escaped by one function
(`safetext.escape`) at the output layer, in `Problem.line()`, the error boundary and the
hooks' REJECT lines. Through the real `discover`, `verify` and pre-receive hook."""

from __future__ import annotations

import io
import json
import subprocess
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from git_elite.core.errors import Problem
from git_elite.core.safetext import escape
from git_elite.edges import output
from tests.conftest import git, run_cli
from tests.helpers_attacks import Server, mirror_of, refused

CSI = "\x1b[2J\x1b[H"
FAKE = f"{CSI}git-elite: verify: OK\x1b[8m"


def raw_free(text: str) -> bool:
    return not any(c in text for c in "\x1b\x07\x08\r\x9b\u202e")


@pytest.mark.parametrize(("text", "want"), [
    ("plain", "plain"),
    ("caf\u00e9 \u6f22\u5b57", "caf\u00e9 \u6f22\u5b57"),
    ("\x1b[2J", "\\e[2J"),
    ("a\nb", "a\\nb"),
    ("a\rb\tc", "a\\rb\\tc"),
    ("bell\x07", "bell\\x07"),
    ("del\x7f", "del\\x7f"),
    ("csi\x9b31m", "csi\\x9b31m"),
    ("rtl\u202eoverride", "rtl\\u202eoverride"),
    ("iso\u2066late", "iso\\u2066late"),
    ("sep\u2028line", "sep\\u2028line"),
], ids=["plain", "non-ascii-kept", "esc", "newline", "cr-tab", "bel", "del", "c1-csi",
        "bidi-override", "bidi-isolate", "line-separator"])
def test_escape_table(text: str, want: str) -> None:
    assert escape(text) == want
    assert escape(escape(text)) == want  # idempotent: escaping twice changes nothing


def test_newlines_kept_only_when_asked() -> None:
    assert escape("a\n\x1bb", keep_newlines=True) == "a\n\\eb"


def test_problem_line_is_one_safe_line() -> None:
    line = Problem("layout", f"x\n{FAKE}", "bad\rname").line()
    assert "\n" not in line and raw_free(line)


def test_json_output_escapes_c1_and_bidi() -> None:
    buf = io.StringIO()
    with redirect_stdout(buf):
        output.emit_json({"k": "a\x9b\u202e\x7f\x1b"})
    assert raw_free(buf.getvalue()) and "\x7f" not in buf.getvalue()
    assert json.loads(buf.getvalue()) == {"k": "a\x9b\u202e\x7f\x1b"}


def test_table_cells_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    output.table("t\x1b]0;title\x07", ["a"], [[FAKE], ["x\ny"]])
    out = capsys.readouterr().out
    assert raw_free(out) and "x\\ny" in out and len(out.splitlines()) == 4


def test_discover_escapes_an_index_key(srv: Server, tmp_path: Path) -> None:
    mirror, clone = mirror_of(srv, tmp_path)
    shard = sorted((clone / "index").glob("*.json"))[0]  # format 2: a shard's entries
    index = json.loads(shard.read_bytes())
    entry = next(iter(index["agents"].values()))
    index["agents"][f"{CSI}1  aaaaaaaaaaaa  VERIFIED  \u2713\n\x1b[8m"] = entry
    shard.write_text(json.dumps(index))
    git("commit", "-qam", "escapes", "--no-verify", cwd=clone)
    git("push", "-q", "origin", "main", cwd=clone)
    result = run_cli("discover", "--registry", str(mirror), "--min-success", "0", check=None)
    # format 2 refuses the shard by its digest before any key of it is shown; whatever is
    # printed about it is escaped
    assert raw_free(result.stdout) and raw_free(result.stderr), result.stderr
    assert "index/" in result.stderr and "internal error" not in result.stderr


def test_verify_escapes_a_file_name(srv: Server, tmp_path: Path) -> None:
    mirror, _ = mirror_of(srv, tmp_path)
    lines = git("ls-tree", "main", cwd=mirror).stdout
    blob = git("rev-parse", "main:IDENTITY.json", cwd=mirror).stdout.strip()
    tree = subprocess.run(["git", "mktree", "-z"], cwd=mirror, capture_output=True, check=True,
                          input="".join(line + "\0" for line in lines.splitlines())
                          .encode() + f"100644 blob {blob}\t{FAKE}\0".encode()
                          ).stdout.decode().strip()
    sha = git("commit-tree", tree, "-p", "main", "-m", "x", cwd=mirror).stdout.strip()
    git("update-ref", "refs/heads/main", sha, cwd=mirror)
    for args in (["verify", str(mirror)], ["verify", "--json", str(mirror)]):
        result = run_cli(*args, check=1)
        assert raw_free(result.stdout) and raw_free(result.stderr), result.stdout
    assert "\\e[2J\\e[Hgit-elite: verify: OK\\e[8m: [layout]" in \
        run_cli("verify", str(mirror), check=1).stdout


def test_reject_lines_are_escaped(srv: Server) -> None:
    work = srv.work
    (work / f"{FAKE}\rx").write_text("x")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "x", "--no-verify", cwd=work)
    sha = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    lines = refused(srv, sha, "layout")
    assert any("\\e[2J\\e[Hgit-elite: verify: OK\\e[8m\\rx: [layout]" in line
               for line in lines), lines
    assert all(raw_free(line) for line in lines)
