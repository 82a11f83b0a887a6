"""`git elite id …`: this node's identity (SPEC §2, §10, §11)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from git_elite.cli.commands import id_backup
from git_elite.cli.main import FullHelpGroup, app
from git_elite.core import documents, keys, sshkey
from git_elite.core.errors import IdentityError, UsageError
from git_elite.edges import identity, output, store

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.group("id", cls=FullHelpGroup, context_settings=CONTEXT)
def command() -> None:
    """Manage this node's identity ($AGENTD_HOME/identity.json).

    The identity is an Ed25519 key; its did:key suffix is the Radicle Node ID and the same
    key signs git commits over SSH.

    \b
    Examples:
      git elite id init --alias alice
      git elite id show --json
      git elite id export-ssh
    """


@command.command("init", context_settings=CONTEXT)
@click.option("--alias", help="A name for humans (default: your user name).")
@click.option("--force", is_flag=True, help="Replace an existing identity (its key is lost).")
@click.pass_context
def init(ctx: click.Context, alias: str | None, force: bool) -> None:
    """Create a new identity (refuses to overwrite one without --force).

    \b
    Examples:
      git elite id init --alias alice
    """
    ident = identity.new(alias if alias is not None else identity.default_alias(), app(ctx).now)
    identity.save(ident, force=force)
    identity.announce(ident, "created")
    output.data(ident.did)


@command.command("show", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(as_json: bool) -> None:
    """Show the did, NID, alias, SSH public key and creation time (never the secret).

    \b
    Examples:
      git elite id show
      git elite id show --json | jq -r .did
    """
    ident = identity.load_identity()
    if ident.warning:
        output.warn(ident.warning)
    public = ident.public_dict()
    if as_json:
        output.emit_json(public)
        return
    for name in ("did", "nid", "alias", "ssh_public_key", "created_at"):
        output.data(f"{name + ':':<16}{public[name]}")


@command.command("import", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing identity.")
def import_(file: Path, force: bool) -> None:
    """Take an identity.json written by another client (checked before it is saved).

    \b
    Examples:
      git elite id import ~/chrysalis/identity.json
    """
    ident = identity.from_bytes(store.read_bytes(file), str(file))
    identity.save(identity.Identity(ident.key, ident.alias, ident.created_at), force=force)
    identity.announce(ident, "imported")
    output.data(ident.did)


@command.command("did-document", context_settings=CONTEXT)
def did_document() -> None:
    """Print the W3C DID document of this did:key.

    \b
    Examples:
      git elite id did-document > did.json
    """
    output.emit_json(did_doc(identity.load_identity().did))


def did_doc(did: str) -> dict[str, object]:
    """The DID document of an Ed25519 did:key (did:key method, Ed25519VerificationKey2020)."""
    nid = keys.nid_from_did(did)
    vm_id = f"{did}#{nid}"
    return {
        "@context": ["https://www.w3.org/ns/did/v1",
                     "https://w3id.org/security/suites/ed25519-2020/v1"],
        "id": did,
        "verificationMethod": [{"id": vm_id, "type": "Ed25519VerificationKey2020",
                                "controller": did, "publicKeyMultibase": nid}],
        "authentication": [vm_id], "assertionMethod": [vm_id],
        "capabilityInvocation": [vm_id], "capabilityDelegation": [vm_id],
    }


@command.command("export-ssh", context_settings=CONTEXT)
@click.option("--principal", help="Principal of the allowed_signers line (default: alias).")
@click.option("--private", "private", is_flag=True, help="Also write the private key.")
@click.option("-o", "out", metavar="FILE", help="Where the private key goes (`-` = stdout).")
@click.option("--force", is_flag=True, help="Replace an existing FILE (and FILE.pub).")
def export_ssh(principal: str | None, private: bool, out: str | None, force: bool) -> None:
    """Print the SSH public key and an allowed_signers line for git commit signing.

    With --private -o FILE also write the OpenSSH private key (mode 0600) and FILE.pub,
    like ssh-keygen; an existing FILE or FILE.pub is never replaced without --force. The
    key goes to stdout only with an explicit `-o -`.

    \b
    Examples:
      git elite id export-ssh
      git elite id export-ssh --private -o ~/.ssh/elite_ed25519
      git config gpg.format ssh && git config user.signingKey ~/.ssh/elite_ed25519
    """
    ident = identity.load_identity()
    if private and not out:
        raise UsageError("--private needs -o FILE (or `-o -` for stdout)")
    if out and not private:
        raise UsageError("-o is only for --private")
    output.data(sshkey.public_line(ident.key, ident.alias or ident.nid))
    output.data(sshkey.allowed_signers_line(ident.key, principal or ident.alias or ident.nid))
    if private and out == "-":
        sys.stdout.write(sshkey.private_pem(ident.key).decode())
    elif private and out:
        target = Path(out).expanduser()
        pub = target.with_name(target.name + ".pub")
        existing = [str(p) for p in (target, pub) if p.exists() or p.is_symlink()]
        if existing and not force:
            raise IdentityError(f"{' and '.join(existing)} already exist(s); not replaced "
                                "(choose another -o FILE, or --force)")
        store.atomic_write(target, sshkey.private_pem(ident.key), mode=0o600)
        store.atomic_write(pub, (sshkey.public_line(ident.key, ident.alias or ident.nid)
                                 + "\n").encode(), mode=0o644)
        output.info(f"private key written to {target} (mode 0600), public key to {pub}")


@command.command("rotate", context_settings=CONTEXT)
@click.option("--discard-old", is_flag=True,
              help="Delete the old secret instead of keeping it in retired-keys/.")
@click.option("--registry", "registry", metavar="R",
              help="Also publish the statement there (identities/<old-nid>/rotation.json).")
@click.pass_context
def rotate(ctx: click.Context, discard_old: bool, registry: str | None) -> int:
    """Replace this node's key with a new one and sign a key-rotation statement.

    The statement (signed by both keys) is saved as $AGENTD_HOME/rotations/<old-nid>.json
    and the new key becomes identity.json. The old identity file is kept, mode 0600, in
    $AGENTD_HOME/retired-keys/<old-nid>.json unless --discard-old.

    Publish the statement to every registry that holds your manifests: --registry R does
    it now; `git elite publish` also carries it along with the first update of a manifest
    the old key owns (re-signed by the new key).

    \b
    Examples:
      git elite id rotate --registry origin
      git elite id rotate && git elite publish --registry origin
    """
    old = identity.load_identity()
    new = identity.new(old.alias, app(ctx).now)
    if new.did == old.did:
        raise IdentityError("the new key equals the old one (AGENTD_KEYGEN_SEED is set to the "
                            "old seed?); nothing rotated")
    statement = documents.sign_rotation(old.key, new.key, app(ctx).now)
    home = store.ensure_home()
    rotation = home / "rotations" / f"{old.nid}.json"
    store.atomic_write(rotation, documents.to_bytes(statement), mode=0o644)
    if not discard_old:
        retired = home / "retired-keys"
        store.ensure_dir(retired)
        store.atomic_write(retired / f"{old.nid}.json", old.to_bytes(), mode=0o600)
    identity.save(new, force=True)
    output.info(f"rotated {old.did} -> {new.did}; statement in {rotation}")
    output.data(new.did)
    if registry is None:
        output.info(f"publish it as identities/{old.nid}/rotation.json: `git elite id "
                    "rotate` did not push it; `git elite publish --registry R` carries it "
                    "with your manifests")
        return 0
    return _publish_rotation(registry, documents.to_bytes(statement), new.key)


def _publish_rotation(name: str, raw: bytes, key: keys.Keypair) -> int:
    from git_elite.cli.commands.publish import report
    from git_elite.edges import publish, succession

    target = publish.open_target(publish.choose(name), key)
    result = publish.publish_files(target, [succession.rotation_item(raw)],
                                   f"key rotation\n\nby {key.did}\n")
    report(result, False, "published")
    return 0 if result.ok else 1


def _rad_home(rad_home: Path | None) -> Path:
    if rad_home:
        return rad_home
    configured = os.environ.get("RAD_HOME")
    return Path(configured) if configured else Path.home() / ".radicle"


def _passphrase() -> bytes | None:
    value = os.environ.get("RAD_PASSPHRASE")
    return value.encode() if value else None


@command.command("import-radicle", context_settings=CONTEXT)
@click.option("--rad-home", type=click.Path(file_okay=False, path_type=Path),
              help="Radicle home (default: $RAD_HOME or ~/.radicle).")
@click.option("--force", is_flag=True, help="Replace an existing identity.")
@click.pass_context
def import_radicle(ctx: click.Context, rad_home: Path | None, force: bool) -> None:
    """Use the Radicle key ($RAD_HOME/keys/radicle) as this node's identity.

    An encrypted key is opened with the passphrase in RAD_PASSPHRASE.

    \b
    Examples:
      RAD_PASSPHRASE=… git elite id import-radicle
      git elite id import-radicle --rad-home /srv/radicle --force
    """
    key_file = _rad_home(rad_home) / "keys" / "radicle"
    if not key_file.exists():
        raise IdentityError(f"{key_file}: no Radicle key (run `rad auth`, or pass --rad-home)")
    key = sshkey.load_private(store.read_bytes(key_file), _passphrase(), str(key_file))
    ident = identity.new(identity.default_alias(), app(ctx).now, key)
    identity.save(ident, force=force)
    identity.announce(ident, "imported Radicle key")
    output.data(ident.did)


@command.command("export-radicle", context_settings=CONTEXT)
@click.option("--rad-home", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Radicle home to write keys/ into.")
@click.option("--force", is_flag=True, help="Replace existing Radicle keys.")
def export_radicle(rad_home: Path, force: bool) -> None:
    """Write this identity as Radicle keys (keys/radicle 0600, keys/radicle.pub).

    The private key is encrypted with RAD_PASSPHRASE when it is set.

    \b
    Examples:
      RAD_PASSPHRASE=… git elite id export-radicle --rad-home ~/.radicle
    """
    ident = identity.load_identity()
    key_dir = rad_home / "keys"
    private, public = key_dir / "radicle", key_dir / "radicle.pub"
    if not force and (private.exists() or public.exists()):
        raise IdentityError(f"{key_dir} already holds Radicle keys (use --force to replace)")
    store.ensure_dir(key_dir)
    store.atomic_write(private, sshkey.private_pem(ident.key, _passphrase()), mode=0o600)
    store.atomic_write(public, (sshkey.public_line(ident.key, "radicle") + "\n").encode(),
                       mode=0o644)
    output.info(f"wrote {private} and {public} (NID {ident.nid})")
    output.data(ident.nid)


# backup, restore, verify: in their own module
for _sub in (id_backup.backup, id_backup.restore, id_backup.verify):
    command.add_command(_sub)
