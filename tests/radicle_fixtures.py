"""TEST DOUBLES for Radicle — not Radicle. Built from the formats of SPEC §11 (checked
against heartwood's source), because the Radicle CLI cannot be installed here.

`RadHome` writes a `$RAD_HOME` the way `rad auth` / `rad init` / a node would leave it:
`keys/radicle` (OpenSSH ed25519, 0600) and `keys/radicle.pub`; `storage/<z-rid>`, a bare repo
with an identity chain at `refs/rad/id` (tree: `embeds/radicle.json`, canonical JSON),
per-delegate refs under `refs/namespaces/<nid>/refs/…` and `refs/rad/sigrefs` commits whose
tree holds `refs` and `signature`. `RadRepo.clone` makes a working copy like `rad clone`.
`tests/bin/git-remote-rad` (the remote-helper double) signs with `sign_namespace` below.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from git_elite.core import radicle
from git_elite.core.canonical import canonicalize
from git_elite.core.keys import Keypair, nid_from_did
from git_elite.edges import gitrad

BIN_DIR = Path(__file__).resolve().parent / "bin"
# set by git for a remote helper; `_git` works on the repo at `cwd` instead
_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX")
FF_SEED = b"\xff" * 32  # Radicle's test key (alice in heartwood's CLI examples)


def _git(*args: str, cwd: Path, input: bytes | None = None,
         env: dict[str, str] | None = None) -> str:
    base = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                          env={**base, **(env or {})}, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr.decode()}")
    return proc.stdout.decode().strip()


def write_object(repo: Path, data: bytes) -> str:
    return _git("hash-object", "-w", "--stdin", cwd=repo, input=data)


def write_tree(repo: Path, entries: dict[str, str]) -> str:
    """A tree of blobs; names with one `/` become a subtree (enough for `embeds/…`)."""
    subdirs: dict[str, dict[str, str]] = {}
    lines = []
    for name, oid in sorted(entries.items()):
        head, sep, rest = name.partition("/")
        if sep:
            subdirs.setdefault(head, {})[rest] = oid
        else:
            lines.append(f"100644 blob {oid}\t{name}")
    lines += [f"040000 tree {write_tree(repo, sub)}\t{d}" for d, sub in subdirs.items()]
    return _git("mktree", cwd=repo, input=("\n".join(lines) + "\n").encode())


def commit_tree(repo: Path, tree: str, message: str, parent: str | None, nid: str) -> str:
    args = ["commit-tree", tree, "-m", message] + (["-p", parent] if parent else [])
    env = {"GIT_AUTHOR_NAME": "radicle", "GIT_AUTHOR_EMAIL": nid,
           "GIT_COMMITTER_NAME": "radicle", "GIT_COMMITTER_EMAIL": nid}
    return _git(*args, cwd=repo, env=env)


def namespace_refs(storage: Path, nid: str) -> dict[str, str]:
    prefix = f"refs/namespaces/{nid}/"
    out = _git("for-each-ref", "--format=%(objectname) %(refname)", prefix, cwd=storage)
    refs = {}
    for line in out.splitlines():
        oid, name = line.split(" ", 1)
        refs[name[len(prefix):]] = oid
    refs.pop(radicle.SIGREFS_REF, None)
    return refs


def sign_namespace(storage: Path, key: Keypair, *, parent_line: bool = True) -> str:
    """Write a new `refs/rad/sigrefs` commit for `key`'s namespace, like a node does."""
    nid = nid_from_did(key.did)
    sigref = f"refs/namespaces/{nid}/{radicle.SIGREFS_REF}"
    parent = _git("for-each-ref", "--format=%(objectname)", sigref, cwd=storage) or None
    refs = namespace_refs(storage, nid)
    if parent and parent_line:
        refs[radicle.SIGREFS_PARENT_REF] = parent
    blob = radicle.canonical_refs(refs)
    tree = write_tree(storage, {"refs": write_object(storage, blob),
                                "signature": write_object(storage, key.sign(blob))})
    commit = commit_tree(storage, tree, "Update signed refs\n", parent, nid)
    _git("update-ref", sigref, commit, cwd=storage)
    return commit


def identity_document(delegates: list[str], name: str, branch: str, description: str = "",
                      threshold: int = 1) -> bytes:
    return canonicalize({"delegates": delegates, "threshold": threshold, "payload": {
        radicle.PROJECT_PAYLOAD: {"name": name, "description": description,
                                  "defaultBranch": branch}}})


def private_key_file(seed: bytes, passphrase: str = "") -> tuple[bytes, bytes]:
    """(`keys/radicle`, `keys/radicle.pub`) bytes for `seed`, via `cryptography`."""
    private = Ed25519PrivateKey.from_private_bytes(seed)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
        else serialization.NoEncryption())
    secret = private.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.OpenSSH, encryption)
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH)
    return secret, public + b" radicle\n"


def read_private_key(path: Path, passphrase: str = "") -> Keypair:
    raw = serialization.load_ssh_private_key(path.read_bytes(), passphrase.encode() or None)
    assert isinstance(raw, Ed25519PrivateKey)
    seed = raw.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())
    return Keypair.from_seed(seed)


@dataclass
class RadRepo:
    """One repository in the double's storage."""

    storage: Path
    rid: str
    root: str
    branch: str

    def push(self, key: Keypair, source: Path, branch: str | None = None,
             sign: bool = True) -> str:
        """Put `source`'s branch into `key`'s namespace (and sign, unless forging)."""
        branch = branch or self.branch
        nid = nid_from_did(key.did)
        _git("push", "-q", "--force", str(self.storage),
             f"{branch}:refs/namespaces/{nid}/refs/heads/{branch}", cwd=source)
        if sign:
            sign_namespace(self.storage, key)
        return _git("rev-parse", branch, cwd=source)

    def forge_tip(self, nid: str, oid: str, branch: str | None = None) -> None:
        """Move a namespace's branch without re-signing: a tip no delegate signed."""
        _git("update-ref", f"refs/namespaces/{nid}/refs/heads/{branch or self.branch}", oid,
             cwd=self.storage)

    def update_identity(self, signer: Keypair, document: bytes) -> str:
        """A new identity revision (its doc no longer hashes to the RID; the root still does)."""
        tree = write_tree(self.storage, {radicle.DOC_PATH: write_object(self.storage, document)})
        parent = _git("rev-parse", radicle.IDENTITY_REF, cwd=self.storage)
        commit = commit_tree(self.storage, tree, "Update identity\n", parent,
                             nid_from_did(signer.did))
        _git("update-ref", radicle.IDENTITY_REF, commit, cwd=self.storage)
        return commit

    def clone(self, dest: Path, key: Keypair, source_nid: str) -> Path:
        """A working copy like `rad clone`: remote `rad`, url/pushurl, no `refs/rad/*`."""
        _git("init", "-q", "-b", self.branch, str(dest), cwd=dest.parent)
        url = f"rad://{self.rid[len(radicle.RAD_PREFIX):]}"
        _git("remote", "add", "rad", url, cwd=dest)
        _git("config", "remote.rad.pushurl", f"{url}/{nid_from_did(key.did)}", cwd=dest)
        _git("fetch", "-q", str(self.storage),
             f"refs/namespaces/{source_nid}/refs/heads/*:refs/remotes/rad/*", cwd=dest)
        _git("checkout", "-q", "-B", self.branch, f"refs/remotes/rad/{self.branch}", cwd=dest)
        _git("branch", "-q", f"--set-upstream-to=rad/{self.branch}", cwd=dest)
        return dest


@dataclass
class RadHome:
    """A `$RAD_HOME` written by the test double."""

    path: Path

    def env(self, passphrase: str = "") -> dict[str, str]:
        return {"RAD_HOME": str(self.path), "RAD_PASSPHRASE": passphrase,
                "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"}

    def write_keys(self, seed: bytes, passphrase: str = "") -> Keypair:
        secret, public = private_key_file(seed, passphrase)
        keys_dir = self.path / "keys"
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name, data in (("radicle", secret), ("radicle.pub", public)):
            target = keys_dir / name
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(target, 0o600)
        return Keypair.from_seed(seed)

    def init_repo(self, source: Path, delegates: list[Keypair], name: str = "chrysalis-elites",
                  branch: str = "main", threshold: int = 1) -> RadRepo:
        """Like `rad init` in `source`: storage, identity root, first delegate's refs signed."""
        document = identity_document([k.did for k in delegates], name, branch,
                                     threshold=threshold)
        rid = radicle.rid_of_document(document)
        storage = gitrad.storage_path(rid, self.path)
        storage.parent.mkdir(parents=True, exist_ok=True)
        _git("init", "-q", "--bare", str(storage), cwd=storage.parent)
        tree = write_tree(storage, {radicle.DOC_PATH: write_object(storage, document)})
        first = nid_from_did(delegates[0].did)
        root = commit_tree(storage, tree, "Initialize identity\n", None, first)
        _git("update-ref", radicle.IDENTITY_REF, root, cwd=storage)
        _git("symbolic-ref", "HEAD", f"refs/heads/{branch}", cwd=storage)
        repo = RadRepo(storage, rid, root, branch)
        for key in delegates:
            nid = nid_from_did(key.did)
            _git("update-ref", f"refs/namespaces/{nid}/{radicle.IDENTITY_REF}", root, cwd=storage)
            _git("update-ref", f"refs/namespaces/{nid}/{radicle.IDENTITY_ROOT_REF}", root,
                 cwd=storage)
        tip = repo.push(delegates[0], source, branch)
        _git("update-ref", f"refs/heads/{branch}", tip, cwd=storage)
        return repo
