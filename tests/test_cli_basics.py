"""The command line as a git user meets it: help, version, exit codes, errors, colour."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from git_elite import __version__
from tests.conftest import SEEDS, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "docs"


def listed_commands() -> list[str]:
    text = run_cli("-h").stdout
    section = text.split("Commands:", 1)[1]
    return re.findall(r"^  (\S+)", section, flags=re.M)


def test_version() -> None:
    assert run_cli("--version").stdout.strip() == f"git-elite {__version__}"


def test_help_lists_commands_with_examples() -> None:
    names = listed_commands()
    assert {"id", "sign", "verify-file"} <= set(names)
    for name in names:
        for flag in ("-h", "--help"):
            proc = run_cli(name, flag)
            assert "Usage:" in proc.stdout and "Examples:" in proc.stdout, name


@pytest.mark.parametrize("sub", ["init", "show", "import", "did-document", "export-ssh",
                                 "rotate", "import-radicle", "export-radicle"])
def test_id_subcommand_help(sub: str) -> None:
    assert "Examples:" in run_cli("id", sub, "-h").stdout


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_git_help_shows_man_page() -> None:
    proc = run_cli("--help", env={"MANPAGER": "cat", "PAGER": "cat"}, check=None)
    assert "git-elite" in proc.stdout and "verify-file" in proc.stdout


@pytest.mark.parametrize("args", [["no-such-command"], ["id", "init", "--bogus"],
                                  ["verify-file"], ["sign"], ["id", "export-ssh", "-o", "x"]],
                         ids=["unknown-command", "unknown-option", "missing-files",
                              "missing-file", "o-without-private"])
def test_usage_errors_exit_2(args: list[str]) -> None:
    if args[0] == "id" and args[1] == "export-ssh":
        run_cli("id", "init", env={"AGENTD_KEYGEN_SEED": SEEDS["alice"]})
    proc = run_cli(*args, check=2)
    assert "Traceback" not in proc.stderr


def test_refusal_exit_1_and_traceback_only_with_verbose(tmp_path: Path) -> None:
    bad = FIXTURES / "identities" / "bad-chrysalis-example.json"
    quiet = run_cli("id", "import", str(bad), check=1)
    assert quiet.stderr.count("\n") == 1 and "Traceback" not in quiet.stderr
    loud = run_cli("-v", "id", "import", str(bad), check=1)
    assert "Traceback" in loud.stderr
    for proc in (quiet, loud):
        assert proc.returncode != 3


def test_sign_in_place_and_to_out(tmp_path: Path) -> None:
    run_cli("id", "init", env={"AGENTD_KEYGEN_SEED": SEEDS["bob"]})
    doc = tmp_path / "endorse.json"
    doc.write_text('{"type": "endorsement", "schema_version": 1, "task_types": ["*"], '
                   '"to": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", '
                   '"created_at": 1712345678, "revoked": false}')
    out = tmp_path / "signed.json"
    run_cli("sign", str(doc), "-o", str(out))
    assert "signature_ed25519" not in doc.read_text() and "signature_ed25519" in out.read_text()
    run_cli("verify-file", str(out))
    run_cli("sign", str(doc))
    assert doc.read_bytes() == out.read_bytes()


def test_sign_manifest_with_type_and_refusals(tmp_path: Path) -> None:
    run_cli("id", "init", env={"AGENTD_KEYGEN_SEED": SEEDS["alice"]})
    manifest = tmp_path / "m.json"
    manifest.write_bytes((FIXTURES / "manifest.json").read_bytes())
    run_cli("sign", "--type", "manifest", str(manifest))
    run_cli("verify-file", str(manifest))
    rotation = tmp_path / "r.json"
    rotation.write_bytes((FIXTURES / "rotation.json").read_bytes())
    assert "id rotate" in run_cli("sign", str(rotation), check=1).stderr
    run_cli("id", "init", "--force", env={"AGENTD_KEYGEN_SEED": SEEDS["eve"]})
    foreign = run_cli("sign", str(manifest), check=1)
    assert "owner_did" in foreign.stderr and foreign.stderr.count("\n") == 1
    assert "no such file" in run_cli("sign", str(tmp_path / "missing.json"), check=1).stderr


def test_no_colour_with_no_color(tmp_path: Path) -> None:
    proc = run_cli("verify-file", str(FIXTURES / "bad-manifest-bom.json"), check=1)
    assert "\x1b[" not in proc.stdout + proc.stderr
