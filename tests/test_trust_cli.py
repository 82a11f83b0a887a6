"""`git elite trust …` end to end, with real signed endorsements."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from git_elite.core import documents, trust
from tests.conftest import git, run_cli
from tests.helpers_pipeline import NOW, keypair, write_identity

A, B, C, D = (keypair(n) for n in ("alice", "bob", "carol", "dave"))


def explain(did: str, *extra: str, check: int | None = None) -> dict[str, object]:
    proc = run_cli("trust", "explain", did, "--json", *extra, check=check)
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def home() -> Path:
    return Path(os.environ["AGENTD_HOME"])


def test_add_list_remove() -> None:
    run_cli("trust", "add", A.did, "--alias", "alice")
    run_cli("trust", "add", B.did, "--task-type", "search", "--task-type", "file-edit")
    listed = json.loads(run_cli("trust", "list", "--json").stdout)
    assert listed["version"] == 1 and listed["max_depth"] == 2
    assert [(e["did"], e.get("alias"), e["task_types"]) for e in listed["trusted"]] == \
        [(A.did, "alice", ["*"]), (B.did, None, ["file-edit", "search"])]
    assert "alice" in run_cli("trust", "list").stdout
    run_cli("trust", "remove", A.did)
    assert "not in the trust set" in run_cli("trust", "remove", A.did, check=1).stderr
    assert "did:key" in run_cli("trust", "add", "did:key:zNope", check=2).stderr


def test_endorse_chain_explain_and_revoke(tmp_path: Path) -> None:
    run_cli("trust", "add", A.did)
    write_identity("alice")
    run_cli("trust", "endorse", B.did, "--task-type", "file-edit", "--expires", "30")
    saved = home() / "endorsements" / trust.endorsement_path(A.did, B.did)
    doc, problems = documents.check(saved.read_bytes(), str(saved), documents.ENDORSEMENT)
    assert problems == [] and doc is not None and doc.body["task_types"] == ["file-edit"]
    assert doc.body["expires_at"] - doc.body["created_at"] == 30 * 86400
    # bob endorses carol, in a directory of someone else's endorsements
    other = tmp_path / "bob-home"
    write_identity("bob", other)
    run_cli("trust", "endorse", C.did, env={"AGENTD_HOME": str(other)})
    extra = ["--endorsements", str(other / "endorsements"), "--task-type", "file-edit"]
    assert explain(C.did, *extra, check=0) == {"did": C.did, "task_type": "file-edit",
                                               "trusted": True, "path": [A.did, B.did, C.did]}
    assert explain(C.did, "--endorsements", str(other / "endorsements"),
                   check=1)["trusted"] is False   # "*" is not covered by file-edit
    text = run_cli("trust", "explain", C.did, *extra).stdout
    assert text.splitlines()[0] == f"{C.did} is trusted for file-edit:"
    run_cli("trust", "revoke", B.did)
    assert explain(C.did, *extra, check=1) == {"did": C.did, "task_type": "file-edit",
                                               "trusted": False, "path": []}


def test_depth_limit_and_cache_clones(tmp_path: Path) -> None:
    run_cli("trust", "add", A.did)
    docs = [trust.make_endorsement(k, t.did, ["*"], NOW) for k, t in ((A, B), (B, C), (C, D))]
    repo = tmp_path / "registry"
    for body in docs:
        path = repo / "endorsements" / trust.endorsement_path(body["from"], body["to"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(documents.to_bytes(body))
    git("init", "-q", str(repo))
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "endorsements", cwd=repo)
    cache = home() / "cache" / "registries" / "main.git"
    git("clone", "-q", "--bare", str(repo), str(cache))
    assert explain(C.did, check=0)["path"] == [A.did, B.did, C.did]
    assert explain(D.did, check=1)["trusted"] is False   # three endorsements > max_depth 2
    shutil.rmtree(cache)
    assert explain(B.did, check=1)["trusted"] is False


def test_misplaced_or_forged_endorsements_are_ignored(tmp_path: Path) -> None:
    run_cli("trust", "add", A.did)
    body = trust.make_endorsement(A, B.did, ["*"], NOW)
    wrong = tmp_path / "e" / "zWrong" / "place.json"
    wrong.parent.mkdir(parents=True)
    wrong.write_bytes(documents.to_bytes(body))
    proc = run_cli("trust", "explain", B.did, "--endorsements", str(tmp_path / "e"), check=1)
    assert "[binding]" in proc.stderr
    forged = dict(body, task_types=["search"])
    right = tmp_path / "f" / trust.endorsement_path(A.did, B.did)
    right.parent.mkdir(parents=True)
    right.write_bytes(documents.to_bytes(forged))
    proc = run_cli("trust", "explain", B.did, "--endorsements", str(tmp_path / "f"), check=1)
    assert "[signature]" in proc.stderr


def test_self_endorsement_and_revoke_without_endorsement_are_refused() -> None:
    write_identity("alice")
    assert "oneself" in run_cli("trust", "endorse", A.did, check=1).stderr
    assert "no endorsement" in run_cli("trust", "revoke", B.did, check=1).stderr
