"""`git elite id backup|restore|verify` (issue 10.8) through the real CLI, with real
ssh-keygen: the backup is an OpenSSH private key file other tools open with the passphrase."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from fixtures import generate
from tests.conftest import SEEDS, run_cli

PASS = "zebra-Quartz-71 correct horse"
SSH_KEYGEN = shutil.which("ssh-keygen")
needs_ssh_keygen = pytest.mark.skipif(SSH_KEYGEN is None, reason="ssh-keygen is not installed "
                                      "(Debian package openssh-client; .ci/run installs it)")


def agentd() -> Path:
    return Path(os.environ["AGENTD_HOME"])


def init(name: str = "alice") -> str:
    return run_cli("id", "init", "--alias", name,
                   env={"AGENTD_KEYGEN_SEED": SEEDS[name]}).stdout.strip()


def backup(out: Path, *extra: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
    return run_cli("id", "backup", "-o", str(out), *extra, env={"ELITE_PASSPHRASE": PASS},
                   check=check)


@needs_ssh_keygen
def test_backup_opens_with_ssh_keygen(tmp_path: Path) -> None:
    init()
    out = tmp_path / "elite.key"
    proc = backup(out)
    assert PASS not in proc.stdout + proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text()
    assert text.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    opened = subprocess.run([str(SSH_KEYGEN), "-y", "-P", PASS, "-f", str(out)],
                            capture_output=True, text=True, check=True)
    shown = json.loads(run_cli("id", "show", "--json").stdout)["ssh_public_key"]
    assert opened.stdout.split()[:2] == shown.split()[:2]
    wrong = subprocess.run([str(SSH_KEYGEN), "-y", "-P", "not it", "-f", str(out)],
                           capture_output=True, text=True, check=False)
    assert wrong.returncode != 0
    # the secret is not in the file in the clear
    secret = json.loads((agentd() / "identity.json").read_text())["secretKeyBase58"]
    assert secret not in text and "secretKeyBase58" not in text


def test_restore_gives_back_the_same_identity(tmp_path: Path) -> None:
    did = init()
    before = json.loads((agentd() / "identity.json").read_text())
    out = tmp_path / "elite.key"
    backup(out)
    (agentd() / "identity.json").unlink()
    proc = run_cli("id", "restore", str(out), env={"ELITE_PASSPHRASE": PASS})
    assert proc.stdout.strip() == did
    assert json.loads((agentd() / "identity.json").read_text()) == before
    assert stat.S_IMODE((agentd() / "identity.json").stat().st_mode) == 0o600
    run_cli("id", "verify")


def test_restore_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    init("alice")
    out = tmp_path / "alice.key"
    backup(out)
    init_bob = run_cli("id", "init", "--force", env={"AGENTD_KEYGEN_SEED": SEEDS["bob"]})
    bob = init_bob.stdout.strip()
    refused = run_cli("id", "restore", str(out), env={"ELITE_PASSPHRASE": PASS}, check=1)
    assert "--force" in refused.stderr and refused.stderr.count("\n") == 1
    assert json.loads((agentd() / "identity.json").read_text())["did"] == bob
    forced = run_cli("id", "restore", str(out), "--force", env={"ELITE_PASSPHRASE": PASS})
    assert forced.stdout.strip() == generate.key("alice").did


@pytest.mark.parametrize("passphrase, message", [
    ("wrong passphrase", "wrong passphrase"), ("", "no passphrase: set ELITE_PASSPHRASE")],
    ids=["wrong", "none-without-a-terminal"])
def test_restore_bad_passphrase_one_line(tmp_path: Path, passphrase: str, message: str) -> None:
    init()
    out = tmp_path / "elite.key"
    backup(out)
    (agentd() / "identity.json").unlink()
    proc = run_cli("id", "restore", str(out), env={"ELITE_PASSPHRASE": passphrase},
                   check=None)
    assert proc.returncode in (1, 2) and message in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert not passphrase or passphrase not in proc.stderr.replace(message, "")
    assert not (agentd() / "identity.json").exists()


def test_backup_refuses_to_overwrite_and_needs_a_passphrase(tmp_path: Path) -> None:
    init()
    out = tmp_path / "elite.key"
    out.write_text("keep me\n")
    assert "--force" in backup(out, check=1).stderr
    assert out.read_text() == "keep me\n"
    backup(out, "--force")
    none = run_cli("id", "backup", "-o", str(tmp_path / "b2"), env={"ELITE_PASSPHRASE": ""},
                   check=1)  # state, not a usage error (issue 27 item 8)
    assert "ELITE_PASSPHRASE" in none.stderr and not (tmp_path / "b2").exists()


@needs_ssh_keygen
def test_restore_a_key_made_by_ssh_keygen(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    subprocess.run([str(SSH_KEYGEN), "-q", "-t", "ed25519", "-N", PASS, "-C", "laptop",
                    "-f", str(key)], check=True)
    proc = run_cli("id", "restore", str(key), env={"ELITE_PASSPHRASE": PASS})
    did = proc.stdout.strip()
    public = subprocess.run([str(SSH_KEYGEN), "-y", "-P", PASS, "-f", str(key)],
                            capture_output=True, text=True, check=True).stdout
    shown = json.loads(run_cli("id", "show", "--json").stdout)
    assert shown["did"] == did and shown["ssh_public_key"].split()[1] == public.split()[1]
    rsa = tmp_path / "id_rsa"
    subprocess.run([str(SSH_KEYGEN), "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", str(rsa)],
                   check=True)
    refused = run_cli("id", "restore", str(rsa), "--force", check=1)
    assert "not an Ed25519 key" in refused.stderr


def _on_a_terminal(args: list[str], answers: list[str]) -> str:
    """Run `git elite ARGS` on a pseudo-terminal, answering each prompt; the transcript."""
    env = {k: v for k, v in os.environ.items() if k != "ELITE_PASSPHRASE"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec git elite on the terminal
        os.execvpe("git", ["git", "elite", *args], env)
    transcript, pending, deadline = b"", list(answers), time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            transcript += chunk
            # click prints "Passphrase:", then getpass turns echo off (flushing input) and
            # prints the space: answer only after that space
            if pending and transcript.endswith(b": "):
                os.write(fd, pending.pop(0).encode() + b"\n")
    else:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return transcript.decode(errors="replace")


def test_prompt_does_not_echo_the_passphrase(tmp_path: Path) -> None:
    init()
    out = tmp_path / "elite.key"
    transcript = _on_a_terminal(["id", "backup", "-o", str(out)], [PASS, PASS])
    assert "Passphrase" in transcript and "backed up" in transcript, transcript
    assert PASS not in transcript
    (agentd() / "identity.json").unlink()
    transcript = _on_a_terminal(["id", "restore", str(out)], [PASS])
    assert "restored" in transcript and PASS not in transcript, transcript


BAD_STATE = {
    "world-readable": (lambda p: p.chmod(0o644), "mode 0644"),
    "group-readable": (lambda p: p.chmod(0o640), "mode 0640"),
    "home-open": (lambda p: p.parent.chmod(0o755), "chmod 700"),
    "did-of-another-key": (lambda p: p.write_text(p.read_text().replace(
        json.loads(p.read_text())["did"], generate.key("bob").did)), "`did`"),
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[:40]), "invalid JSON"),
}


@pytest.mark.parametrize("damage, expected", BAD_STATE.values(), ids=BAD_STATE.keys())
def test_id_verify_names_each_problem(damage: object, expected: str) -> None:
    init()
    path = agentd() / "identity.json"
    damage(path)  # type: ignore[operator]
    proc = run_cli("id", "verify", check=1)
    assert expected in proc.stdout, proc.stdout
    assert proc.stdout.startswith("FAIL  ")


def test_id_verify_ok_and_without_identity() -> None:
    missing = run_cli("id", "verify", check=1)
    assert "git elite id init" in missing.stdout
    init()
    assert run_cli("id", "verify").stdout.startswith("ok    ")
