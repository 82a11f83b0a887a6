"""Issue 16 through the installed command line: nothing of the user's destroyed (1), the
fixture story said plainly (2), short ids (4), your own identity trusted (5), getting
unstuck (6), finishing a key rotation (7), registries named like git remotes (8)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from git_elite.core import documents
from tests.conftest import git, run_cli
from tests.helpers_pipeline import FIXTURES, NOW
from tests.helpers_publish import elite_root, index, local_manifest, show, tip, write_agent
from tests.helpers_registry import T0, key, make_identity, make_server, nid

EVALS = ["--evals", str(FIXTURES / "racket" / "evals.jsonl"), "--evals", str(FIXTURES / "ts"),
         "--agents", str(FIXTURES / "agents.yaml")]


# 1. never destroy a user's files -------------------------------------------------------
def test_init_refuses_an_existing_project_and_leaves_it_untouched(tmp_path: Path) -> None:
    make_identity("alice")
    project = tmp_path / "my-agent"
    (project / "prompts").mkdir(parents=True)
    (project / "README.md").write_text("my project\n")
    (project / "prompts" / "coder.md").write_text("be careful\n")
    proc = run_cli("init", ".", cwd=project, check=1)
    assert proc.stderr.startswith("git-elite: error: ")
    assert "not empty (README.md, prompts)" in proc.stderr and "--force" in proc.stderr
    assert (project / "README.md").read_text() == "my project\n"
    assert sorted(p.name for p in project.iterdir()) == ["README.md", "prompts"]


def test_init_takes_a_new_or_freshly_git_inited_directory(tmp_path: Path) -> None:
    make_identity("alice")
    run_cli("init", str(tmp_path / "new"))
    fresh = tmp_path / "fresh"
    git("init", "-q", str(fresh))
    run_cli("init", str(fresh))
    assert (fresh / "IDENTITY.json").is_file()


def test_init_force_creates_in_a_non_empty_directory(tmp_path: Path) -> None:
    make_identity("alice")
    folder = tmp_path / "reg"
    folder.mkdir()
    (folder / "notes.txt").write_text("x\n")
    run_cli("init", str(folder), "--force")
    assert (folder / "IDENTITY.json").is_file() and (folder / "notes.txt").is_file()


def test_export_ssh_never_overwrites_a_key_without_force(tmp_path: Path) -> None:
    make_identity("alice")
    ssh = tmp_path / "ssh"
    ssh.mkdir()
    other = ssh / "id_ed25519"
    other.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsomeone else's\n")
    proc = run_cli("id", "export-ssh", "--private", "-o", str(other), check=1)
    assert "already exist" in proc.stderr and "--force" in proc.stderr
    assert "someone else's" in other.read_text()
    assert not (ssh / "id_ed25519.pub").exists()
    run_cli("id", "export-ssh", "--private", "-o", str(other), "--force")
    public = (ssh / "id_ed25519.pub").read_text().split()
    assert public[:2] == run_cli("id", "export-ssh").stdout.split()[:2]
    assert other.stat().st_mode & 0o777 == 0o600
    derived = ssh_keygen_public(other)
    if derived is not None:
        assert derived.split()[:2] == public[:2]  # the .pub is the private key's own


def ssh_keygen_public(private: Path) -> str | None:
    import shutil
    import subprocess

    if shutil.which("ssh-keygen") is None:
        return None
    return subprocess.run(["ssh-keygen", "-y", "-f", str(private)], capture_output=True,
                          text=True, check=True).stdout


def test_sign_output_never_replaces_an_existing_file(tmp_path: Path) -> None:
    make_identity("alice")
    from tests.helpers_registry import profile

    doc = tmp_path / "profile.json"
    doc.write_bytes(documents.to_bytes(profile(1)))
    out = tmp_path / "kept.json"
    out.write_text("mine\n")
    proc = run_cli("sign", str(doc), "--type", "agent-config", "-o", str(out), check=None)
    assert proc.returncode == 1 and "already exists" in proc.stderr
    assert out.read_text() == "mine\n"


# 2. the story said plainly ---------------------------------------------------------------
def test_generate_on_old_logs_says_0_of_n_and_how_to_judge_them(tmp_path: Path) -> None:
    make_identity("alice")
    proc = run_cli("generate", *EVALS, cwd=tmp_path)
    assert "0 of 6 agent(s) qualified, no manifest written (recent_tasks_7d failed for 6" \
        in proc.stderr, proc.stderr
    assert "pass --now" in proc.stderr and "--all writes every agent" in proc.stderr
    publish = run_cli("publish", "--registry", str(tmp_path / "nowhere"), check=1)
    home = os.environ["AGENTD_HOME"]
    assert f"no manifests in {home}/elite" in publish.stderr
    assert "$AGENTD_HOME" not in publish.stderr + proc.stderr


def test_generate_says_when_it_replaces_a_manifest(tmp_path: Path) -> None:
    make_identity("alice")
    run_cli("generate", *EVALS, "--now", str(NOW), cwd=tmp_path)
    proc = run_cli("generate", *EVALS, "--now", str(NOW + 60), cwd=tmp_path)
    replaced = [line for line in proc.stderr.splitlines() if "replacing" in line]
    assert len(replaced) == 2 and f"(created_at {NOW} -> {NOW + 60})" in replaced[0]


# 4. short ids ----------------------------------------------------------------------------
def _published(tmp_path: Path, owner: str = "alice", count: int = 2) -> tuple[Path, list[str]]:
    _, server = make_server(tmp_path)
    make_identity(owner)
    agents = [write_agent(owner, n) for n in range(1, count + 1)]
    run_cli("publish", "--registry", str(server))
    return server, agents


def test_import_and_unpublish_take_a_short_id(tmp_path: Path) -> None:
    server, (first, second) = _published(tmp_path)
    proc = run_cli("import", first[:8], "--registry", str(server))
    target = Path(os.environ["AGENTD_HOME"]) / "elite" / "imported" / first
    assert proc.stdout.strip() == str(target) and (target / "manifest.json").is_file()
    gone = run_cli("unpublish", second[:12], "--registry", str(server))
    assert f"withdrawn  {second}" in gone.stdout
    assert show(server, f"agents/{second[:2]}/{second}/tombstone.json") is not None


@pytest.mark.parametrize(("typed", "code", "says"), [
    ("abc", 2, "prefix of at least 8"),
    ("zzzzzzzzzz", 2, "is not an agent id"),
    ("0000000000", 1, "no agent id starting with 0000000000"),
], ids=["too-short", "not-hex", "no-match"])
def test_short_id_bad_input(tmp_path: Path, typed: str, code: int, says: str) -> None:
    server, _ = _published(tmp_path, count=1)
    proc = run_cli("import", typed, "--registry", str(server), check=code)
    assert says in proc.stderr and proc.stderr.startswith("git-elite: error: ")


def test_ambiguous_short_id_lists_the_matches(tmp_path: Path) -> None:
    server, _ = _published(tmp_path, count=1)
    twins = ["deadbeef" + "0" * 56, "deadbeef" + "1" * 56]
    for name in twins:
        (elite_root() / name).mkdir(parents=True)
    proc = run_cli("unpublish", "deadbeef", "--registry", str(server), check=1)
    assert "short agent id deadbeef is ambiguous" in proc.stderr
    assert all(t[:16] in proc.stderr for t in twins) and "type more characters" in proc.stderr


# 5. your own identity is yours -----------------------------------------------------------
def test_own_identity_is_trusted_as_you(tmp_path: Path) -> None:
    server, (first, _) = _published(tmp_path)
    rows = json.loads(run_cli("discover", "--registry", str(server), "--json").stdout)
    assert all(r["trusted"] and r["trust_path"] == [key("alice").did] for r in rows)
    table = run_cli("discover", "--registry", str(server)).stdout
    assert " you " in table.splitlines()[1] and "✓" in table.splitlines()[1]
    run_cli("import", first, "--registry", str(server))  # no --allow-untrusted needed
    explained = run_cli("trust", "explain", key("alice").did)
    assert "is trusted for *" in explained.stdout and "(you: this node's identity)" \
        in explained.stdout
    assert "is NOT trusted for *\n" in run_cli("trust", "explain", key("bob").did,
                                                 check=1).stdout


# 6. getting unstuck ----------------------------------------------------------------------
def test_stale_local_manifest_is_refused_once_with_what_to_do(tmp_path: Path) -> None:
    server, (first,) = _published(tmp_path, count=1)
    before = tip(server)
    write_agent("alice", 1, created_at=T0 - 5000)  # an older eval window than the registry's
    proc = run_cli("publish", "--registry", str(server), check=1)
    assert proc.stdout == ""
    refused = [line for line in proc.stderr.splitlines() if first in line and "[rollback]"
               in line]
    assert len(refused) == 1 and "regenerate it" in refused[0] and "skip it" in refused[0]
    assert "REJECT" not in proc.stderr and str(elite_root()) in refused[0]
    assert tip(server) == before


# 7. finishing a key rotation -------------------------------------------------------------
def test_rotate_publishes_the_statement_and_publish_resigns_old_manifests(
        tmp_path: Path) -> None:
    server, (first,) = _published(tmp_path, count=1)
    old = key("alice").did
    proc = run_cli("id", "rotate", "--registry", str(server),
                   env={"AGENTD_KEYGEN_SEED": "77" * 32})
    new = proc.stdout.splitlines()[0]
    rotation = show(server, f"identities/{nid('alice')}/rotation.json")
    assert rotation is not None and json.loads(rotation)["to"] == new
    again = run_cli("publish", "--registry", str(server))
    assert f"published  {first}" in again.stdout
    assert f"owned by your rotated key {old}; re-signed by {new}" in again.stderr
    assert local_manifest(first)["owner_did"] == new
    pushed = show(server, f"agents/{first[:2]}/{first}/manifest.json") or b""
    assert json.loads(pushed)["owner_did"] == new
    run_cli("verify", "--history", str(server))


def test_publish_carries_the_rotation_when_rotate_did_not_push_it(tmp_path: Path) -> None:
    server, (first,) = _published(tmp_path, count=1)
    proc = run_cli("id", "rotate", env={"AGENTD_KEYGEN_SEED": "78" * 32})
    assert f"identities/{nid('alice')}/rotation.json" in proc.stderr
    again = run_cli("publish", "--registry", str(server))
    assert f"published  identities/{nid('alice')}/rotation.json" in again.stdout
    assert f"published  {first}" in again.stdout
    assert first in index(server)["agents"]


# 8. registries named like git remotes ----------------------------------------------------
def test_registry_origin_inside_a_clone_is_its_remote(tmp_path: Path) -> None:
    work, server = make_server(tmp_path)
    make_identity("alice")
    agent = write_agent("alice", 1)
    clone = tmp_path / "clone"
    git("clone", "-q", str(server), str(clone))
    proc = run_cli("publish", "--registry", "origin", cwd=clone)
    assert f"published  {agent}" in proc.stdout
    outside = run_cli("publish", "--registry", "origin", cwd=tmp_path, check=1)
    assert "unknown registry 'origin': not a known registry nor a git remote" in outside.stderr
    assert work.is_dir()


def test_push_to_a_working_copy_says_so_in_one_line(tmp_path: Path) -> None:
    work, _ = make_server(tmp_path)
    make_identity("alice")
    write_agent("alice", 1)
    proc = run_cli("publish", "--registry", str(work), check=1)
    assert "is a working copy with main checked out" in proc.stderr
    assert "git clone --bare" in proc.stderr
    assert "denyCurrentBranch" not in proc.stderr and "remote:" not in proc.stderr


def test_missing_local_registry_is_not_retried(tmp_path: Path) -> None:
    make_identity("alice")
    write_agent("alice", 1)
    gone = tmp_path / "no" / "such.git"
    proc = run_cli("publish", "--registry", str(gone), check=1)
    assert f"{gone} does not exist" in proc.stderr and "attempts" not in proc.stderr


def test_registry_remove_and_shadow_warning(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    git("init", "-q", str(repo))
    git("config", "elite.registry.team.url", "https://example.invalid/team.git", cwd=repo)
    proc = run_cli("registry", "add", "team", str(tmp_path), cwd=repo)
    assert "git config elite.registry.team.url (https://example.invalid/team.git) " \
        "overrides this entry" in proc.stderr
    run_cli("registry", "add", "other", str(tmp_path))
    run_cli("registry", "remove", "other")
    names = [r["name"] for r in json.loads(run_cli("registry", "list", "--json").stdout)]
    assert names == ["team"]
    missing = run_cli("registry", "remove", "other", check=1)
    assert "no registry 'other'" in missing.stderr
    config = run_cli("registry", "remove", "team", cwd=repo)
    assert "removed registry team" in config.stderr
    only_git = run_cli("registry", "remove", "team", cwd=repo, check=1)
    assert "git config --remove-section elite.registry.team" in only_git.stderr
