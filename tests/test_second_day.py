"""Issue 27, the second day (items 1–4) and `publish --from-evals --min-new` (issue 28,
SPEC §16): more than one project, registry and person, through the installed command line —
real eval fixtures, real bare registries with the server hook, real signatures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from git_elite.core import evals, layout
from git_elite.edges import evalwatch
from tests.conftest import git, run_cli
from tests.helpers_pipeline import FIXTURES, NOW, fixture_args, write_identity
from tests.helpers_publish import agent_project, elite_root, show, tip
from tests.helpers_registry import key, make_server, nid

EDITOR = "9a0c76f4a0f26b24c789f78e634f8a8b44d3dd3dff24ac02d0f2855cb2134e39"  # editor/cand-a


def _project(tmp: Path, name: str, url: str) -> Path:
    repo = agent_project(tmp / name, url)
    return repo


def _manifest(server: Path, agent: str = EDITOR) -> dict[str, object]:
    raw = show(server, layout.agent_path(agent, "manifest.json"))
    assert raw is not None
    body: dict[str, object] = json.loads(raw)
    return body


def _ref(server: Path) -> dict[str, str]:
    ref: dict[str, str] = _manifest(server)["repo_ref"]  # type: ignore[assignment]
    return ref


# 3. per-project state ------------------------------------------------------------------
def test_two_projects_keep_their_manifests_apart(tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    write_identity("alice")
    one = _project(tmp_path, "one", "https://example.invalid/one.git")
    two = _project(tmp_path, "two", "https://example.invalid/two.git")
    made = run_cli("generate", *fixture_args(), cwd=one)
    assert f"(project {one.resolve()}; each project's manifests are kept apart)" in made.stderr
    run_cli("generate", *fixture_args(), cwd=two)
    copies = sorted(elite_root().glob(f"projects/*/{EDITOR}/manifest.json"))
    assert len(copies) == 2  # the same agent id, once per project: nothing overwritten
    urls = {json.loads(p.read_text())["repo_ref"]["url"] for p in copies}
    assert urls == {"https://example.invalid/one.git", "https://example.invalid/two.git"}
    before = {p: p.read_bytes() for p in copies}
    proc = run_cli("publish", "--registry", str(server), cwd=one)
    assert "manifest(s) made in other project(s) left alone" in proc.stderr
    assert _ref(server)["url"] == "https://example.invalid/one.git"
    theirs = [p for p in copies if json.loads((p.parent.parent / "project.json").read_text())
              == {"path": str(two.resolve())}]
    assert theirs[0].read_bytes() == before[theirs[0]]  # project two's is untouched


# issue 28: publish --from-evals --min-new N ---------------------------------------------
def test_min_new_counts_appended_records_and_publishes_at_n(tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    write_identity("alice")
    project = _project(tmp_path, "p", "https://example.invalid/p.git")
    log = tmp_path / "evals.jsonl"
    shutil.copy(FIXTURES / "racket" / "evals.jsonl", log)
    total = len(evals.parse_jsonl(log.read_bytes(), "log")[0])  # well-formed records
    args = ["publish", "--from-evals", "--evals", str(log), "--evals", str(FIXTURES / "ts"),
            "--agents", str(FIXTURES / "agents.yaml"), "--now", str(NOW),
            "--registry", str(server)]
    start = tip(server)
    below = run_cli(*args, "--min-new", "100000", "--json", cwd=project)
    assert json.loads(below.stdout) == [] and tip(server) == start
    assert "new eval record(s) since the last run, fewer than --min-new 100000" in below.stderr
    assert not list(elite_root().glob("projects/*/*/manifest.json"))  # nothing generated
    ran = run_cli(*args, "--min-new", "5", cwd=project)
    assert f"published  {EDITOR}" in ran.stdout and tip(server) != start
    again = run_cli(*args, "--min-new", "1", cwd=project)
    assert "0 new eval record(s) since the last run" in again.stderr
    with log.open("a") as handle:  # two more records appended, one half-written line
        first = log.read_text().splitlines()[0]
        handle.write(first + "\n" + first + "\n" + first[:20])
    two = run_cli(*args, "--min-new", "3", cwd=project)
    assert "2 new eval record(s) since the last run, fewer than --min-new 3" in two.stderr
    log.write_text(log.read_text()[len(first) + 1:])  # rewritten: its records counted again
    full = run_cli(*args, "--min-new", "100000", cwd=project)
    assert f"{total + 1} new eval record(s)" in full.stderr


def test_min_new_state_is_per_project_and_scan_reads_only_the_tail(tmp_path: Path) -> None:
    log = tmp_path / "evals.jsonl"
    shutil.copy(FIXTURES / "racket" / "evals.jsonl", log)
    mark = evalwatch.scan(log, None)
    assert mark["offset"] == log.stat().st_size and mark["pending"] > 0
    assert evalwatch.scan(log, {**mark, "pending": 0})["pending"] == 0
    forged = {**mark, "prefix_sha256": "0" * 64, "pending": 0}  # prefix changed: full count
    assert evalwatch.scan(log, forged)["pending"] == mark["pending"]
    one = _project(tmp_path, "one", "https://example.invalid/one.git")
    two = _project(tmp_path, "two", "https://example.invalid/two.git")
    assert evalwatch.state_file(one) != evalwatch.state_file(two)
    assert evalwatch.state_file(one).parent == evalwatch.state_file(one / "agents").parent


def test_min_new_needs_from_evals(tmp_path: Path) -> None:
    proc = run_cli("publish", "--min-new", "3", "--registry", str(tmp_path), check=2)
    assert "--min-new can only be used with --from-evals" in proc.stderr


# 4. two people, one config ---------------------------------------------------------------
def test_second_person_is_offered_an_attestation_not_rotation_advice(tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    write_identity("alice")
    run_cli("publish", "--from-evals", *fixture_args(), "--registry", str(server),
            cwd=tmp_path)
    bob_home = tmp_path / "bob-home"
    write_identity("bob", bob_home)
    env = {"AGENTD_HOME": str(bob_home)}
    run_cli("generate", *fixture_args(), cwd=tmp_path, env=env)
    before = tip(server)
    refused = run_cli("publish", "--registry", str(server), cwd=tmp_path, env=env, check=1)
    assert f"already published by its owner {key('alice').did}" in refused.stderr
    assert "--as-attestation" in refused.stderr and "rotate" not in refused.stderr
    assert tip(server) == before
    done = run_cli("publish", "--as-attestation", "--registry", str(server), cwd=tmp_path,
                   env=env)
    assert "publishing your measurement as an attestation" in done.stderr
    path = f"agents/{EDITOR[:2]}/{EDITOR}/attestations/{nid('bob')}.json"
    attestation = json.loads(show(server, path) or b"{}")
    assert attestation["attester"] == key("bob").did
    assert attestation["metrics"] == _manifest(server)["metrics"]
    assert _manifest(server)["owner_did"] == key("alice").did  # the owner's stays


# 1. several registries: withdrawn only where withdrawn ----------------------------------
def test_publish_skips_withdrawn_only_in_that_registry(tmp_path: Path) -> None:
    _, first = make_server(tmp_path / "a")
    _, second = make_server(tmp_path / "b")
    write_identity("alice")
    run_cli("generate", *fixture_args(), cwd=tmp_path)
    run_cli("publish", "--registry", str(first), cwd=tmp_path)
    run_cli("unpublish", EDITOR, "--registry", str(first), cwd=tmp_path)
    other = run_cli("publish", "--registry", str(second), cwd=tmp_path)
    assert f"published  {EDITOR}" in other.stdout
    same = run_cli("publish", "--registry", str(first), cwd=tmp_path)
    assert f"skipping {EDITOR[:12]}: withdrawn in" in same.stderr


# 2. provenance never lost silently -------------------------------------------------------
def test_publish_outside_a_repo_keeps_the_published_repo_ref(tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    write_identity("alice")
    project = _project(tmp_path, "p", "https://example.invalid/p.git")
    run_cli("publish", "--from-evals", *fixture_args(), "--registry", str(server),
            cwd=project)
    outside = tmp_path / "outside"
    outside.mkdir()
    run_cli("generate", *fixture_args()[:-1], str(NOW + 60), cwd=outside)  # repo_ref none
    proc = run_cli("publish", "--registry", str(server), cwd=outside)
    assert "keeping the published repo_ref https://example.invalid/p.git" in proc.stderr
    assert _ref(server)["url"] == "https://example.invalid/p.git"
    cleared = run_cli("publish", "--repo-ref", "none", "--registry", str(server), cwd=outside)
    assert f"{EDITOR[:12]}: repo_ref none" in cleared.stderr
    assert _manifest(server)["repo_ref"] == {"type": "none"}


def test_a_local_path_as_repo_ref_is_a_warning_with_the_fix(tmp_path: Path) -> None:
    _, server = make_server(tmp_path)
    write_identity("alice")
    upstream = _project(tmp_path, "up", "https://example.invalid/up.git")
    clone = tmp_path / "clone"
    git("clone", "-q", str(upstream), str(clone))
    proc = run_cli("publish", "--from-evals", *fixture_args(), "--registry", str(server),
                   cwd=clone)
    assert f"repo_ref.url {upstream} is a path on this machine" in proc.stderr
    assert "git remote set-url origin" in proc.stderr and "--repo-ref URL" in proc.stderr


# 1. several registries are one view (discover) ---------------------------------------------
def _two_registries(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """Alice's fixture agents published, the same bytes, to registries `a` and `b`; bob's
    measurement of the editor agent attested in `b` only; alice trusts bob."""
    _, first = make_server(tmp_path / "a")
    _, second = make_server(tmp_path / "b")
    write_identity("alice")
    run_cli("registry", "add", "a", str(first))
    run_cli("registry", "add", "b", str(second))
    run_cli("generate", *fixture_args(), cwd=tmp_path)
    run_cli("publish", "--registry", "a", cwd=tmp_path)
    run_cli("publish", "--registry", "b", cwd=tmp_path)
    assert show(first, layout.agent_path(EDITOR, "manifest.json")) == \
        show(second, layout.agent_path(EDITOR, "manifest.json"))  # a tie: same created_at
    bob = {"AGENTD_HOME": str(tmp_path / "bob-home")}
    write_identity("bob", tmp_path / "bob-home")
    run_cli("attest", EDITOR, "--evals", str(FIXTURES / "racket" / "evals.jsonl"),
            "--evals", str(FIXTURES / "ts"), "--registry", str(second), env=bob,
            cwd=tmp_path)
    run_cli("trust", "add", key("bob").did, "--alias", "bob")
    return first, second, bob


def test_discover_unites_attestations_and_tombstones_across_registries(tmp_path: Path
                                                                       ) -> None:
    _two_registries(tmp_path)
    args = ("discover", "--registry", "a", "--registry", "b", "--offline", "--json")
    rows = json.loads(run_cli(*args, "--attested", cwd=tmp_path).stdout)
    editor = [r for r in rows if r["agent_id"] == EDITOR]
    assert editor and editor[0]["registry"] == "a"  # the tie goes to the registry named first
    assert editor[0]["sources"] == ["a", "b"]
    assert [t["attester"] for t in editor[0]["attestations"]["trusted"]] == [key("bob").did]
    table = run_cli("discover", "--registry", "b", "--registry", "a", "--offline",
                    cwd=tmp_path).stdout
    assert "b (+a)" in table  # registry order, not the names' order
    run_cli("unpublish", EDITOR, "--registry", "b", cwd=tmp_path)
    after = run_cli(*args, cwd=tmp_path)
    assert EDITOR not in [r["agent_id"] for r in json.loads(after.stdout)]
    assert f"agent {EDITOR[:12]} dropped" in after.stderr
    assert "[deletion] withdrawn by its owner in registry b" in after.stderr
    refused = run_cli("import", EDITOR, "--registry", "a", "--registry", "b", "--offline",
                      cwd=tmp_path, check=1)  # import reads the same one view
    assert "withdrawn by its owner in registry b" in refused.stderr
    alone = json.loads(run_cli("discover", "--registry", "a", "--offline", "--json",
                               cwd=tmp_path).stdout)
    assert EDITOR in [r["agent_id"] for r in alone]  # registry a alone still lists it


def test_export_below_n_needs_no_key_no_registry_and_says_what_is_pending(tmp_path: Path
                                                                          ) -> None:
    """The function the MCP tool calls: below N it loads no identity (there is none here),
    reads no registry (there is none at that path) and signs nothing."""
    from git_elite.edges import generating, publishing

    log = tmp_path / "evals.jsonl"
    shutil.copy(FIXTURES / "racket" / "evals.jsonl", log)
    pending = len(evals.parse_jsonl(log.read_bytes(), "log")[0])
    options = generating.Options(eval_paths=(log,), now=NOW)
    request = publishing.Request(registry=str(tmp_path / "no-such-registry.git"))
    done = evalwatch.export(options, request, pending + 1, NOW, tmp_path)
    assert (done.pending, done.ran, done.result) == (pending, False, None)
    assert done.to_json() == {"pending": pending, "new_records": pending,
                              "min_new": pending + 1, "ran": False, "published": []}
    assert not list(elite_root().glob("*/"))  # no manifest written, only the count:
    assert (elite_root() / "evals-seen.json").is_file()
    again = evalwatch.export(options, request, pending + 1, NOW, tmp_path)
    assert again.pending == pending  # still pending: nothing ran
