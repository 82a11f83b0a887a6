"""`git elite id backup|restore|verify`: key backup and recovery (the Chrysalis design's §3.4.6).

A backup is the identity's Ed25519 key as an OpenSSH private key file (openssh-key-v1,
aes256-ctr + bcrypt-pbkdf, what `ssh-keygen -t ed25519 -N …` writes), with the alias and
createdAt in the key's comment: `ssh-keygen -y -f FILE` opens it with the passphrase, and any
OpenSSH Ed25519 key can be restored. The passphrase comes from ELITE_PASSPHRASE or a prompt
that does not echo; never from an argument.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from git_elite.cli.main import app
from git_elite.core import sshkey
from git_elite.core.errors import IdentityError
from git_elite.edges import identity, output, store

CONTEXT = {"help_option_names": ["-h", "--help"]}
ENV = "ELITE_PASSPHRASE"


def passphrase(confirm: bool) -> bytes:
    """ELITE_PASSPHRASE, else asked on the terminal without echo (twice with `confirm`)."""
    value = os.environ.get(ENV)
    if value:
        return value.encode()
    if not sys.stdin.isatty():
        raise IdentityError(f"no passphrase: set {ENV} (e.g. {ENV}=… git elite id "
                            "backup -o FILE) or run it on a terminal to be asked")
    text = click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
    if not text:
        raise IdentityError("an empty passphrase: choose one (or set ELITE_PASSPHRASE)")
    return str(text).encode()


@click.command("backup", context_settings=CONTEXT)
@click.option("-o", "out", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Where the encrypted backup goes (mode 0600).")
@click.option("--force", is_flag=True, help="Replace an existing FILE.")
def backup(out: Path, force: bool) -> None:
    """Write a passphrase-encrypted backup of this identity (an OpenSSH private key file).

    The passphrase comes from ELITE_PASSPHRASE, or is asked twice (not echoed). Other tools
    open the file too: `ssh-keygen -y -f FILE` prints its public key.

    \b
    Examples:
      git elite id backup -o ~/safe/elite-identity.key
      ELITE_PASSPHRASE=… git elite id backup -o /media/usb/elite.key --force
    """
    ident = identity.load_identity()
    if out.exists() and not force:
        raise IdentityError(f"{out} already exists (use --force to replace it)")
    pem = sshkey.encrypted_pem(ident.key, passphrase(confirm=True),
                               identity.backup_comment(ident))
    store.atomic_write(out, pem, mode=0o600)
    output.info(f"backed up {ident.did} to {out} (OpenSSH private key, aes256-ctr + "
                "bcrypt-pbkdf; mode 0600)")


@click.command("restore", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing identity.")
@click.pass_context
def restore(ctx: click.Context, file: Path, force: bool) -> None:
    """Bring an identity back from `id backup` (or any OpenSSH Ed25519 private key).

    Refuses to replace an identity.json without --force. The passphrase comes from
    ELITE_PASSPHRASE, or is asked (not echoed) when the file is encrypted.

    \b
    Examples:
      git elite id restore ~/safe/elite-identity.key
      ELITE_PASSPHRASE=… git elite id restore elite.key --force
    """
    data = store.read_bytes(file)
    secret = passphrase(confirm=False) if _encrypted(data, str(file)) else None
    key = sshkey.load_private(data, secret, str(file), hint=ENV)
    ident = identity.from_backup(key, sshkey.comment_of(data, secret, str(file)),
                                 identity.default_alias(), app(ctx).now)
    if identity.exists() and not force:
        current = identity.load_identity()
        if current.did == ident.did:
            output.info(f"{identity.path()} already holds {ident.did}; nothing to restore")
            return
        raise IdentityError(f"{identity.path()} already holds {current.did} (use --force to "
                            "replace it; that key is then lost unless you keep a backup)")
    identity.save(ident, force=True)
    identity.announce(ident, "restored")
    output.data(ident.did)


def _encrypted(data: bytes, name: str) -> bool:
    from git_elite.core.sshkey import _cipher

    return _cipher(data, name) != "none"


@click.command("verify", context_settings=CONTEXT)
def verify() -> int:
    """Check identity.json: every public field agrees with the secret key, it is a regular
    file of yours with mode 0600, in a 0700 $AGENTD_HOME.

    \b
    Examples:
      git elite id verify
    """
    where = identity.path()
    problems = identity.file_problems(where)
    for line in problems:
        output.data(f"FAIL  {line}")
    if problems:
        output.info(f"git-elite: id verify: {len(problems)} problem(s) in {where}")
        return 1
    ident = identity.load_identity()
    output.data(f"ok    {where}: {ident.did} (did, publicKeyBase58, publicKeyMultibase agree "
                "with the secret key; mode 0600; directory 0700)")
    return 0
