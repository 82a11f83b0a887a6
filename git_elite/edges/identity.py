"""This node's identity: `$AGENTD_HOME/identity.json` (SPEC §2).

The file format is fixed by the Chrysalis Forge design documents:
`did`, `publicKeyBase58`, `secretKeyBase58` (base58 of seed || public), `publicKeyMultibase`,
`createdAt`, `alias`. Reading is strict: the secret decides the key, and every public field
present must agree with it (a mismatch is an IdentityError naming the field). The secret
never appears in a message, a repr or any output.
"""

from __future__ import annotations

from git_elite.core import jsonstrict, keys
from git_elite.core.errors import EliteError, IdentityError
from git_elite.edges import store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

FILENAME = "identity.json"
MAX_BYTES = 16 * 1024
NO_IDENTITY = "no identity: run `git elite id init`"


class Identity(NamedTuple):
    """A key pair with its alias and creation time; `warning` is set when the file was read
    in an accepted-but-discouraged layout (public || seed)."""

    key: keys.Keypair
    alias: str
    created_at: int
    warning: str | None = None

    def __repr__(self) -> str:  # the key left out, as the dataclass's field(repr=False) did
        return (f"Identity(alias={self.alias!r}, created_at={self.created_at!r}, "
                f"warning={self.warning!r})")

    @property
    def did(self) -> str:
        return self.key.did

    @property
    def nid(self) -> str:
        return self.key.did[len(keys.DID_PREFIX):]

    @property
    def public_base58(self) -> str:
        return keys.b58encode(self.key.public)

    def to_dict(self) -> dict[str, Any]:
        """The identity.json object, secret included: only for writing the 0600 file."""
        return {"did": self.did, "publicKeyBase58": self.public_base58,
                "secretKeyBase58": keys.b58encode(self.key.secret64),
                "publicKeyMultibase": self.nid, "createdAt": self.created_at,
                "alias": self.alias}

    def to_bytes(self) -> bytes:
        import json

        return (json.dumps(self.to_dict(), indent=2) + "\n").encode()

    def public_dict(self) -> dict[str, Any]:
        """What `id show --json` prints (never a secret)."""
        from git_elite.core import sshkey

        return {"did": self.did, "nid": self.nid, "alias": self.alias,
                "ssh_public_key": sshkey.public_line(self.key, self.alias or self.nid),
                "created_at": self.created_at}


def new(alias: str, created_at: int, key: keys.Keypair | None = None) -> Identity:
    return Identity(key or keys.Keypair.generate(), alias, created_at)


def _field(body: dict[str, Any], name: str, kind: type, name_of: str) -> Any:
    value = body.get(name)
    if value is not None and type(value) is not kind:
        raise IdentityError(f"`{name}` must be a {kind.__name__}", path=name_of)
    return value


def _secret(body: dict[str, Any], name: str) -> tuple[keys.Keypair, str | None]:
    text = _field(body, "secretKeyBase58", str, name)
    if not text:
        raise IdentityError("no `secretKeyBase58` field", path=name)
    try:
        # (trailing ASCII whitespace ignored, as the `base58` package this read before did)
        raw = keys.b58decode(text.encode("ascii").rstrip().decode("ascii"))
    except ValueError:
        raise IdentityError("`secretKeyBase58` is not base58", path=name) from None
    try:
        return keys.parse_secret_key(raw)
    except IdentityError as err:
        raise IdentityError(f"`secretKeyBase58`: {err.message}", path=name) from None


def _agree(body: dict[str, Any], key: keys.Keypair, name: str) -> None:
    expected = {"did": key.did, "publicKeyMultibase": key.did[len(keys.DID_PREFIX):],
                "publicKeyBase58": keys.b58encode(key.public)}
    if "did" not in body:
        raise IdentityError("no `did` field", path=name)
    for field_name, want in expected.items():
        value = _field(body, field_name, str, name)
        if value is not None and value != want:
            raise IdentityError(
                f"`{field_name}` {value[:60]!r} does not belong to the secret key (its "
                f"{field_name} is {want!r}); the file is inconsistent, refusing it", path=name)


def from_bytes(raw: bytes, name: str) -> Identity:
    """Parse and check an identity.json; IdentityError/JsonError on any problem."""
    try:
        body = jsonstrict.load_object(raw, name=name, max_bytes=MAX_BYTES)
    except EliteError as err:
        raise IdentityError(err.message, path=name) from None
    key, warning = _secret(body, name)
    _agree(body, key, name)
    alias = _field(body, "alias", str, name) or ""
    created = _field(body, "createdAt", int, name) or 0
    return Identity(key, alias, created, warning)


def path() -> Path:
    return store.home() / FILENAME


def exists() -> bool:
    return path().exists()


def save(ident: Identity, force: bool = False, target: Path | None = None) -> Path:
    """Write identity.json (0600) under a 0700 $AGENTD_HOME; refuse to overwrite unless
    `force`."""
    where = target or path()
    if target is None:
        store.ensure_home()
    if where.exists() and not force:
        raise IdentityError(f"{where} already exists (use --force to replace it; the old "
                            "key is then lost unless you keep a copy)")
    store.atomic_write(where, ident.to_bytes(), mode=0o600)
    return where


def load_identity() -> Identity:
    """This node's identity, for every command that signs."""
    import os

    where = os.path.join(store.home_dir(), FILENAME)  # (str(path()), without pathlib)
    if not os.path.exists(where):
        raise IdentityError(NO_IDENTITY)
    _warn_if_readable(where)
    return from_bytes(store.read_bytes(where), where)


_WARNED: set[str] = set()


def _warn_if_readable(where: str | Path) -> None:
    """Like ssh with a private key: say so (once) when others may read the secret."""
    import os
    import stat

    mode = stat.S_IMODE(os.stat(where).st_mode)
    if mode & 0o077 and str(where) not in _WARNED:
        from git_elite.edges import output

        _WARNED.add(str(where))
        output.warn(f"{where} is readable by others (mode {mode:04o}); it holds your "
                    f"secret key: chmod 600 {where}")


def backup_comment(ident: Identity) -> str:
    """What an `id backup` file carries beside the key (the OpenSSH key comment)."""
    import json

    return json.dumps({"alias": ident.alias, "createdAt": ident.created_at},
                      separators=(",", ":"), ensure_ascii=False)


def from_backup(key: keys.Keypair, comment: str, alias: str, now: int) -> Identity:
    """The identity of a restored key: alias and createdAt from a git-elite backup's comment,
    else `alias` and `now` (a key from elsewhere, e.g. `ssh-keygen`)."""
    import json

    try:
        meta = json.loads(comment) if comment.startswith("{") else None
    except ValueError:
        meta = None
    if isinstance(meta, dict) and isinstance(meta.get("alias"), str) \
            and type(meta.get("createdAt")) is int:
        return Identity(key, meta["alias"], meta["createdAt"])
    return Identity(key, alias, now)


def file_problems(where: Path) -> list[str]:
    """What is wrong with identity.json at `where` and its directory: consistency (every
    public field agrees with the secret), a regular file owned by this user, mode 0600 in
    a 0700 directory. Empty when all is well."""
    import os
    import stat

    if not where.exists():
        return [NO_IDENTITY]
    out = []
    if where.is_symlink() or not where.is_file():
        out.append(f"{where}: not a regular file")
    info, folder = where.stat(), where.parent.stat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        out.append(f"{where}: owned by uid {info.st_uid}, not you ({os.getuid()})")
    if stat.S_IMODE(info.st_mode) & 0o077:
        out.append(f"{where}: mode {stat.S_IMODE(info.st_mode):04o}, others can read the "
                   f"secret key (chmod 600 {where})")
    if stat.S_IMODE(folder.st_mode) & 0o077:
        out.append(f"{where.parent}: mode {stat.S_IMODE(folder.st_mode):04o}, not private "
                   f"(chmod 700 {where.parent})")
    try:
        from_bytes(store.read_bytes(where), str(where))
    except EliteError as err:
        out.append(str(err))
    return out


def default_alias() -> str:
    """The alias of a new identity when none is given: the login name."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "agent"


def announce(ident: Identity, verb: str) -> None:
    """One line on stderr: what was done with the identity and where it is kept."""
    from git_elite.edges import output

    output.info(f"{verb} {ident.did} ({ident.alias}) in {path()}")
    if ident.warning:
        output.warn(ident.warning)
