"""OpenSSH Ed25519 keys: the same key as the did:key, for git commit signing and Radicle.

Public line: `ssh-ed25519 <base64 of the SSH wire encoding> <comment>`. Private key file:
`openssh-key-v1`, unencrypted or (with a passphrase) aes256-ctr + bcrypt-pbkdf, written and
read with `cryptography`. Passphrases never appear in a message.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from git_elite.core import keys
from git_elite.core.errors import IdentityError

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


def load_private(data: bytes, passphrase: bytes | None, name: str,
                 hint: str = "RAD_PASSPHRASE") -> keys.Keypair:
    """Read an OpenSSH Ed25519 private key; IdentityError (naming `name`, never the
    passphrase) when it is not one, is encrypted without a passphrase, or the passphrase is
    wrong."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    encrypted = _cipher(data, name) != "none"
    if encrypted and not passphrase:
        raise IdentityError(f"the key is encrypted: set its passphrase ({hint})", path=name)
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


# backups: openssh-key-v1, aes256-ctr + bcrypt-pbkdf, with a comment ----------------------
# (cryptography writes the same format but always with an empty comment; the comment carries
# the identity's alias and createdAt, so a restore gives back identity.json as it was)
MAGIC = b"openssh-key-v1\0"
BEGIN, END = b"-----BEGIN OPENSSH PRIVATE KEY-----", b"-----END OPENSSH PRIVATE KEY-----"
CIPHER, KDF, ROUNDS, BLOCK = b"aes256-ctr", b"bcrypt", 16, 16


def _aes_ctr(passphrase: bytes, salt: bytes, rounds: int) -> Any:
    import bcrypt
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    derived = bcrypt.kdf(password=passphrase, salt=salt, desired_key_bytes=48, rounds=rounds,
                         ignore_few_rounds=True)
    return Cipher(algorithms.AES(derived[:32]), modes.CTR(derived[32:]))


def encrypted_pem(key: keys.Keypair, passphrase: bytes, comment: str,
                  rounds: int = ROUNDS) -> bytes:
    """The key as OpenSSH writes `ssh-keygen -t ed25519 -N PASS -C COMMENT` (openssh-key-v1,
    aes256-ctr, bcrypt-pbkdf with `rounds` rounds, OpenSSH's default 16)."""
    import os

    if not passphrase:
        raise IdentityError("an empty passphrase would leave the backup unencrypted")
    salt, check = os.urandom(16), os.urandom(4)
    secret = (check + check + _string(KEY_TYPE) + _string(key.public)
              + _string(key.seed + key.public) + _string(comment.encode()))
    secret += bytes(range(1, 1 + (-len(secret)) % BLOCK))
    encryptor = _aes_ctr(passphrase, salt, rounds).encryptor()
    body = encryptor.update(secret) + encryptor.finalize()
    blob = (MAGIC + _string(CIPHER) + _string(KDF) + _string(_string(salt)
            + struct.pack(">I", rounds)) + struct.pack(">I", 1)
            + _string(public_blob(key.public)) + _string(body))
    text = base64.b64encode(blob)
    return b"\n".join([BEGIN, *(text[i:i + 70] for i in range(0, len(text), 70)), END]) + b"\n"


def comment_of(data: bytes, passphrase: bytes | None, name: str) -> str:
    """The comment inside an OpenSSH private key (after `load_private` accepted the file and
    the passphrase; "" when it cannot be read)."""
    try:
        fields = _Reader(base64.b64decode(b"".join(data.strip().splitlines()[1:-1]))[
            len(MAGIC):])
        cipher, _kdf, options = fields.string(), fields.string(), _Reader(fields.string())
        fields.u32()
        fields.string()
        secret = fields.string()
        if cipher == CIPHER and passphrase:
            salt, rounds = options.string(), options.u32()
            decryptor = _aes_ctr(passphrase, salt, rounds).decryptor()
            secret = decryptor.update(secret) + decryptor.finalize()
        elif cipher != b"none":
            return ""
        inner = _Reader(secret[8:])
        for _ in range(3):
            inner.string()
        return inner.string().decode("utf-8", "replace")
    except (ValueError, IndexError, struct.error):
        return ""


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def u32(self) -> int:
        (value,) = struct.unpack(">I", self.data[self.at:self.at + 4])
        self.at += 4
        return int(value)

    def string(self) -> bytes:
        size = self.u32()
        if self.at + size > len(self.data):
            raise ValueError("truncated")
        value = self.data[self.at:self.at + size]
        self.at += size
        return value


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
