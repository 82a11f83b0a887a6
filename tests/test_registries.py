"""`git elite registry add|list`, registries.yaml and git config elite.registry.*."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from git_elite.core.errors import EliteError
from git_elite.edges import known_registries
from tests.conftest import git, run_cli


def listed(cwd: Path | None = None) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = json.loads(run_cli("registry", "list", "--json", cwd=cwd).stdout)
    return rows


@pytest.mark.parametrize("url", [
    "file:///srv/elites.git", "ssh://git@example.org/elites.git", "https://example.org/e.git",
    "rad://z3gqcJUoA1n9HaHKufZs5FCSGazv5", "git@example.org:team/elites.git",
], ids=["file", "ssh", "https", "rad", "scp-like"])
def test_add_keeps_urls(url: str) -> None:
    run_cli("registry", "add", "main", url, "--branch", "main")
    assert listed() == [{"name": "main", "url": url, "branch": "main", "source": "yaml"}]


def test_add_makes_paths_absolute_and_replaces_by_name(tmp_path: Path) -> None:
    run_cli("registry", "add", "local", "elites", cwd=tmp_path)
    run_cli("registry", "add", "other", "https://example.org/o.git")
    run_cli("registry", "add", "local", "../elites2", cwd=tmp_path)
    rows = listed()
    assert [r["name"] for r in rows] == ["other", "local"]
    assert rows[1]["url"] == str((tmp_path.parent / "elites2").resolve())
    saved = (Path(os.environ["AGENTD_HOME"]) / "registries.yaml").read_text()
    assert saved.startswith("registries:") and "elites2" in saved


def test_git_config_registries_override_yaml(tmp_path: Path) -> None:
    run_cli("registry", "add", "team", "https://example.org/yaml.git")
    git("init", "-q", str(tmp_path / "repo"))
    git("config", "elite.registry.team.url", "ssh://git@example.org/cfg.git", cwd=tmp_path / "repo")
    git("config", "elite.registry.team.branch", "elites", cwd=tmp_path / "repo")
    git("config", "--global", "elite.registry.global.url", "file:///srv/g.git")
    assert listed(tmp_path / "repo") == [
        {"name": "team", "url": "ssh://git@example.org/cfg.git", "branch": "elites",
         "source": "git-config"},
        {"name": "global", "url": "file:///srv/g.git", "source": "git-config"}]
    assert run_cli("registry", "list", cwd=tmp_path / "repo").stdout.count("git-config") == 2


def test_resolve_names_urls_and_paths(tmp_path: Path) -> None:
    known_registries.add("main", "https://example.org/chrysalis-elites.git", None)
    assert known_registries.resolve("main").url == "https://example.org/chrysalis-elites.git"
    adhoc = known_registries.resolve("ssh://git@example.org/x/team-elites.git")
    assert (adhoc.name, adhoc.source) == ("team-elites", "url")
    (tmp_path / "reg").mkdir()
    assert known_registries.resolve(str(tmp_path / "reg")).url == str(tmp_path / "reg")
    with pytest.raises(EliteError, match="unknown registry 'nope'"):
        known_registries.resolve("nope")


@pytest.mark.parametrize(("text", "message"), [
    ("registries: {a: 1}", "expected `registries:"),
    ("registries: [{name: a}]", "string name and url"),
    ("registries: [{name: a, url: u, extra: 1}]", "string name and url"),
    ("registries: [{name: 'a b', url: u}]", "registry name"),
    ("registries: [", "not valid YAML"),
], ids=["not-list", "no-url", "unknown-field", "bad-name", "bad-yaml"])
def test_bad_registries_yaml(text: str, message: str) -> None:
    home = Path(os.environ["AGENTD_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "registries.yaml").write_text(text)
    proc = run_cli("registry", "list", check=None)
    assert proc.returncode in (1, 2) and message in proc.stderr and "Traceback" not in proc.stderr


def test_bad_name_is_a_usage_error() -> None:
    assert "registry name" in run_cli("registry", "add", "a/b", "x", check=2).stderr
