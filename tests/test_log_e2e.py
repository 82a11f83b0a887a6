"""Issue 25's "done when", end to end (SPEC §15): a registry whose log role declares three
real `git elite witness serve` processes on loopback and a quorum of 2, real pushes into a
hooked bare repository, a witness restarted (its state survives), a witness down (the quorum
is still met), and a forked server — a bare copy holding the same log key that signs another
state: the witnesses refuse it, a first-time reader of the fork refuses it (`log`: below
quorum), a reader who saw the honest branch refuses it as `split-view` with both checkpoints
kept, and `log gossip` names the inconsistent pair. Go's sumdb/note and sumdb/tlog
(tests/go/logcheck) then check every checkpoint, cosignature, root, proof and tile of the run.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.loopback import static
from git_elite.core import logrole, note, tlog
from git_elite.edges import git as gitedge
from git_elite.edges import tlogstore
from tests.conftest import git, run_cli
from tests.helpers_log import (
    ORIGIN,
    Witness,
    leaf_commits,
    log_vkey,
    logged_server,
    make_witness,
    push_agent,
)
from tests.helpers_registry import (
    agent_files,
    agent_id_of,
    commit_raw,
    isolated_module_env,
    key,
    profile,
    push,
)
from tests.helpers_site import browser_missing, chromium, serve
from tests.test_log_go_interop import go, go_missing, logcheck  # noqa: F401 (a fixture)

NAMES = [("w1.example", "alice"), ("w2.example", "bob"), ("w3.example", "carol")]


def reader(tmp: Path, name: str) -> dict[str, str]:
    """The environment of a reader with its own $AGENTD_HOME (its own log memory)."""
    home = tmp / f"reader-{name}"
    home.mkdir(exist_ok=True)
    return {"AGENTD_HOME": str(home)}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("log_e2e")
    with isolated_module_env(tmp):
        witnesses = [make_witness(tmp, name, seed, log_vkey()) for name, seed in NAMES]
        try:
            yield _scenario(tmp, witnesses)
        finally:
            for w in witnesses:
                w.stop()


def _scenario(tmp: Path, ws: list[Witness]) -> dict[str, Any]:
    out: dict[str, Any] = {"tmp": tmp, "witnesses": ws, "said": {}}
    srv = logged_server(tmp, [(w.name, w.seed, w.url) for w in ws], quorum=2)
    out["server"] = srv
    for w in ws:
        w.start()
    said = out["said"]
    said["p1"] = push_agent(srv, "alice", 1)[1]
    said["p2"] = push_agent(srv, "alice", 2)[1]
    ws[0].stop()  # a restart: w1's state (size 2) is on disk
    ws[0].start()
    said["p3"] = push_agent(srv, "bob", 3)[1]
    ws[2].stop()  # w3 down
    said["p4"] = push_agent(srv, "bob", 4)[1]
    a = reader(tmp, "a")
    out["verify_a_4"] = run_cli("verify", str(srv.bare), env=a, check=None)
    fork = tmp / "fork.git"  # the same server, copied: same hooks, same log key
    shutil.copytree(srv.bare, fork, symlinks=True)
    out["fork"] = fork
    ws[2].start()
    said["p5"] = push_agent(srv, "carol", 5)[1]
    out["verify_a_5"] = run_cli("verify", str(srv.bare), env=a, check=None)
    out["history_a"] = run_cli("verify", "--history", "--json", str(srv.bare), env=a,
                               check=None)
    out["discover_a"] = run_cli("discover", "--registry", str(srv.bare), "--json", env=a,
                                check=None)
    forked = tmp / "fork-work"
    git("clone", "-q", str(fork), str(forked))
    commit_raw(forked, agent_files("mallory", 9), "the fork's state", index=True)
    result = push(forked)
    assert result.returncode == 0, result.stderr
    said["fork"] = result.stderr
    out["verify_b_fork"] = run_cli("verify", str(fork), env=reader(tmp, "b"), check=None)
    out["verify_a_fork"] = run_cli("verify", str(fork), env=a, check=None)
    out["import_a_fork"] = run_cli("import", "--registry", str(fork), "--allow-untrusted",
                                   agent_id_of(profile(9)), env=a, check=None)
    out["reader_a"] = Path(a["AGENTD_HOME"])
    out["gossip"] = run_cli("log", "gossip", str(srv.bare), str(fork), "--json", check=None)
    _sites(out, tmp, srv.bare, fork)
    out["show"] = run_cli("log", "--json", cwd=srv.bare, check=None)
    out["resign"] = run_cli("log", "sign", cwd=srv.bare, check=None)
    out["show_after"] = run_cli("log", "show", "--registry", str(srv.bare), "--json",
                                cwd=tmp, check=None)
    out["leaves_5"] = leaf_commits(srv.bare)
    out["concurrent"] = _concurrent_hooks(srv.bare, 3)
    return out


def _sites(out: dict[str, Any], tmp: Path, honest: Path, fork: Path) -> None:
    """Both copies as static sites (`git elite site` copies the log under log/), read over
    loopback HTTP by `discover --url` and compared by `log gossip`."""
    for name, repo in (("site-honest", honest), ("site-fork", fork)):
        run_cli("site", str(repo), "-o", str(tmp / name))
    out["site_files"] = sorted(str(p.relative_to(tmp / "site-honest"))
                               for p in (tmp / "site-honest" / "log").rglob("*") if p.is_file())
    with serve(tmp / "site-honest") as honest_url, serve(tmp / "site-fork") as fork_url:
        c = reader(tmp, "c")
        out["url_c_honest"] = run_cli("discover", "--url", honest_url, env=c, check=None)
        out["url_c_fork"] = run_cli("discover", "--url", fork_url, env=c, check=None)
        out["verify_url_c"] = run_cli("verify", "--url", honest_url, "--json", env=c,
                                      check=None)
        out["verify_url_c_fork"] = run_cli("verify", "--url", fork_url, "--json", env=c,
                                           check=None)
        out["gossip_sites"] = run_cli("log", "gossip", honest_url, fork_url, check=None)
        out["site_urls"] = (honest_url, fork_url)
    paths: list[str] = []  # what discover asks for once the log has signed the head
    with static(tmp / "site-honest", paths) as url:
        out["url_c_counted"] = run_cli("discover", "--url", url, "--json", env=reader(tmp, "c"),
                                       check=None)
    out["url_c_paths"] = paths


def test_the_site_serves_the_log_and_url_readers_check_it(run: dict[str, Any]) -> None:
    assert run["site_files"] == ["log/checkpoint", "log/tile/0/000.p/5",
                                 "log/tile/entries/000.p/5"]
    honest, fork = run["url_c_honest"], run["url_c_fork"]
    assert honest.returncode == 0, honest.stderr
    assert "log checkpoint 5 of example.org/chrysalis-elites" in honest.stderr
    assert fork.returncode == 1 and "[split-view]" in fork.stderr, fork.stderr
    audit = json.loads(run["verify_url_c"].stdout)
    assert audit["ok"] and audit["log"]["size"] == 5, audit
    audit = json.loads(run["verify_url_c_fork"].stdout)
    assert [p["rule"] for p in audit["problems"]] == ["split-view"], audit
    gossip = run["gossip_sites"]
    assert gossip.returncode == 1
    assert f"INCONSISTENT {run['site_urls'][0]} and {run['site_urls'][1]}" in gossip.stdout


def test_under_an_accepted_checkpoint_discover_reads_no_profile(run: dict[str, Any]) -> None:
    """A witnessed checkpoint accepted for the read signs the served INDEX.json (§15), as a
    fresh timestamp does: each shown manifest that is its pinned bytes is checked without
    fetching its profile.json (docs/discover.md); one file per agent shown."""
    found = run["url_c_counted"]
    assert found.returncode == 0, found.stderr
    shown = {row["agent_id"] for row in json.loads(found.stdout)}
    paths = run["url_c_paths"]
    assert shown and not [p for p in paths if p.endswith("/profile.json")]
    assert {p.split("/")[-2] for p in paths if p.endswith("/manifest.json")} == shown
    assert len(paths) == len(set(paths))


def _concurrent_hooks(bare: Path, count: int) -> list[subprocess.CompletedProcess[str]]:
    """`count` post-receive hooks at once for one new tip (as after pushes that land
    together): the log's lock lets one append and the others find the tip logged."""
    import os

    old = git("rev-parse", "main", cwd=bare).stdout.strip()
    tree = git("rev-parse", "main^{tree}", cwd=bare).stdout.strip()
    new = git("commit-tree", tree, "-p", old, "-m", "tip", cwd=bare).stdout.strip()
    git("update-ref", "refs/heads/main", new, cwd=bare)
    env = {**os.environ, "GIT_DIR": str(bare)}
    procs = [subprocess.Popen([sys.executable, "-m", "git_elite", "hook", "post-receive"],
                              cwd=bare, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(count)]
    outs = [p.communicate(f"{old} {new} refs/heads/main\n", timeout=120) for p in procs]
    return [subprocess.CompletedProcess(p.args, p.returncode, o, e)
            for p, (o, e) in zip(procs, outs, strict=True)]


def test_concurrent_post_receives_append_once_and_never_equivocate(run: dict[str, Any]
                                                                    ) -> None:
    results = run["concurrent"]
    said = "".join(r.stderr for r in results)
    assert all(r.returncode == 0 for r in results)
    assert said.count("log appended: checkpoint size 6") == 1, said
    assert said.count("log already has this tip: checkpoint size 6") == len(results) - 1, said
    assert "refused" not in said and "not signed" not in said, said
    assert len(leaf_commits(run["server"].bare)) == 6


def test_every_push_is_cosigned_by_the_witnesses(run: dict[str, Any]) -> None:
    said = run["said"]
    for step in ("p1", "p2", "p3", "p5"):
        assert "cosigned by 3 witness(es) (w1.example, w2.example, w3.example), quorum met" \
            in said[step], said[step]
    shown = json.loads(run["show"].stdout)
    assert run["show"].returncode == 0 and shown["size"] == 5 and shown["quorum_met"]
    assert sorted(shown["cosigned"]) == ["w1.example", "w2.example", "w3.example"]
    assert len(run["leaves_5"]) == 5


def test_log_sign_asks_the_witnesses_again(run: dict[str, Any]) -> None:
    resign = run["resign"]
    assert resign.returncode == 0, resign.stderr
    assert "log re-signed: checkpoint size 5, cosigned by 3 witness(es)" in resign.stderr
    before, after = json.loads(run["show"].stdout), json.loads(run["show_after"].stdout)
    assert after["size"] == 5 and after["root"] == before["root"]
    assert all(after["cosigned"][w] >= before["cosigned"][w] for w in before["cosigned"])


def test_a_restarted_witness_resumes_from_its_state(run: dict[str, Any]) -> None:
    """w1 was restarted between sizes 2 and 3: it cosigned 3 from the state it kept (its
    latest checkpoint on disk), and follows the log to the end."""
    assert "w1.example" in run["said"]["p3"].split("cosigned by", 1)[1]
    import hashlib

    state = run["witnesses"][0].home / "witness" / "checkpoints" / \
        hashlib.sha256(ORIGIN.encode()).hexdigest()
    kept = note.Checkpoint.parse(note.Note.parse(state.read_bytes()).text)
    assert kept.size == 6  # the last checkpoint of the run


def test_a_witness_down_is_a_warning_and_the_quorum_is_still_met(run: dict[str, Any]) -> None:
    p4 = run["said"]["p4"]
    assert "witness w3.example: unreachable" in p4
    assert "cosigned by 2 witness(es) (w1.example, w2.example), quorum met" in p4
    assert run["verify_a_4"].returncode == 0, run["verify_a_4"].stdout
    assert "log checkpoint 4 of example.org/chrysalis-elites" in run["verify_a_4"].stderr


def test_the_witnesses_refuse_the_fork(run: dict[str, Any]) -> None:
    said = run["said"]["fork"]
    for name, _ in NAMES:
        assert f"witness {name}: refused: it saw another checkpoint of this size" in said, said
    assert "cosigned by 0 witness(es)" in said and "BELOW QUORUM 2" in said
    for w in run["witnesses"]:  # each kept both checkpoints of size 5 as evidence
        assert len(list((w.home / "witness" / "evidence").glob("*-5-*"))) == 2, w.name


def test_a_first_time_reader_of_the_fork_refuses_it(run: dict[str, Any]) -> None:
    result = run["verify_b_fork"]
    assert result.returncode == 1
    assert "[log] checkpoint of size 5 has 0 valid witness cosignature(s)" in result.stdout


def test_verify_history_finds_every_leaf_on_the_branch_in_order(run: dict[str, Any]) -> None:
    result = json.loads(run["history_a"].stdout)
    assert result["ok"] and result["log"]["ok"] and result["log"]["size"] == 5, result


def test_a_reader_who_saw_the_honest_branch_calls_the_fork_a_split_view(
        run: dict[str, Any]) -> None:
    assert run["verify_a_5"].returncode == 0, run["verify_a_5"].stdout
    result = run["verify_a_fork"]
    assert result.returncode == 1
    assert "[split-view] two checkpoints of size 5 with different roots" in result.stdout
    evidence = sorted(p for p in run["reader_a"].glob("log/*/evidence/*.checkpoint"))
    assert len(evidence) == 2 and all(str(p) in result.stdout for p in evidence)
    texts = {p.read_bytes().split(b"\n")[2] for p in evidence}
    assert len(texts) == 2  # two roots for one size, both signed by the log key


def test_log_gossip_names_the_inconsistent_pair(run: dict[str, Any]) -> None:
    result = run["gossip"]
    assert result.returncode == 1
    pairs = json.loads(result.stdout)["inconsistent"]
    assert [p[:2] for p in pairs] == [[str(run["server"].bare), str(run["fork"])]]
    assert "different roots" in pairs[0][2]
    same = run_cli("log", "gossip", str(run["server"].bare), str(run["server"].bare))
    assert "every checkpoint consistent" in same.stderr


def test_discover_and_import_check_the_log_too(run: dict[str, Any]) -> None:
    found = run["discover_a"]
    assert found.returncode == 0, found.stderr
    assert "log checkpoint 5 of example.org/chrysalis-elites" in found.stderr
    assert len(json.loads(found.stdout)) == 5
    refused = run["import_a_fork"]
    assert refused.returncode == 1 and "[split-view]" in refused.stderr, refused.stderr


def _checkpoints(repo: Path) -> list[tuple[bytes, tlogstore.Stored]]:
    commits = git("rev-list", "--reverse", logrole.REF, cwd=repo).stdout.split()
    handle = gitedge.open_repo(repo)
    return [(tlogstore.at(handle, c).note, tlogstore.at(handle, c)) for c in commits]


def _tile_check(path: str, data: bytes) -> dict[str, Any]:
    parts = path.split("/")
    width = int(parts[-1]) if ".p" in path else 256
    digits = [p for p in parts[2:] if p != str(width) or ".p" not in path]
    index = int("".join(d.removeprefix("x").removesuffix(".p") for d in digits))
    return {"op": "tile", "level": int(parts[1]), "index": index, "width": width,
            "data": base64.b64encode(data).decode()}


@pytest.mark.skipif(go_missing() is not None, reason=str(go_missing()))
@pytest.mark.parametrize("which", ["server", "fork"])
def test_go_checks_every_checkpoint_cosignature_proof_and_tile_of_the_run(
        run: dict[str, Any], logcheck: Path, which: str) -> None:  # noqa: F811
    repo = run["server"].bare if which == "server" else run["fork"]
    notes = _checkpoints(repo)
    final = notes[-1][1]
    size = note.Checkpoint.parse(note.Note.parse(final.note).text).size
    entries = tlogstore.leaves(final, 0, size)
    reader = tlogstore.hash_reader(final, size)
    vkey = log_vkey()
    cosigners = {name: note.cosigner_vkey(name, key(seed).public) for name, seed in NAMES}
    checks: list[dict[str, Any]] = []
    before: note.Checkpoint | None = None
    for data, _ in notes:
        parsed = note.Note.parse(data)
        cp = note.Checkpoint.parse(parsed.text)
        b64 = base64.b64encode
        checks += [{"op": "open", "vkey": vkey, "note": data.decode()},
                   {"op": "root", "n": cp.size, "root": b64(cp.root).decode()}]
        checks += [{"op": "cosig", "vkey": cosigners[s.name], "note": data.decode()}
                   for s in parsed.signatures if s.name in cosigners]
        if before is not None and before.size < cp.size:
            proof = tlog.prove_tree(cp.size, before.size, reader)
            checks.append({"op": "tree", "t": cp.size, "n": before.size,
                           "root_t": b64(cp.root).decode(), "root_n": b64(before.root).decode(),
                           "proof": [b64(h).decode() for h in proof]})
        before = cp
    tree = git("ls-tree", "-r", "--name-only", logrole.REF, cwd=repo).stdout.split()
    checks += [_tile_check(p, final.read(p)) for p in tree if p.startswith("tile/")
               and not p.startswith("tile/entries/")]
    results = go(logcheck, entries, checks)
    bad = [(c["op"], r["err"]) for c, r in zip(checks, results, strict=True) if not r["ok"]]
    assert not bad, bad
    assert sum(c["op"] == "cosig" for c in checks) >= (13 if which == "server" else 8)



@pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))
def test_the_page_checks_the_checkpoint_and_its_cosignatures(run: dict[str, Any]) -> None:
    import time

    tmp = run["tmp"]
    seen = {}
    for name in ("site-honest", "site-fork"):
        with serve(tmp / name) as url, chromium(tmp) as browser:
            browser.get(url)
            for _ in range(200):
                status = browser.find_element("id", "status").text
                if "verified," in status:
                    break
                time.sleep(0.1)
            seen[name] = (status, browser.find_element("id", "freshness").text,
                          browser.find_element("id", "banner").text)
    status, meta, banner = seen["site-honest"]
    assert "5 verified, 0 failed" in status and banner == ""
    assert "Witnessed log: checkpoint 5, cosigned by w1.example, w2.example, w3.example" in meta
    status, _, banner = seen["site-fork"]
    assert "0 verified" in status
    assert banner.startswith("FAILED: witnessed log: checkpoint of size 5 has 0 valid witness")
