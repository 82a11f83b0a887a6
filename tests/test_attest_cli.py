"""`git elite attest`, `attest --revoke`, `verify-evals` and the readers (`discover`,
`discover --attested`, `trust explain`) end to end: real commands, a real bare registry with
the server hook, three people with their own $AGENTD_HOME."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import documents, evals, layout
from tests.conftest import SEEDS, git, run_cli
from tests.helpers_attacks import Server, aid
from tests.helpers_publish import write_identity
from tests.helpers_registry import (
    T0,
    agent_files,
    agent_id_of,
    commit_raw,
    isolated_module_env,
    key,
    nid,
    profile,
    push,
)

CAROL = bytes.fromhex(SEEDS["carol"])


def people(tmp: Path) -> dict[str, dict[str, str]]:
    """carol (the attester), alice (the owner), reader (trusts carol), stranger (nobody)."""
    envs = {}
    for name in ("carol", "alice", "reader", "stranger"):
        home = tmp / name
        if name in ("carol", "alice"):
            write_identity(home, bytes.fromhex(SEEDS[name]))
        envs[name] = {"AGENTD_HOME": str(home)}
    return envs


def carol_logs(tmp: Path) -> Path:
    """carol's own runs of alice's agent 1 (profile editor, candidate c1): 40 in the Racket
    format, 20 in the TypeScript one (with a model, which agent 1's config does not name:
    those do not match), and records of other agents."""
    racket = [{"ts": T0 - 100 * i, "task_id": f"t{i}", "success": i % 4 != 0,
               "profile": "editor", "candidate_id": "c1", "task_type": "file-edit",
               "duration_ms": 1000 + i, "eval_stage": "full"} for i in range(40)]
    racket.append({"ts": T0, "task_id": "x", "success": True, "profile": "editor",
                   "candidate_id": "c2"})
    ts = [{"ts": (T0 - 50 * i) * 1000, "taskId": f"u{i}", "success": True,
           "profile": "editor", "candidateId": "c1", "taskType": "search",
           "durationMs": 500} for i in range(20)]
    ts.append({"ts": T0 * 1000, "taskId": "m", "success": False, "profile": "editor",
               "candidateId": "c1", "model": "gpt-x"})
    folder = tmp / "carol-logs"
    state = folder / ".chrysalis" / "state"
    state.mkdir(parents=True)
    (folder / "evals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in racket))
    (state / "evals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ts))
    return folder


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four people's $AGENTD_HOMEs as they start (identities, the reader's trust in
    carol) and carol's logs, made once: each test gets a copy (`world`)."""
    tmp = tmp_path_factory.mktemp("attest-people")
    with isolated_module_env(tmp):
        envs = people(tmp)
        run_cli("trust", "add", key("carol").did, "--alias", "carol", env=envs["reader"])
        carol_logs(tmp)
    return tmp


@pytest.fixture
def world(srv: Server, homes: Path, tmp_path: Path
          ) -> tuple[Server, dict[str, dict[str, str]], Path]:
    """The module's hooked server (conftest `srv`: built once, reset to its first tip before
    each test) and fresh copies of the people's homes: no test sees another's pushes,
    caches or kept attestations."""
    for name in ("carol", "alice", "reader", "stranger", "carol-logs"):
        if (homes / name).exists():
            shutil.copytree(homes / name, tmp_path / name, symlinks=True)
    envs = {name: {"AGENTD_HOME": str(tmp_path / name)}
            for name in ("carol", "alice", "reader", "stranger")}
    return srv, envs, tmp_path / "carol-logs"


def attest(srv: Server, env: dict[str, str], *args: str, check: int = 0) -> Any:
    return run_cli("attest", *args, "--registry", str(srv.bare), env=env, check=check)


def discover(srv: Server, env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    proc = run_cli("discover", "--registry", str(srv.bare), "--json", *args, env=env)
    rows: list[dict[str, Any]] = json.loads(proc.stdout)
    return rows


def row_of(rows: list[dict[str, Any]], agent: str) -> dict[str, Any]:
    return next(r for r in rows if r["agent_id"] == agent)


def test_attest_publish_weigh_verify_and_revoke(world: Any, tmp_path: Path) -> None:
    srv, envs, logs = world
    proc = attest(srv, envs["carol"], aid(1), "--evals", str(logs), "--suite", "carol-v1")
    assert "owner (self-reported)" in proc.stdout and "you (attested)" in proc.stdout
    rate = next(line.split() for line in proc.stdout.splitlines()
                if line.startswith("success_rate"))
    assert rate == ["success_rate", "0.9", "0.833333"]
    assert f"attested   {aid(1)}" in proc.stdout
    kept = Path(envs["carol"]["AGENTD_HOME"]) / "attestations" / f"{aid(1)}.json"
    path = layout.attestation_path(aid(1), nid("carol"))
    pushed = git("show", f"main:{path}", cwd=srv.bare).stdout.encode()
    assert pushed == kept.read_bytes()
    body = json.loads(pushed)
    assert body["metrics"]["total_tasks"] == 60 and body["metrics"]["success_rate"] == 0.833333
    assert body["method"]["suite"] == "carol-v1" and body["attester"] == key("carol").did

    trusted = row_of(discover(srv, envs["reader"]), aid(1))["attestations"]
    assert trusted == {"count": 1, "max_disagreement": -0.066667, "trusted": [
        {"attester": key("carol").did, "success_rate": 0.833333, "total_tasks": 60,
         "created_at": body["created_at"]}]}
    assert row_of(discover(srv, envs["stranger"]), aid(1))["attestations"] == {
        "count": 1, "trusted": [], "max_disagreement": None}
    table = run_cli("discover", "--registry", str(srv.bare), env=envs["reader"]).stdout
    assert "attested" in table.splitlines()[0] and "0.83 (1/1)" in table and "-0.07" in table

    ranked = discover(srv, envs["reader"], "--attested")
    assert [r["agent_id"] for r in ranked] == [aid(1)]
    assert discover(srv, envs["stranger"], "--attested") == []

    clone = tmp_path / "clone"
    git("clone", "-q", str(srv.bare), str(clone))
    out = json.loads(run_cli("verify-evals", str(clone / path), str(logs), "--json").stdout)
    assert out["ok"] is True and out["records"] == 60
    run_cli("verify-evals", str(clone / path), str(logs / "evals.jsonl"), check=1)

    attest(srv, envs["carol"], "--revoke", aid(1))
    assert json.loads(git("show", f"main:{path}", cwd=srv.bare).stdout)["revoked"] is True
    assert row_of(discover(srv, envs["reader"]), aid(1))["attestations"] == {
        "count": 0, "trusted": [], "max_disagreement": None}
    run_cli("verify", str(srv.bare), "--history")


def test_attest_digest_is_of_exactly_the_matching_records(world: Any) -> None:
    srv, envs, logs = world
    out = json.loads(attest(srv, envs["carol"], aid(1), "--evals", str(logs), "--no-push",
                            "--json").stdout)
    kept = Path(envs["carol"]["AGENTD_HOME"]) / "attestations" / f"{aid(1)}.json"
    body = json.loads(kept.read_bytes())
    assert out["status"] == "built" and out["agent_id"] == aid(1) and out["attestation"] == body
    assert out["kept"] == str(kept) and out["commit"]
    records = []
    for log in (logs / "evals.jsonl", logs / ".chrysalis" / "state" / "evals.jsonl"):
        records += evals.parse_jsonl(log.read_bytes(), str(log))[0]
    config = {"profile": "editor", "candidate_id": "c1"}
    assert body["method"]["evals_sha256"] == evals.digest(
        [r for r in records if evals.matches(r, config)])


@pytest.mark.parametrize("who,args,message", [
    ("alice", ["AID1", "--evals", "LOGS"], "is yours"),
    ("carol", ["f" * 64, "--evals", "LOGS"], "is not in this registry"),
    ("carol", ["AID2", "--evals", "NOMATCH"], "none of the 1 eval record(s) matches"),
    ("carol", ["--revoke", "AID1"], "no live attestation"),
    ("carol", ["AID1"], "give --evals LOG"),
    ("carol", ["ABC", "--evals", "LOGS"], "prefix of at least 8"),
    ("carol", ["xyz0123456", "--evals", "LOGS"], "is not an agent id"),
    ("carol", ["00000000", "--evals", "LOGS"], "no agent id starting with 00000000"),
], ids=["own-agent", "unknown-agent", "no-matching-record", "revoke-nothing", "no-evals",
        "short-id-too-short", "bad-agent-id", "short-id-unknown"])
def test_attest_refuses(world: Any, tmp_path: Path, who: str, args: list[str],
                        message: str) -> None:
    srv, envs, logs = world
    nomatch = tmp_path / "nomatch.jsonl"
    nomatch.write_text(json.dumps({"ts": T0, "success": True, "profile": "coder"}) + "\n")
    values = {"AID1": aid(1), "AID2": aid(2), "LOGS": str(logs), "NOMATCH": str(nomatch)}
    proc = attest(srv, envs[who], *[values.get(a, a) for a in args], check=None)
    assert proc.returncode in (1, 2) and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert git("ls-tree", "-r", "--name-only", "main", cwd=srv.bare).stdout.count(
        "/attestations/") == 0


def test_attest_takes_a_unique_short_id(world: Any) -> None:
    srv, envs, logs = world
    out = json.loads(attest(srv, envs["carol"], aid(1)[:10].upper(), "--evals", str(logs),
                            "--no-push", "--json").stdout)
    assert out["agent_id"] == aid(1) and out["attestation"]["agent_id"] == aid(1)
    revoke = attest(srv, envs["carol"], "--revoke", aid(1)[:8], check=1)
    assert f"no live attestation of agent {aid(1)[:12]}" in revoke.stderr


# profile(100349) and profile(105992) have agent ids that share their first 8 hex digits
TWINS = (100349, 105992)


def test_attest_ambiguous_short_id_lists_the_matches(world: Any) -> None:
    srv, envs, logs = world
    twins = [agent_id_of(profile(n)) for n in TWINS]
    assert twins[0][:8] == twins[1][:8] and twins[0][8] != twins[1][8]
    commit_raw(srv.work, {**agent_files("alice", TWINS[0]), **agent_files("alice", TWINS[1])},
               "twins", index=True)
    assert push(srv.work).returncode == 0  # through the server hook
    proc = attest(srv, envs["carol"], twins[0][:8], "--evals", str(logs), check=1)
    assert f"short agent id {twins[0][:8]} is ambiguous" in proc.stderr
    assert all(t[:16] in proc.stderr for t in twins) and "type more characters" in proc.stderr
    assert "Traceback" not in proc.stderr
    longer = attest(srv, envs["carol"], twins[0][:9], "--evals", str(logs), check=1)
    assert "none of the" in longer.stderr and twins[0][:12] in longer.stderr  # resolved


def test_refused_push_keeps_the_signed_attestation(world: Any) -> None:
    """The server refuses (here: alice withdrew the agent after carol's fetch would not do;
    an allowlist is simplest): the attestation stays in $AGENTD_HOME/attestations/."""
    from tests.helpers_attacks import accepted, doc
    from tests.helpers_registry import identity

    srv, envs, logs = world
    accepted(srv, {layout.IDENTITY: doc(identity("server", version=2, publish="allowlist",
                                                 publishers=[key("alice").did]))})
    proc = attest(srv, envs["carol"], aid(1), "--evals", str(logs), check=1)
    assert f"refused: {aid(1)}" in proc.stderr and "[policy]" in proc.stderr
    kept = Path(envs["carol"]["AGENTD_HOME"]) / "attestations" / f"{aid(1)}.json"
    assert documents.check(kept.read_bytes(), "kept.json")[1] == []
    assert "kept in" in proc.stderr


def test_trust_explain_says_what_trust_means_for_an_attester(world: Any) -> None:
    _, envs, _ = world
    yes = run_cli("trust", "explain", key("carol").did, env=envs["reader"]).stdout
    assert "its attestations count" in yes
    no = run_cli("trust", "explain", key("carol").did, env=envs["stranger"], check=1).stdout
    assert "do not move any number" in no


def test_sybil_ring_through_the_server_moves_nothing(world: Any) -> None:
    """mallory publishes an agent and three fresh keys of hers attest it at 0.99. For a
    reader who trusts none of them: the same ranks and numbers as before, the ring shows
    only as a count, and `--attested` does not list the agent."""
    from tests.helpers_attacks import accepted, doc
    from tests.helpers_registry import agent_files

    srv, envs, _ = world
    accepted(srv, agent_files("mallory", 5, rate=0.85))
    before = discover(srv, envs["reader"])
    ring = {}
    for who in ("dave", "eve", "rotated"):
        body = {"type": "attestation", "schema_version": 1, "agent_id": aid(5),
                "metrics": {"success_rate": 0.99, "total_tasks": 5000, "avg_duration_ms": 1,
                            "recent_tasks_7d": 5000},
                "method": {"suite": "ring", "evals_sha256": "2" * 64},
                "eval_window": {"from_ts": T0, "to_ts": T0 + 1}, "created_at": T0 + 2,
                "revoked": False}
        ring[layout.attestation_path(aid(5), nid(who))] = doc(documents.sign(body, key(who)))
    accepted(srv, ring)
    after = discover(srv, envs["reader"])
    strip = [{k: v for k, v in r.items() if k != "attestations"} for r in after]
    assert strip == [{k: v for k, v in r.items() if k != "attestations"} for r in before]
    assert row_of(after, aid(5))["attestations"] == {"count": 3, "trusted": [],
                                                     "max_disagreement": None}
    assert discover(srv, envs["reader"], "--attested") == []


def test_sign_and_verify_file_know_attestations(tmp_path: Path) -> None:
    write_identity(Path(os.environ["AGENTD_HOME"]), CAROL)
    body = {"type": "attestation", "schema_version": 1, "agent_id": aid(1),
            "metrics": {"success_rate": 0.5, "total_tasks": 2, "avg_duration_ms": 1},
            "method": {"suite": "s", "evals_sha256": "3" * 64},
            "eval_window": {"from_ts": 1, "to_ts": 2}, "created_at": 3, "revoked": False}
    path = tmp_path / "a.json"
    path.write_text(json.dumps(body))
    run_cli("sign", str(path))
    signed = json.loads(path.read_text())
    assert signed["attester"] == key("carol").did
    assert json.loads(run_cli("verify-file", "--json", str(path)).stdout)["ok"] is True
    signed["metrics"]["success_rate"] = 1
    path.write_text(json.dumps(signed))
    out = json.loads(run_cli("verify-file", "--json", str(path), check=1).stdout)
    assert [p["rule"] for p in out["problems"]] == ["signature"]


def test_attest_on_a_format_1_registry_says_migrate(tmp_path: Path) -> None:
    from tests.helpers_format1 import build

    work = tmp_path / "v1"
    build(work)
    home = tmp_path / "dave"
    write_identity(home, bytes.fromhex(SEEDS["dave"]))
    log = tmp_path / "evals.jsonl"
    log.write_text(json.dumps({"ts": T0, "success": True, "profile": "editor",
                               "candidate_id": "c1"}) + "\n")
    proc = run_cli("attest", aid(1), "--evals", str(log), "--registry", str(work),
                   env={"AGENTD_HOME": str(home)}, check=1)
    assert "format 1, which takes no attestations" in proc.stderr
    assert "git elite migrate" in proc.stderr and "Traceback" not in proc.stderr
