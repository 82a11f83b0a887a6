"""`git elite id …` end to end: identity file, SSH and Radicle keys, rotation."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from fixtures import generate
from git_elite.core import documents
from tests.conftest import SEEDS, run_cli

RADICLE_DID = "did:key:z6MknSLrJoTcukLrE435hVNQT4JUhbvWLX4kUzqkEStBU8Vi"
FIXTURES = Path(generate.__file__).resolve().parent / "docs"


def agentd() -> Path:
    return Path(os.environ["AGENTD_HOME"])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def secret_of(name: str) -> str:
    return str(json.loads((FIXTURES / "identities" / f"{name}.json").read_text())
               ["secretKeyBase58"])


def init(name: str = "alice") -> str:
    proc = run_cli("id", "init", "--alias", name, env={"AGENTD_KEYGEN_SEED": SEEDS[name]})
    return proc.stdout.strip()


def test_init_writes_private_identity_file() -> None:
    did = init()
    assert did == generate.key("alice").did
    assert mode(agentd()) == 0o700
    assert mode(agentd() / "identity.json") == 0o600
    body = json.loads((agentd() / "identity.json").read_text())
    assert set(body) == {"did", "publicKeyBase58", "secretKeyBase58", "publicKeyMultibase",
                         "createdAt", "alias"}
    assert body["publicKeyMultibase"] == did.removeprefix("did:key:")


def test_init_refuses_to_overwrite_without_force() -> None:
    init()
    proc = run_cli("id", "init", env={"AGENTD_KEYGEN_SEED": SEEDS["bob"]}, check=1)
    assert "--force" in proc.stderr and proc.stderr.count("\n") == 1
    forced = run_cli("id", "init", "--force", env={"AGENTD_KEYGEN_SEED": SEEDS["bob"]})
    assert forced.stdout.strip() == generate.key("bob").did


def test_show_json_keys_and_no_secret() -> None:
    init()
    shown = json.loads(run_cli("id", "show", "--json").stdout)
    assert set(shown) == {"did", "nid", "alias", "ssh_public_key", "created_at"}
    assert shown["nid"] == shown["did"].removeprefix("did:key:")
    assert shown["ssh_public_key"].startswith("ssh-ed25519 AAAA")
    human = run_cli("id", "show")
    assert shown["did"] in human.stdout
    assert secret_of("alice") not in human.stdout + human.stderr


def test_commands_without_identity_say_what_to_do() -> None:
    proc = run_cli("id", "show", check=1)
    assert "no identity: run `git elite id init`" in proc.stderr


def test_import_accepts_fixture_and_refuses_chrysalis_example() -> None:
    run_cli("id", "import", str(FIXTURES / "identities" / "bob.json"))
    assert json.loads(run_cli("id", "show", "--json").stdout)["did"] == generate.key("bob").did
    bad = run_cli("id", "import", "--force",
                  str(FIXTURES / "identities" / "bad-chrysalis-example.json"), check=1)
    assert "publicKeyBase58" in bad.stderr and "inconsistent" in bad.stderr
    assert "Traceback" not in bad.stderr and secret_of("alice") not in bad.stderr


@pytest.mark.parametrize("field", ["did", "publicKeyMultibase", "publicKeyBase58"])
def test_import_refuses_each_mismatching_public_field(tmp_path: Path, field: str) -> None:
    body = json.loads((FIXTURES / "identities" / "alice.json").read_text())
    other = json.loads((FIXTURES / "identities" / "bob.json").read_text())
    body[field] = other[field]
    path = tmp_path / "identity.json"
    path.write_text(json.dumps(body))
    proc = run_cli("id", "import", str(path), check=1)
    assert f"`{field}`" in proc.stderr


def test_import_accepts_public_then_seed_layout_with_warning(tmp_path: Path) -> None:
    vectors = json.loads((FIXTURES.parent / "vectors" / "ed25519-secret-key-formats.json")
                         .read_text())["keys"][0]
    wrong = next(v for k, v in vectors.items() if k.startswith("WRONG_ORDER"))
    path = tmp_path / "identity.json"
    path.write_text(json.dumps({"did": vectors["did_key"], "secretKeyBase58": wrong}))
    proc = run_cli("id", "import", str(path))
    assert proc.stdout.strip() == vectors["did_key"]
    assert "warning" in proc.stderr and "public||seed" in proc.stderr


def test_did_document_shape() -> None:
    did = init()
    doc = json.loads(run_cli("id", "did-document").stdout)
    vm = doc["verificationMethod"][0]
    assert doc["id"] == did and vm["controller"] == did
    assert vm["type"] == "Ed25519VerificationKey2020"
    assert vm["publicKeyMultibase"] == did.removeprefix("did:key:")
    assert vm["id"] == f"{did}#{vm['publicKeyMultibase']}"
    assert doc["authentication"] == doc["assertionMethod"] == [vm["id"]]


def test_export_ssh_matches_ssh_keygen(tmp_path: Path) -> None:
    init()
    lines = run_cli("id", "export-ssh").stdout.splitlines()
    assert lines[0].startswith("ssh-ed25519 ") and lines[0].endswith(" alice")
    assert lines[1] == f'alice namespaces="git" {lines[0].rsplit(" ", 1)[0]}'
    key = tmp_path / "id_ed25519"
    proc = run_cli("id", "export-ssh", "--private", "-o", str(key))
    assert "PRIVATE KEY" not in proc.stdout + proc.stderr
    assert mode(key) == 0o600
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(key)], capture_output=True,
                             text=True, check=True).stdout.split()
    assert derived[:2] == lines[0].split()[:2]


def test_export_ssh_private_needs_explicit_output() -> None:
    init()
    assert run_cli("id", "export-ssh", "--private", check=2).stdout == ""
    assert "OPENSSH PRIVATE KEY" in run_cli("id", "export-ssh", "--private", "-o", "-").stdout


def test_allowed_signers_verifies_ssh_signature(tmp_path: Path) -> None:
    init()
    key = tmp_path / "key"
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(run_cli("id", "export-ssh").stdout.splitlines()[1] + "\n")
    run_cli("id", "export-ssh", "--private", "-o", str(key))
    message = tmp_path / "msg"
    message.write_text("hello\n")
    subprocess.run(["ssh-keygen", "-Y", "sign", "-f", str(key), "-n", "git", str(message)],
                   check=True, capture_output=True)
    with message.open("rb") as stdin:
        ok = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "alice",
                             "-n", "git", "-s", f"{message}.sig"], stdin=stdin,
                            capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize("passphrase", ["", "correct horse"], ids=["plain", "encrypted"])
def test_radicle_round_trip(tmp_path: Path, passphrase: str) -> None:
    run_cli("id", "init", env={"AGENTD_KEYGEN_SEED": "ff" * 32})
    rad = tmp_path / "rad"
    env = {"RAD_PASSPHRASE": passphrase}
    assert run_cli("id", "export-radicle", "--rad-home", str(rad), env=env).stdout.strip() \
        == RADICLE_DID.removeprefix("did:key:")
    assert mode(rad / "keys" / "radicle") == 0o600
    pub = (rad / "keys" / "radicle.pub").read_text()
    assert pub.startswith("ssh-ed25519 AAAA") and pub.endswith(" radicle\n")
    keygen = ["ssh-keygen", "-y", "-P", passphrase, "-f", str(rad / "keys" / "radicle")]
    assert subprocess.run(keygen, capture_output=True, text=True, check=True).stdout.split()[:2] \
        == pub.split()[:2]
    run_cli("id", "export-radicle", "--rad-home", str(rad), check=1)
    imported = run_cli("id", "import-radicle", "--force", env={"RAD_HOME": str(rad), **env})
    assert imported.stdout.strip() == RADICLE_DID
    assert passphrase == "" or passphrase not in imported.stdout + imported.stderr


def test_import_radicle_wrong_passphrase_is_not_echoed(tmp_path: Path) -> None:
    init()
    rad = tmp_path / "rad"
    run_cli("id", "export-radicle", "--rad-home", str(rad), env={"RAD_PASSPHRASE": "right"})
    for wrong in ("wrong-secret-phrase", ""):
        proc = run_cli("id", "import-radicle", "--rad-home", str(rad), "--force",
                       env={"RAD_PASSPHRASE": wrong}, check=1)
        assert "passphrase" in proc.stderr.lower() and "wrong-secret-phrase" not in proc.stderr


def test_import_radicle_missing_key(tmp_path: Path) -> None:
    proc = run_cli("id", "import-radicle", "--rad-home", str(tmp_path), check=1)
    assert "no Radicle key" in proc.stderr


def test_rotate_signs_statement_with_both_keys() -> None:
    old = init()
    new = run_cli("id", "rotate", env={"AGENTD_KEYGEN_SEED": SEEDS["rotated"]}).stdout.strip()
    assert new == generate.key("rotated").did != old
    nid = old.removeprefix("did:key:")
    statement = agentd() / "rotations" / f"{nid}.json"
    raw = statement.read_bytes()
    doc, problems = documents.check(raw, str(statement))
    assert problems == [] and doc is not None
    assert (doc.body["from"], doc.body["to"]) == (old, new)
    assert json.loads(run_cli("id", "show", "--json").stdout)["did"] == new
    assert mode(agentd() / "retired-keys" / f"{nid}.json") == 0o600
    run_cli("verify-file", str(statement))


def test_rotate_refuses_the_same_key() -> None:
    init()
    proc = run_cli("id", "rotate", env={"AGENTD_KEYGEN_SEED": SEEDS["alice"]}, check=1)
    assert "equals the old one" in proc.stderr
