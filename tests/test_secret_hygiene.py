"""No command prints, logs or commits secret material; identity files 0600, AGENTD_HOME 0700.

Runs against whatever `git elite -h` lists in this tree (every command and subcommand with
`-h`, every top-level command bare, with a valid and with broken identity files that hold a
real secret), and asserts that every listed command was exercised. The scanner itself
(tests/helpers_secrets.py) is checked against planted secrets so it cannot pass vacuously.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import base58
import pytest

from git_elite.core import keys
from git_elite.edges import store
from tests.conftest import SEEDS, git, run_cli
from tests.helpers_secrets import (
    assert_no_secret,
    assert_repo_has_no_secret,
    encodings,
    find_secret,
)

ALICE = bytes.fromhex(SEEDS["alice"])
ALL_SEEDS = [bytes.fromhex(s) for s in SEEDS.values()]


def _listed(help_text: str) -> list[str]:
    """Command names of a click help's `Commands:` section."""
    section = help_text.split("Commands:", 1)[1] if "Commands:" in help_text else ""
    return [m.group(1) for m in re.finditer(r"^  ([a-z][a-z0-9-]*)\b", section, re.M)]


def _identity(seed: bytes, **override: object) -> dict[str, object]:
    key = keys.Keypair.from_seed(seed)
    body: dict[str, object] = {
        "did": key.did, "publicKeyBase58": base58.b58encode(key.public).decode(),
        "secretKeyBase58": base58.b58encode(key.secret64).decode(),
        "publicKeyMultibase": key.did.removeprefix("did:key:"), "createdAt": 1704067200,
        "alias": "hygiene"}
    body.update(override)
    return body


_BOB = keys.Keypair.from_seed(bytes.fromhex(SEEDS["bob"]))
_ALICE = keys.Keypair.from_seed(ALICE)
IDENTITIES: dict[str, bytes] = {
    "valid": json.dumps(_identity(ALICE)).encode(),
    "did-of-another-key": json.dumps(_identity(ALICE, did=_BOB.did)).encode(),
    "public||seed-order": json.dumps(_identity(
        ALICE, secretKeyBase58=base58.b58encode(_ALICE.public + ALICE).decode())).encode(),
    "truncated-secret": json.dumps(_identity(
        ALICE, secretKeyBase58=base58.b58encode(ALICE[:31]).decode())).encode(),
    "not-json-with-hex-seed": b"{ secret: " + ALICE.hex().encode() + b" ",
    "duplicate-secret-key": (b'{"secretKeyBase58": "x", ' +
                             json.dumps(_identity(ALICE)).encode()[1:]),
}


# ---------------------------------------------------------------- the scanner itself
@pytest.mark.parametrize("label", sorted(encodings(ALICE)))
def test_scanner_finds_every_encoding(label: str) -> None:
    needle = encodings(ALICE)[label]
    assert label in find_secret(b"prefix " + needle + b" suffix", [ALICE])


@pytest.mark.parametrize("shift", range(6))
def test_scanner_finds_seed_inside_longer_base64(shift: int) -> None:
    blob = base64.b64encode(b"\x07" * shift + ALICE + b"tail")
    assert find_secret(blob, [ALICE])
    assert find_secret(base64.urlsafe_b64encode(b"\x07" * shift + ALICE), [ALICE])


def test_scanner_finds_markers_and_is_quiet_on_public_data() -> None:
    assert find_secret("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA", [])
    assert find_secret('{"secretKeyBase58": "..."}', [])
    public_only = f"{_ALICE.did} {_ALICE.public.hex()} {base58.b58encode(_ALICE.public)!r}"
    assert find_secret(public_only, ALL_SEEDS) == []
    with pytest.raises(AssertionError, match=r"hex\(seed\)"):
        assert_no_secret(ALICE.hex(), [ALICE])


def test_repo_scan_finds_secret_anywhere_in_history(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    git("init", "-q", str(repo))
    (repo / "a.txt").write_text("harmless\n")
    git("add", "a.txt", cwd=repo)
    git("commit", "-qm", "clean", cwd=repo)
    assert assert_repo_has_no_secret(repo, ALL_SEEDS) >= 3  # commit, tree, blob
    (repo / "key.txt").write_text(base58.b58encode(_ALICE.secret64).decode())
    git("add", "key.txt", cwd=repo)
    git("commit", "-qm", "oops", cwd=repo)
    git("rm", "-q", "key.txt", cwd=repo)
    git("commit", "-qm", "removed again", cwd=repo)
    with pytest.raises(AssertionError, match=r"base58\(seed\|\|pub\)"):
        assert_repo_has_no_secret(repo, ALL_SEEDS)


# ---------------------------------------------------------------- every command's output
def _all_help_invocations() -> list[tuple[str, ...]]:
    top = run_cli("-h").stdout
    calls: list[tuple[str, ...]] = []
    for name in _listed(top):
        calls.append((name,))
        sub = run_cli(name, "-h").stdout
        calls += [(name, child) for child in _listed(sub)]
    return calls


def test_help_and_version_of_every_listed_command_leak_nothing(tmp_path: Path) -> None:
    home = Path(os.environ["AGENTD_HOME"])
    store.atomic_write(home / "identity.json", IDENTITIES["valid"], 0o600)
    outputs = [run_cli("-h"), run_cli("--version"), run_cli("--help-nonexistent", check=2)]
    calls = _all_help_invocations()
    for call in calls:
        outputs.append(run_cli(*call, "-h", cwd=tmp_path))
    listed = set(_listed(outputs[0].stdout))
    assert {c[0] for c in calls} == listed, "every listed command must be exercised"
    assert len(outputs) == 3 + len(calls)
    assert outputs[1].stdout.startswith("git-elite ")
    for proc in outputs:
        assert_no_secret(proc.stdout + proc.stderr, ALL_SEEDS, where=" ".join(proc.args))
        assert "Traceback" not in proc.stderr


FAST_SCENARIOS = {"valid", "not-json-with-hex-seed"}


@pytest.mark.parametrize("scenario", [
    s if s in FAST_SCENARIOS else pytest.param(s, marks=pytest.mark.slow)
    for s in sorted(IDENTITIES)])
def test_commands_with_identity_file_leak_nothing(scenario: str, tmp_path: Path) -> None:
    """Every listed command and subcommand run bare (with -v, so a traceback would show),
    beside a valid or a broken identity.json holding a real secret."""
    home = Path(os.environ["AGENTD_HOME"])
    store.ensure_home()
    (home / "identity.json").write_bytes(IDENTITIES[scenario])
    (home / "identity.json").chmod(0o600)
    work = tmp_path / "work"
    work.mkdir()
    calls = _all_help_invocations()
    runs = [run_cli("-v", "no-such-command", cwd=work, check=2),
            run_cli("-C", str(tmp_path / "missing"), "-h", cwd=work, check=None)]
    runs += [run_cli("-v", *call, cwd=work, check=None, input="") for call in calls]
    assert len(runs) == 2 + len(calls)
    for proc in runs:
        where = f"{' '.join(proc.args)} [{scenario}]"
        assert_no_secret(proc.stdout + proc.stderr, ALL_SEEDS, where=where)
        assert proc.returncode != 3, f"{where}: internal error\n{proc.stderr}"
    assert_no_secret(b"".join(p.read_bytes() for p in work.rglob("*") if p.is_file()),
                     ALL_SEEDS, where="files written in the working directory")
    for repo in {p.parent for p in work.rglob(".git")}:
        assert_repo_has_no_secret(repo, ALL_SEEDS)


# ---------------------------------------------------------------- file modes
def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_tightens_home_and_writes_secret_files_0600() -> None:
    home = Path(os.environ["AGENTD_HOME"])
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    assert store.ensure_home() == home and _mode(home) == 0o700
    store.atomic_write(home / "identity.json", IDENTITIES["valid"], 0o600)
    assert _mode(home / "identity.json") == 0o600
    assert [p.name for p in home.iterdir()] == ["identity.json"]  # no temp file left


def _require(*command: str) -> None:
    listed = _listed(run_cli("-h").stdout)
    if command[0] not in listed or (len(command) > 1 and
                                    command[1] not in _listed(run_cli(command[0], "-h").stdout)):
        pytest.skip(f"`git elite {' '.join(command)}` is not in this tree yet")


def test_id_init_modes_and_output() -> None:
    _require("id", "init")
    home = Path(os.environ["AGENTD_HOME"])
    env = {"AGENTD_KEYGEN_SEED": SEEDS["alice"]}
    outputs = [run_cli("id", "init", "--alias", "hygiene", env=env)]
    assert _mode(home) == 0o700 and _mode(home / "identity.json") == 0o600
    for extra in (("id", "show"), ("id", "show", "--json"), ("id", "export-ssh"),
                  ("id", "did-document"), ("id", "init", "--alias", "again")):
        _require(*extra[:2])
        outputs.append(run_cli(*extra, env=env, check=None))
    assert outputs[-1].returncode == 1, "id init must refuse to overwrite without --force"
    for proc in outputs:
        assert_no_secret(proc.stdout + proc.stderr, ALL_SEEDS, where=" ".join(proc.args))


def test_id_import_of_broken_files_names_no_secret(tmp_path: Path) -> None:
    _require("id", "import")
    for scenario, raw in sorted(IDENTITIES.items()):
        source = tmp_path / f"{scenario}.json"
        source.write_bytes(raw)
        proc = run_cli("id", "import", str(source), "--force", check=None)
        assert proc.returncode in (0, 1), f"{scenario}: exit {proc.returncode}\n{proc.stderr}"
        assert_no_secret(proc.stdout + proc.stderr, ALL_SEEDS, where=f"id import {scenario}")
        if proc.returncode == 0:
            assert _mode(Path(os.environ["AGENTD_HOME"]) / "identity.json") == 0o600


# ---------------------------------------------------------------- a whole real flow
PASSPHRASE = "correct horse battery staple 7"


def test_real_flow_leaks_nothing(tmp_path: Path) -> None:
    """id init → init → generate → sign/verify-file → commit through the client hooks →
    push into the server hook → publish → trust endorse → discover → import → unpublish →
    export-ssh → export/import-radicle: every output and every object of the registry, the
    server and the cache clones scanned for the seed in all its encodings."""
    from tests.helpers_pipeline import fixture_args

    home = Path(os.environ["AGENTD_HOME"])
    seen: list[str] = []

    def run(*args: str, check: int | None = 0, cwd: Path = tmp_path,
            env: dict[str, str] | None = None) -> str:
        proc = run_cli(*args, check=check, cwd=cwd, env=env)
        seen.append(f"$ git elite {' '.join(args)}\n{proc.stdout}{proc.stderr}")
        return proc.stdout

    run("id", "init", "--alias", "alice", env={"AGENTD_KEYGEN_SEED": SEEDS["alice"]})
    assert _mode(home) == 0o700 and _mode(home / "identity.json") == 0o600
    work, server = tmp_path / "registry", tmp_path / "server.git"
    run("init", str(work), "--name", "elites")
    git("clone", "-q", "--bare", str(work), str(server))
    run("hooks", "install", "--server", cwd=server)
    run("generate", *fixture_args())
    agents = sorted(p for p in (home / "elite").iterdir() if len(p.name) == 64)
    assert len(agents) >= 2
    body = json.loads((agents[0] / "manifest.json").read_text())
    body.pop("signature_ed25519")
    (tmp_path / "doc.json").write_text(json.dumps(body))
    run("sign", str(tmp_path / "doc.json"))
    run("verify-file", str(tmp_path / "doc.json"))
    target = work / "agents" / agents[0].name[:2] / agents[0].name
    target.mkdir(parents=True)
    for name in ("manifest.json", "profile.json"):
        (target / name).write_bytes((agents[0] / name).read_bytes())
    git("add", "-A", cwd=work)
    committed = git("commit", "-m", "add an agent through the client hooks", cwd=work)
    pushed = git("push", str(server), "HEAD:main", cwd=work)
    seen += [committed.stdout + committed.stderr, pushed.stdout + pushed.stderr]
    run("publish", "--registry", str(server), "--json")
    run("trust", "endorse", _BOB.did, "--registry", str(server))
    assert agents[1].name in run("discover", "--registry", str(server), "--json")
    run("import", agents[1].name, "--registry", str(server), "--allow-untrusted")
    run("unpublish", agents[1].name, "--registry", str(server), "--reason", "test")
    run("id", "export-ssh")
    run("id", "export-ssh", "--private", "-o", str(tmp_path / "ssh_key"))
    assert _mode(tmp_path / "ssh_key") == 0o600
    _radicle_round_trip(tmp_path, run)
    for text in seen:
        assert_no_secret(text, ALL_SEEDS, where=text.splitlines()[0] if text else "output")
        assert PASSPHRASE not in text, "a passphrase was echoed"
    caches = sorted((home / "cache" / "registries").glob("*.git"))
    assert caches
    for repo in (work, server, *caches):
        assert assert_repo_has_no_secret(repo, ALL_SEEDS) > 0, repo
    assert _mode(home) == 0o700 and _mode(home / "identity.json") == 0o600


def _radicle_round_trip(tmp: Path, run: Any) -> None:
    """export-radicle with RAD_PASSPHRASE (key file 0600, encrypted: no seed in it), then
    import-radicle with a wrong passphrase (exit 1) and the right one (same DID)."""
    rad = tmp / "rad-home"
    rad.mkdir()
    run("id", "export-radicle", "--rad-home", str(rad), env={"RAD_PASSPHRASE": PASSPHRASE})
    private = rad / "keys" / "radicle"
    assert _mode(private) == 0o600
    assert not [h for h in find_secret(private.read_bytes(), [ALICE]) if "(" in h], \
        "the exported Radicle key is not encrypted"
    run("id", "import-radicle", "--rad-home", str(rad), "--force", check=1,
        env={"RAD_PASSPHRASE": "wrong " + PASSPHRASE})
    run("id", "import-radicle", "--rad-home", str(rad), "--force",
        env={"RAD_PASSPHRASE": PASSPHRASE})
    assert _ALICE.did in run("id", "show")
