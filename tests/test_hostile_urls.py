"""No credentials in signed documents or messages (issue 17, item 5; f5.sh): a token in the
agent project's remote URL is never signed into `repo_ref`, a URL that still looks like it
carries one is refused, and no URL printed by git elite shows its credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from git_elite.core.safetext import clean_url, escape, redact, secret_in
from tests.conftest import git, run_cli
from tests.helpers_pipeline import fixture_args
from tests.helpers_publish import agent_project, local_manifest
from tests.helpers_registry import make_identity, make_server

TOKEN = "ghp_SECRETtoken1234567890"


@pytest.mark.parametrize(("url", "want"), [
    (f"https://alice:{TOKEN}@github.com/a/b.git", "https://github.com/a/b.git"),
    (f"https://{TOKEN}@github.com/a/b.git", "https://github.com/a/b.git"),
    ("http://u:p@127.0.0.1:8080/r.git", "http://127.0.0.1:8080/r.git"),
    ("ssh://git@host/r.git", "ssh://git@host/r.git"),
    ("ssh://git:pw@host/r.git", "ssh://host/r.git"),
    ("git@github.com:a/b.git", "git@github.com:a/b.git"),
    ("https://h/r.git?private_token=abc&x=1", "https://h/r.git?private_token=<redacted>&x=1"),
    ("see https://h/r?access_token=zz#f and https://k:v@h/", "see https://h/r?"
     "access_token=<redacted>#f and https://h/"),
], ids=["user-token", "token-as-user", "http-password", "ssh-user-kept", "ssh-password",
        "scp-like", "query-token", "in-a-sentence"])
def test_redact_table(url: str, want: str) -> None:
    assert redact(url) == want
    assert escape(url) == want


@pytest.mark.parametrize(("url", "want"), [
    (f"https://alice:{TOKEN}@github.com/a/b.git", "https://github.com/a/b.git"),
    ("https://h/r.git?private_token=abc#frag", "https://h/r.git"),
    ("git@github.com:a/b.git", "git@github.com:a/b.git"),
    ("/srv/git/agents", "/srv/git/agents"),
], ids=["userinfo", "query-and-fragment", "scp-like", "path"])
def test_clean_url_table(url: str, want: str) -> None:
    assert clean_url(url) == want


@pytest.mark.parametrize("text", [TOKEN, "github_pat_11AAAAAAA0abcdef", "glpat-abcdefgh123",
                                  "xoxb-12345678-abcd", "AKIAABCDEFGHIJKLMNOP",
                                  "sk-abcdefghijklmnop1234", "eyJhbGciOiJI.eyJzdWIiOiIx"],
                         ids=["github", "github-pat", "gitlab", "slack", "aws", "sk-key", "jwt"])
def test_secret_shapes(text: str) -> None:
    assert secret_in(f"https://host/{text}/repo.git") == text


def test_plain_urls_are_not_secrets() -> None:
    assert secret_in("https://github.com/alice/agents.git") is None


def _setup(tmp_path: Path, url: str) -> tuple[Path, Path]:
    _, server = make_server(tmp_path)
    make_identity("alice")
    return server, agent_project(tmp_path, url=url)


def test_publish_strips_the_token_from_repo_ref(tmp_path: Path) -> None:
    server, project = _setup(tmp_path, f"https://alice:{TOKEN}@github.com/alice/agents.git")
    proc = run_cli("publish", "--from-evals", *fixture_args(), "--registry", str(server),
                   cwd=project)
    assert TOKEN not in proc.stdout + proc.stderr
    grep = git("grep", "-c", "ghp_", "main", cwd=server, check=False)
    assert grep.returncode == 1, grep.stdout  # no blob on the server mentions the token
    agents = [line.split()[-1] for line in proc.stdout.splitlines()]
    assert agents
    for agent in agents:
        assert local_manifest(agent)["repo_ref"]["url"] == "https://github.com/alice/agents.git"


def test_publish_refuses_a_url_that_still_carries_a_token(tmp_path: Path) -> None:
    server, project = _setup(tmp_path, f"https://github.com/{TOKEN}/agents.git")
    before = git("rev-parse", "main", cwd=server).stdout
    proc = run_cli("publish", "--from-evals", *fixture_args(), "--registry", str(server),
                   cwd=project, check=1)
    assert "still looks like it carries a credential" in proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr and "ghp_<redacted>" in proc.stderr
    assert len(proc.stderr.strip().splitlines()[-1:]) == 1
    assert git("rev-parse", "main", cwd=server).stdout == before


def test_discover_never_prints_a_registry_password() -> None:
    proc = run_cli("discover", "--registry", "https://bob:ghp_OTHERsecret99@127.0.0.1:1/r.git",
                   check=None)
    assert "ghp_OTHER" not in proc.stdout + proc.stderr
    assert "https://127.0.0.1:1/r.git" in proc.stderr
