"""Packaging loose ends (issue 16 item 11): the version the pre-commit framework is told to
use is a released one in CHANGELOG.md, and `make`'s installs stay quiet."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib

import pytest

from git_elite import __version__
from tests.conftest import ROOT


def test_versions_agree_and_are_in_the_changelog() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert project == __version__
    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = re.findall(r"^## (\d+\.\d+\.\d+) — \d{4}-\d\d-\d\d$", changelog, re.MULTILINE)
    assert __version__ in released or "## Unreleased" in changelog
    rev = re.search(r"rev: v(\S+)", (ROOT / ".pre-commit-hooks.yaml").read_text())
    assert rev is not None and rev.group(1) in released


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_installs_quietly() -> None:
    """`make demo`'s set-up: every pip run is -q and silences the build backend's warnings
    (setuptools prints a 10-line "Editable installation" banner despite -q)."""
    plan = subprocess.run(["make", "-n", "-B", ".venv/.installed-test"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout
    pips = [line for line in plan.splitlines() if "pip install" in line]
    assert len(pips) == 3
    assert all(line.startswith("PYTHONWARNINGS=ignore ") and " -q " in line for line in pips)
