"""discover across sources: tampered mirrors, unreadable registries, duplicates, trust
through endorsements, the working copy you stand in, --offline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from git_elite.core import documents, layout
from tests.conftest import git, run_cli
from tests.helpers_discover import discover, registry_with
from tests.helpers_registry import T0, agent_files, agent_id_of, commit_raw, key, nid, profile

AGENTS = [{"owner": "alice", "n": 1, "rate": 0.95, "total": 200},
          {"owner": "bob", "n": 2, "rate": 0.9, "total": 120},
          {"owner": "carol", "n": 3, "rate": 0.85, "total": 80}]
ONE, TWO, THREE = (agent_id_of(profile(n)) for n in (1, 2, 3))


def mirror(tmp: Path, bare: Path, name: str, files: dict[str, bytes | None], *,
           index: bool = True) -> Path:
    """A copy of `bare` with `files` committed without hooks (a hostile mirror)."""
    work = tmp / f"{name}-work"
    git("clone", "-q", str(bare), str(work))
    commit_raw(work, files, "tampered", index=index)
    out = tmp / f"{name}.git"
    git("clone", "-q", "--bare", str(work), str(out))
    return out


def test_tampered_manifest_in_mirror_is_dropped(tmp_path: Path) -> None:
    work, bare = registry_with(tmp_path, "reg", AGENTS)
    path = layout.agent_path(TWO, "manifest.json")
    body = json.loads((work / path).read_bytes())
    body["metrics"]["total_tasks"] = 5000  # better numbers, same signature
    bad = mirror(tmp_path, bare, "evil", {path: documents.to_bytes(body)})
    refused = run_cli("discover", "--json", "--registry", str(bad), check=1)
    assert f"{path}: [signature]" in refused.stderr and "push rules" in refused.stderr
    proc = run_cli("discover", "--json", cwd=tmp_path / "evil-work")  # no fetch: as is
    assert [r["agent_id"] for r in json.loads(proc.stdout)] == [ONE, THREE]
    assert f"evil-work: agent {TWO[:12]} dropped: {path}: [signature]" in proc.stderr


def test_inflated_index_entry_is_dropped(tmp_path: Path) -> None:
    """A mirror inflates THREE's shard entry (with a matching digest in the head) and puts
    it first in the head's ranking: a listing from the shards drops it ([index]); the top
    N read from the head take each agent's numbers from its own manifest, so the order is
    the true one."""
    import hashlib

    from git_elite.core import indexing

    work, bare = registry_with(tmp_path, "reg", AGENTS)
    head = json.loads((work / layout.INDEX).read_bytes())
    shard_path = layout.shard_path(THREE[:2])
    shard = json.loads((work / shard_path).read_bytes())
    shard["agents"][THREE]["score_ppm"] = 999_999
    shard_raw = indexing.dumps(shard)
    head["shards"][THREE[:2]]["sha256"] = hashlib.sha256(shard_raw).hexdigest()
    head["rankings"]["general"] = [THREE, ONE, TWO]
    files: dict[str, bytes | None] = {layout.INDEX: indexing.dumps(head), shard_path: shard_raw}
    bad = mirror(tmp_path, bare, "evil", files, index=False)
    refused = run_cli("discover", "--registry", str(bad), check=1)  # a cache fetch: §7
    assert "INDEX.json: [index] INDEX.json is not the rebuild" in refused.stderr
    here = tmp_path / "evil-work"  # the mirror's working copy, read as it is
    proc = run_cli("discover", "--json", "--min-success", "0", cwd=here)
    assert [r["agent_id"] for r in json.loads(proc.stdout)] == [ONE, TWO]
    path = layout.agent_path(THREE, "manifest.json")
    assert f"agent {THREE[:12]} dropped: {path}: [index]" in proc.stderr
    assert "score_ppm" in proc.stderr
    proc = run_cli("discover", "--json", cwd=here)
    assert [r["agent_id"] for r in json.loads(proc.stdout)] == [ONE, TWO, THREE]


def test_shard_not_matching_its_digest_is_left_out(tmp_path: Path) -> None:
    work, bare = registry_with(tmp_path, "reg", AGENTS)
    shard_path = layout.shard_path(THREE[:2])
    shard = json.loads((work / shard_path).read_bytes())
    shard["agents"][THREE]["score_ppm"] = 999_999
    bad = mirror(tmp_path, bare, "evil", {shard_path: documents.to_bytes(shard)}, index=False)
    refused = run_cli("discover", "--registry", str(bad), check=1)  # a cache fetch: §7
    assert f"{shard_path}: [index]" in refused.stderr
    proc = run_cli("discover", "--json", "--min-success", "0", cwd=tmp_path / "evil-work")
    assert THREE not in [r["agent_id"] for r in json.loads(proc.stdout)]
    assert f"{shard_path}: [index] its bytes do not hash" in proc.stderr


def test_unreadable_registry_is_named_others_answer(tmp_path: Path) -> None:
    _, bare = registry_with(tmp_path, "reg", AGENTS)
    proc = run_cli("discover", "--json", "--registry", str(tmp_path / "gone.git"),
                   "--registry", str(bare))
    assert len(json.loads(proc.stdout)) == 3
    assert "registry " + str(tmp_path / "gone.git") + " cannot be read" in proc.stderr
    only_bad = run_cli("discover", "--registry", str(tmp_path / "gone.git"), check=1)
    assert f"{tmp_path / 'gone.git'} does not exist" in only_bad.stderr  # its own error, once


def test_duplicates_merged_newest_valid_wins(tmp_path: Path) -> None:
    _, old = registry_with(tmp_path, "a", AGENTS[:1])
    _, new = registry_with(tmp_path, "b", [{**AGENTS[0], "created_at": T0 + 10,
                                            "rate": 0.97}])
    rows = discover("--registry", str(old), "--registry", str(new))
    assert len(rows) == 1
    assert (rows[0]["registry"], rows[0]["sources"]) == ("b", ["a", "b"])
    assert (rows[0]["created_at"], rows[0]["success_rate"]) == (T0 + 10, 0.97)
    newer = agent_files("alice", 1, created_at=T0 + 20, rate=0.99)
    path = layout.agent_path(ONE, "manifest.json")
    forged = json.loads(newer[path])
    forged["metrics"]["success_rate"] = 1.0
    evil = mirror(tmp_path, new, "c", {path: documents.to_bytes(forged)})
    # a, b and c share one root commit and IDENTITY.json: copies of one registry, so this
    # reader, who showed b's newer manifest, refuses a's older one (`rollback`,
    # tests/test_agent_memory.py); a first reader is shown a's
    proc = run_cli("discover", "--json", "--registry", str(old), "--registry", str(evil),
                   env={"AGENTD_HOME": str(tmp_path / "first-reader")})
    rows = json.loads(proc.stdout)
    assert (rows[0]["registry"], rows[0]["sources"], rows[0]["created_at"]) == \
        ("a", ["a"], T0)
    again = run_cli("discover", "--json", "--registry", str(old), "--registry", str(evil),
                    check=1)
    assert json.loads(again.stdout) == [] and f"created_at {T0} " in again.stderr
    assert f"registry {evil} cannot be read" in proc.stderr and "[signature]" in proc.stderr


def _revocation(by: str, to: str, created_at: int) -> dict[str, object]:
    body = {"type": "endorsement", "schema_version": 1, "to": key(to).did,
            "task_types": ["*"], "created_at": created_at, "revoked": True}
    return documents.sign(body, key(by))


def test_trust_through_endorsement_chain_and_revocation(tmp_path: Path) -> None:
    from tests.helpers_registry import endorsement

    work, bare = registry_with(tmp_path, "reg", AGENTS)
    run_cli("trust", "add", key("alice").did, "--alias", "alice")
    commit_raw(work, {layout.endorsement_path(nid("alice"), nid("bob")):
                      documents.to_bytes(endorsement("alice", "bob")),
                      layout.endorsement_path(nid("bob"), nid("carol")):
                      documents.to_bytes(endorsement("bob", "carol"))}, index=True)
    git("push", "-q", str(bare), "HEAD:main", cwd=work)
    rows = {r["agent_id"]: r for r in discover("--registry", str(bare))}
    assert rows[ONE]["trust_path"] == [key("alice").did]
    assert rows[THREE]["trust_path"] == [key(n).did for n in ("alice", "bob", "carol")]
    assert all(r["trusted"] for r in rows.values())
    table = run_cli("discover", "--registry", str(bare)).stdout
    assert " alice " in table and "✓" in table
    commit_raw(work, {layout.endorsement_path(nid("bob"), nid("carol")):
                      documents.to_bytes(_revocation("bob", "carol", T0 + 1))}, index=True)
    git("push", "-q", str(bare), "HEAD:main", cwd=work)
    rows = {r["agent_id"]: r for r in discover("--registry", str(bare))}
    assert (rows[THREE]["trusted"], rows[THREE]["trust_path"]) == (False, [])
    assert rows[TWO]["trust_path"] == [key("alice").did, key("bob").did]
    trusted = discover("--registry", str(bare), "--trusted-only")
    assert [r["agent_id"] for r in trusted] == [ONE, TWO]


def test_inside_a_git_clone_working_copy(tmp_path: Path) -> None:
    _, bare = registry_with(tmp_path, "reg", AGENTS)
    clone = tmp_path / "clone"
    git("clone", "-q", str(bare), str(clone))
    rows = discover(cwd=clone / "agents")
    assert [r["agent_id"] for r in rows] == [ONE, TWO, THREE]
    assert {r["registry"] for r in rows} == {"clone"}
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    proc = run_cli("discover", cwd=outside, check=1)
    assert "no registry to read" in proc.stderr


def test_offline_after_one_online_run(tmp_path: Path) -> None:
    _, bare = registry_with(tmp_path, "reg", AGENTS)
    run_cli("registry", "add", "main-reg", str(bare))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    first = discover("--offline", cwd=outside)  # a registry on this machine: no network
    online = discover(cwd=outside)
    assert first == online
    assert {r["registry"] for r in online} == {"main-reg"}
    shutil.move(str(bare), str(tmp_path / "moved.git"))
    assert discover("--offline", cwd=outside) == online
    proc = run_cli("discover", cwd=outside, check=1)
    assert f"registry main-reg: {bare} does not exist" in proc.stderr
