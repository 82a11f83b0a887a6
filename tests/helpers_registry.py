"""Builders for registry tests: signed documents from SEEDS keys, registries, servers, clones.

Documents are real (real Ed25519 over real JCS); repositories are real git repositories.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import canonical, documents, keys, layout
from git_elite.core.state import MemoryState, additions
from tests.conftest import BIN, SEEDS, git, run_cli

T0 = 1_767_000_000


def key(name: str) -> keys.Keypair:
    return keys.Keypair.from_seed(bytes.fromhex(SEEDS[name]))


def nid(name: str) -> str:
    return key(name).did[len("did:key:"):]


def profile(n: int = 0, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "signature": "OptSig", "signature_schema": {"inputs": ["task"], "outputs": ["patch"]},
        "module": "ChainOfThought", "profile": "editor",
        "system_prompt_hash": "sha256:" + hashlib.sha256(f"prompt {n}".encode()).hexdigest(),
        "demos_hash": "sha256:" + hashlib.sha256(b"[]\n").hexdigest(),
        "tools_enabled": ["read", "write"], "candidate_id": f"c{n}"}
    body.update(extra)
    return body


def agent_id_of(config: dict[str, Any]) -> str:
    return hashlib.sha256(canonical.canonicalize(config)).hexdigest()


def manifest(owner: str, config: dict[str, Any], *, created_at: int = T0, rate: float = 0.9,
             total: int = 100, recent: int = 20, sign_as: str | None = None,
             **extra: Any) -> dict[str, Any]:
    """A manifest of `config` owned by `owner`, signed by `sign_as` (default the owner)."""
    body: dict[str, Any] = {
        "schema_version": 1, "agent_id": agent_id_of(config), "owner_did": key(owner).did,
        "repo_ref": {"type": "git", "url": "https://example.invalid/agents.git",
                     "commit": "a" * 40, "path": "."},
        "signature": config["signature"], "module": config["module"],
        "profile": config["profile"], "system_prompt_fingerprint": config["system_prompt_hash"],
        "demos_fingerprint": config["demos_hash"],
        "metrics": {"success_rate": rate, "total_tasks": total, "avg_duration_ms": 5320,
                    "recent_tasks_7d": recent, "critical_failures_24h": 0},
        "task_type_stats": {"file-edit": {"success_rate": 0.94, "count": min(total, 60)}},
        "provenance": {"chrysalis_version": "0.3.0", "gepa_version": "1.0.0",
                       "model": "gpt-4.1"},
        "created_at": created_at, "eval_window": {"from_ts": created_at - 1000,
                                                  "to_ts": created_at}}
    body.update(extra)
    signer = key(sign_as or owner)
    body["signature_ed25519"] = keys.encode_signature(
        signer.sign(documents.signing_input(documents.MANIFEST, body)))
    return body


def agent_files(owner: str, n: int = 0, **kw: Any) -> dict[str, bytes]:
    """manifest.json + profile.json of agent number `n`, as registry paths -> bytes."""
    config = profile(n)
    body = manifest(owner, config, **kw)
    return {layout.agent_path(body["agent_id"], "manifest.json"): documents.to_bytes(body),
            layout.agent_path(body["agent_id"], "profile.json"): documents.to_bytes(config)}


def identity(owner: str = "server", *, version: int = 1, delegates: tuple[str, ...] = (),
             threshold: int = 1, signers: tuple[str, ...] = (), fmt: int = 2, **policy: Any
             ) -> dict[str, Any]:
    dels = [key(d).did for d in (delegates or (owner,))]
    body: dict[str, Any] = {
        "type": "registry-identity", "schema_version": 1, "version": version,
        "name": "chrysalis-elites", "owner_did": key(owner).did, "delegates": dels,
        "threshold": threshold,
        "policy": {"publish": "open", "publishers": [], "min_total_tasks": 0,
                   "min_success_rate": 0.0, "max_manifest_bytes": 65536, **policy},
        "created_at": T0 + version}
    if fmt != 1:
        body["format"] = fmt
    return documents.sign_multi(body, [key(s) for s in (signers or (owner,))])


def tombstone(owner: str, agent_id: str, created_at: int = T0 + 100) -> dict[str, Any]:
    body = {"type": "tombstone", "schema_version": 1, "agent_id": agent_id, "reason": "retired",
            "created_at": created_at}
    return documents.sign(body, key(owner))


def endorsement(by: str, to: str, created_at: int = T0) -> dict[str, Any]:
    body = {"type": "endorsement", "schema_version": 1, "to": key(to).did,
            "task_types": ["*"], "created_at": created_at, "revoked": False}
    return documents.sign(body, key(by))


def rotation(old: str, new: str, created_at: int = T0 + 50) -> dict[str, Any]:
    return documents.sign_rotation(key(old), key(new), created_at)


def attestation(by: str, agent: str, *, created_at: int = T0 + 10, rate: float = 0.8,
                revoked: bool = False, sign_as: str | None = None, **extra: Any
                ) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "attestation", "schema_version": 1, "agent_id": agent,
        "attester": key(by).did, "created_at": created_at, "revoked": revoked}
    if not revoked:
        body.update(metrics={"success_rate": rate, "total_tasks": 80, "avg_duration_ms": 4000,
                             "recent_tasks_7d": 12, "critical_failures_24h": 0},
                    task_type_stats={"file-edit": {"success_rate": rate, "count": 40}},
                    method={"suite": "https://example.invalid/suite", "evals_sha256": "1" * 64},
                    eval_window={"from_ts": created_at - 5000, "to_ts": created_at - 10})
    body.update(extra)
    signer = key(sign_as or by)
    return {**body, "signature_ed25519": documents.sign(
        {**body, "attester": signer.did}, signer)["signature_ed25519"]}


def with_index(files: dict[str, bytes]) -> dict[str, bytes]:
    """`files` plus the index files (INDEX.json, shards) a from-scratch build gives."""
    from git_elite.core import engine

    out = {k: v for k, v in files.items() if k != layout.INDEX and not k.startswith("index/")}
    built = engine.expected_files(MemoryState(), additions(out), MemoryState(out))
    out.update({k: v for k, v in built.items() if v is not None})
    return out


def base_files(owner: str = "server") -> dict[str, bytes]:
    return with_index({layout.IDENTITY: documents.to_bytes(identity(owner)),
                       ".gitattributes": layout.GITATTRIBUTES.encode()})


# real git ----------------------------------------------------------------------------------
def write_files(root: Path, files: dict[str, bytes | None]) -> None:
    for rel, data in files.items():
        path = root / rel
        if data is None:
            if path.exists():
                path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def node_env(name: str) -> dict[str, str]:
    return {"AGENTD_KEYGEN_SEED": SEEDS[name]}


def make_identity(name: str = "server") -> None:
    """Write $AGENTD_HOME/identity.json for SEEDS[name] (SPEC §2 format)."""
    import base58

    from git_elite.edges import store

    k = key(name)
    doc = {"did": k.did, "publicKeyBase58": base58.b58encode(k.public).decode(),
           "secretKeyBase58": base58.b58encode(k.secret64).decode(),
           "publicKeyMultibase": k.did[len("did:key:"):], "createdAt": T0, "alias": name}
    home = store.ensure_home()
    store.atomic_write(home / "identity.json", documents.to_bytes(doc), 0o600)


_INITIALISED: dict[str, Path] = {}


def make_registry(path: Path, owner: str = "server") -> Path:
    """A registry made by the real `git elite init` (signed by `owner`) at `path`. The init
    runs once per owner and test process; later calls copy its work tree (.git included:
    nothing in it names its folder), which is what `init` would have written, less a second
    of interpreter start-up each. Tests of `init` itself call the command directly."""
    make_identity(owner)
    if owner not in _INITIALISED:
        base = Path(tempfile.mkdtemp(prefix="elite-init-"))
        atexit.register(shutil.rmtree, base, True)
        run_cli("init", str(base / "registry"), "--name", "chrysalis-elites")
        _INITIALISED[owner] = base / "registry"
    shutil.copytree(_INITIALISED[owner], path, symlinks=True, dirs_exist_ok=True)
    return path


def make_server(tmp: Path, owner: str = "server") -> tuple[Path, Path]:
    """A registry work tree `tmp/work` and a bare `tmp/server.git` with the server hook."""
    work = make_registry(tmp / "work", owner)
    server = tmp / "server.git"
    git("clone", "-q", "--bare", str(work), str(server))
    run_cli("hooks", "install", "--server", cwd=server)
    git("remote", "add", "origin", str(server), cwd=work)
    git("fetch", "-q", "origin", cwd=work)
    git("branch", "-q", "--set-upstream-to=origin/main", cwd=work)
    return work, server


def commit_raw(work: Path, files: dict[str, bytes | None], message: str = "change", *,
               index: bool = False) -> str:
    """Commit `files` with no hooks (INDEX.json as given, or rebuilt first with `index`);
    returns the commit id."""
    write_files(work, files)
    if index:
        reindex(work)
    git("add", "-A", ".", cwd=work)
    git("-c", "core.hooksPath=/dev/null", "commit", "-q", "--allow-empty", "-m", message,
        cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def two_branches(reg: Path) -> None:
    """Commit bob's agent on a new branch `side` and alice's on main (checked out after), with
    the installed hooks: two branches that both changed INDEX.json, ready to merge."""
    git("checkout", "-q", "-b", "side", cwd=reg)
    write_files(reg, agent_files("bob", 2))
    git("add", "agents", cwd=reg)
    git("commit", "-q", "-m", "bob", cwd=reg)
    git("checkout", "-q", "main", cwd=reg)
    write_files(reg, agent_files("alice", 1))
    git("add", "agents", cwd=reg)
    git("commit", "-q", "-m", "alice", cwd=reg)


def reindex(work: Path) -> None:
    """What `git elite index` does, in-process (fast)."""
    from git_elite.core import engine
    from git_elite.edges.worktree import DirState

    if (work / layout.IDENTITY).exists():
        write_files(work, engine.full_index(DirState(str(work))))


def push(work: Path, *refspec: str, force: bool = False) -> Any:
    args = ["push", "-q", *(["--force"] if force else []), "origin", *(refspec or ("HEAD:main",))]
    return git(*args, cwd=work, check=False, env={"LC_ALL": "C", **os.environ})


@contextlib.contextmanager
def isolated_module_env(tmp: Path) -> Iterator[None]:
    """conftest's isolation for module-scoped fixtures (which cannot use its autouse one)."""
    home = tmp / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"HOME": home, "AGENTD_HOME": home / ".agentd",
                            "GIT_CONFIG_GLOBAL": home / ".gitconfig", "GIT_CONFIG_NOSYSTEM": 1,
                            "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
                            "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z", "NO_COLOR": 1,
                            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}.items():
            mp.setenv(name, str(value))
        mp.delenv("AGENTD_KEYGEN_SEED", raising=False)
        yield


PIECES_OWNERS = ("alice", "bob", "carol")


@contextlib.contextmanager
def pieces_registry(tmp: Path) -> Iterator[Path]:
    """A module's template registry: 12 agents of PIECES_OWNERS in several pieces, committed
    with its index, at tmp/reg, inside `isolated_module_env(tmp)` (held while it is used)."""
    with isolated_module_env(tmp):
        reg = make_registry(tmp / "reg")
        files: dict[str, bytes | None] = {}
        for n in range(12):
            files.update(agent_files(PIECES_OWNERS[n % 3], n, total=60 + n, recent=20))
        commit_raw(reg, files, "agents", index=True)
        yield reg


def registry_copy(template: Path, tmp_path: Path) -> Path:
    """A test's own copy of a module's template registry (links kept as links), at
    tmp_path/reg: the module builds the registry once, each test changes its copy."""
    work = tmp_path / "reg"
    shutil.copytree(template, work, symlinks=True)
    return work
