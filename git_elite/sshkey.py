"""OpenSSH Ed25519 keys: the same key as the did:key, for git commit signing and Radicle.

Public line: `ssh-ed25519 <base64 of the SSH wire encoding> <comment>`. Private key file:
`openssh-key-v1`, unencrypted or (with a passphrase) aes256-ctr + bcrypt-pbkdf, written and
read with `cryptography`. Passphrases never appear in a message.
"""

from __future__ import annotations

import base64
import struct

from git_elite import keys
from git_elite.errors import IdentityError

KEY_TYPE = b"ssh-ed25519"


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def public_blob(public: bytes) -> bytes:
    return _string(KEY_TYPE) + _string(public)


def public_line(key: keys.Keypair, comment: str = "") -> str:
    """`ssh-ed25519 AAAA… comment` (the comment is dropped when empty)."""
    line = f"{KEY_TYPE.decode()} {base64.b64encode(public_blob(key.public)).decode()}"
    return f"{line} {comment}" if comment else line


def allowed_signers_line(key: keys.Keypair, principal: str) -> str:
    """A line for git's `gpg.ssh.allowedSignersFile` / `ssh-keygen -Y verify -f`."""
    return f'{principal} namespaces="git" {public_line(key)}'


def private_pem(key: keys.Keypair, passphrase: bytes | None = None) -> bytes:
    """An openssh-key-v1 private key file; encrypted (aes256-ctr, bcrypt-pbkdf) when a
    non-empty passphrase is given."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.from_private_bytes(key.seed)
    encryption: ser.KeySerializationEncryption = (
        ser.BestAvailableEncryption(passphrase) if passphrase else ser.NoEncryption())
    return private.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, encryption)


def load_private(data: bytes, passphrase: bytes | None, name: str) -> keys.Keypair:
    """Read an OpenSSH Ed25519 private key; IdentityError (naming `name`, never the
    passphrase) when it is not one, is encrypted without a passphrase, or the passphrase is
    wrong."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    encrypted = _cipher(data, name) != "none"
    if encrypted and not passphrase:
        raise IdentityError("the key is encrypted: set its passphrase (RAD_PASSPHRASE)",
                            path=name)
    try:
        private = ser.load_ssh_private_key(data, passphrase if encrypted else None)
    except (ValueError, TypeError):
        reason = "wrong passphrase" if encrypted else "not a readable OpenSSH private key"
        raise IdentityError(reason, path=name) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise IdentityError("not an Ed25519 key (only ssh-ed25519 keys are identities)",
                            path=name)
    seed = private.private_bytes(ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption())
    return keys.Keypair.from_seed(seed)


def _cipher(data: bytes, name: str) -> str:
    """The cipher name of an openssh-key-v1 file ("none" when unencrypted)."""
    lines = data.strip().splitlines()
    if len(lines) < 3 or lines[0] != b"-----BEGIN OPENSSH PRIVATE KEY-----":
        raise IdentityError("not an OpenSSH private key (openssh-key-v1)", path=name)
    try:
        blob = base64.b64decode(b"".join(lines[1:-1]))
    except ValueError:
        raise IdentityError("corrupt OpenSSH private key", path=name) from None
    magic = b"openssh-key-v1\0"
    if not blob.startswith(magic) or len(blob) < len(magic) + 4:
        raise IdentityError("not an openssh-key-v1 private key", path=name)
    (size,) = struct.unpack(">I", blob[len(magic):len(magic) + 4])
    return blob[len(magic) + 4:len(magic) + 4 + size].decode("ascii", "replace")


def parse_public_line(line: str) -> bytes:
    """The 32-byte key of an `ssh-ed25519 AAAA…` line."""
    parts = line.split()
    if len(parts) < 2 or parts[0] != KEY_TYPE.decode():
        raise IdentityError("not an ssh-ed25519 public key line")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except ValueError:
        raise IdentityError("ssh-ed25519 key is not base64") from None
    prefix = _string(KEY_TYPE) + struct.pack(">I", 32)
    if len(blob) != len(prefix) + 32 or not blob.startswith(prefix):
        raise IdentityError("malformed ssh-ed25519 key blob")
    return blob[len(prefix):]
