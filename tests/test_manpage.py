"""docs/git-elite.1 cannot rot: every command has a section whose synopsis and option list
name every option and argument of the command's real `-h`, no section describes a command
that does not exist, and the page renders without groff warnings."""

from __future__ import annotations

import re
import shutil
import subprocess

import click
import pytest

from git_elite import __version__
from git_elite.cli.main import HIDDEN, group
from tests.conftest import ROOT, run_cli

PAGE = (ROOT / "docs" / "git-elite.1").read_text()
OPTION = re.compile(r"^  (-[-\w]+(?:, -[-\w]+)*)", re.MULTILINE)


def plain(troff: str) -> str:
    """Troff source as text: font escapes dropped, `\\-` as `-`."""
    return re.sub(r"\\f[BIRP]", "", troff).replace("\\-", "-")


def commands() -> list[str]:
    """Every visible command path (`publish`, `trust endorse`, …), from the real click group."""
    found: list[str] = []

    def walk(cmd: click.Command, path: list[str], ctx: click.Context) -> None:
        if not isinstance(cmd, click.Group):
            found.append(" ".join(path))
            return
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not (not path and name in HIDDEN):
                walk(sub, [*path, name], click.Context(sub, parent=ctx, info_name=name))

    walk(group, [], click.Context(group, info_name="git elite"))
    return found


def sections() -> dict[str, tuple[str, str]]:
    """`.SS "git elite <path>"` -> (synopsis, body), both as plain text."""
    out = {}
    for match in re.finditer(r'^\.SS "git elite ([^"]+)"\n(.*?)(?=^\.S[SH] )', PAGE,
                             re.MULTILINE | re.DOTALL):
        synopsis, _, body = match.group(2).partition("\n.PP\n")
        out[match.group(1)] = (plain(synopsis), plain(body))
    return out


def help_of(path: str) -> tuple[list[str], list[str]]:
    """(options, arguments) of `git elite <path> -h`, the real command's help."""
    text = run_cli(*path.split(), "-h").stdout
    usage = text.splitlines()[0]
    assert usage.startswith(f"Usage: git elite {path} [OPTIONS]"), usage
    arguments = re.findall(r"[A-Z][A-Z_]+", usage.split("[OPTIONS]", 1)[1])
    options = [o for line in OPTION.findall(text.split("\nOptions:\n", 1)[1])
               for o in line.split(", ") if o not in ("-h", "--help")]
    return options, arguments


def named(option: str, text: str) -> bool:
    return re.search(rf"(?<![-\w]){re.escape(option)}(?![-\w])", text) is not None


def test_every_command_has_a_section_and_every_section_a_command() -> None:
    assert sorted(sections()) == sorted(commands())


@pytest.mark.parametrize("path", commands(), ids=lambda p: p.replace(" ", "-"))
def test_section_names_every_option_and_argument(path: str) -> None:
    synopsis, body = sections()[path]
    assert synopsis.startswith(f".B git elite {path}\n") or synopsis == f".B git elite {path}"
    options, arguments = help_of(path)
    entries = re.findall(r"^\.TP\n(.*)$", body, re.MULTILINE)
    for option in options:
        assert named(option, synopsis), f"{option} missing from the synopsis of {path}"
        assert any(named(option, entry) for entry in entries), \
            f"{option} of {path} has no .TP entry in the man page"
    for argument in arguments:
        assert named(argument, synopsis), f"{argument} missing from the synopsis of {path}"
    described = {o for entry in entries for o in re.findall(r"(?<![-\w])-[-\w]+", entry)}
    assert described <= set(options), f"{path}: man page describes options -h does not have"


def test_global_options_and_version() -> None:
    text = run_cli("-h").stdout
    options = [o for line in OPTION.findall(text.split("\nOptions:\n", 1)[1])
               for o in line.split(", ")]
    head = plain(PAGE[PAGE.index(".SH OPTIONS"):PAGE.index(".SH COMMANDS")])
    assert all(named(option, head) for option in options), options
    assert f'"git-elite {__version__}"' in PAGE.splitlines()[0]


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff not installed")
def test_page_renders_without_warnings() -> None:
    proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(ROOT / "docs" /
                                                                      "git-elite.1")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
