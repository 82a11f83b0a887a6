"""The files around `generate` (SPEC §5.1, §9): the agents file and the prompt and demo files
it names (hashed, never copied), this node's key, the repository we are in (`repo_ref`)
and the signed manifests written to $AGENTD_HOME/elite/<agent_id>/. Turning eval logs into
manifests is core/generate.py's (pure).

Agents file (`--agents FILE`, YAML or JSON)::

    profiles:
      editor:
        signature: EditFile
        signature_schema: {inputs: [path, instruction], outputs: [patch]}
        module: ChainOfThought
        system_prompt: prompts/editor.md     # hashed locally, relative to the file
        demos: demos/editor.json             # hashed locally, never copied
        tools_enabled: [read_file, write_file]
        model: gpt-4.1                       # used when the evals name no model
        provenance: {chrysalis_version: 0.3.0}
        candidates:
          cand-b: {system_prompt: prompts/editor-b.md}   # overrides for one candidate
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from git_elite.core import documents, jsonstrict, keys
from git_elite.core.errors import EliteError
from git_elite.core.generate import Candidate, fingerprint, recordable_url
from git_elite.edges import store

ENTRY_FIELDS = {"signature", "signature_schema", "module", "system_prompt", "demos",
                "tools_enabled", "model", "provenance", "candidates"}


def load_agents(path: Path) -> dict[str, dict[str, Any]]:
    """Read and validate an agents file; returns {profile: entry} with file hashes resolved."""
    from git_elite.core import yamlsafe

    raw = store.read_bytes(path)
    if path.suffix == ".json":
        body: Any = jsonstrict.loads(raw, name=str(path), max_bytes=1024 * 1024)
    else:
        try:
            body = yamlsafe.load(raw)
        except yamlsafe.YamlError as err:
            raise EliteError(f"{path}: {err}") from None
    profiles = body.get("profiles") if isinstance(body, dict) else None
    if not isinstance(profiles, dict) or set(body) != {"profiles"}:
        raise EliteError(f"{path}: expected a single top-level mapping `profiles:`")
    return {str(name): _entry(path, str(name), entry) for name, entry in profiles.items()}


def _entry(path: Path, name: str, entry: Any, nested: bool = False) -> dict[str, Any]:
    where = f"{path}: profiles.{name}"
    if not isinstance(entry, dict):
        raise EliteError(f"{where} is not a mapping")
    unknown = sorted(set(map(str, entry)) - ENTRY_FIELDS - ({"candidates"} if nested else set()))
    if unknown:
        raise EliteError(f"{where}: unknown field(s) {', '.join(unknown)}")
    _check_types(where, entry)
    out = dict(entry)
    for field in ("system_prompt", "demos"):
        if field in out:
            out[field] = fingerprint(store.read_bytes(path.parent / str(out[field])))
    candidates = out.pop("candidates", None) or {}
    if nested and candidates:
        raise EliteError(f"{where}: candidates cannot nest")
    if not isinstance(candidates, dict):
        raise EliteError(f"{where}.candidates is not a mapping")
    out["candidates"] = {str(c): _entry(path, f"{name}.candidates.{c}", e, nested=True)
                         for c, e in candidates.items()}
    return out


_STRINGS = ("signature", "module", "model", "system_prompt", "demos")


def _check_types(where: str, entry: dict[Any, Any]) -> None:
    """Each field of an agents-file entry has the shape it must have (one-line errors)."""
    for field in _STRINGS:
        if field in entry and not isinstance(entry[field], str):
            raise EliteError(f"{where}.{field} must be a string (quote it)")
    tools = entry.get("tools_enabled", [])
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise EliteError(f"{where}.tools_enabled must be a list of strings")
    schema = entry.get("signature_schema", {})
    if not isinstance(schema, dict) or set(map(str, schema)) - {"inputs", "outputs"} or \
            not all(isinstance(v, list) for v in schema.values()):
        raise EliteError(f"{where}.signature_schema must be a mapping with lists `inputs` "
                         "and `outputs`")
    provenance = entry.get("provenance", {})
    if not isinstance(provenance, dict) or not all(isinstance(k, str) for k in provenance):
        raise EliteError(f"{where}.provenance must be a mapping of names to values")


def load_identity() -> keys.Keypair:
    """Edge: this node's key (identity.load_identity: the one identity.json reader)."""
    from git_elite.edges import identity

    return identity.load_identity().key


def detect_repo_ref(cwd: Path) -> dict[str, Any]:
    """Edge: {"type": "git", url?, commit, path} of the repo `cwd` is in, else {"type": "none"}."""
    from git_elite.edges import git

    top = git.run(["rev-parse", "--show-toplevel"], cwd=cwd, check=False)
    head = git.run(["rev-parse", "--verify", "-q", "HEAD"], cwd=cwd, check=False)
    if top.returncode != 0 or head.returncode != 0:
        return {"type": "none"}
    ref: dict[str, Any] = {"type": "git"}
    origin = git.run(["config", "--get", "remote.origin.url"], cwd=cwd, check=False)
    if origin.returncode == 0 and origin.stdout.strip():
        ref["url"] = recordable_url(origin.stdout.decode().strip())
    ref["commit"] = head.stdout.decode().strip()
    relative = Path(cwd).resolve().relative_to(Path(top.stdout.decode().strip()).resolve())
    ref["path"] = relative.as_posix() if str(relative) != "." else ""
    return ref


def write_agent(root: Path, candidate: Candidate, manifest: dict[str, Any]) -> Path:
    """Edge: atomically write manifest.json and profile.json under root/<agent_id>/."""
    folder = root / candidate.agent_id
    store.ensure_dir(folder)
    store.atomic_write(folder / "profile.json", documents.to_bytes(candidate.config))
    store.atomic_write(folder / "manifest.json", documents.to_bytes(manifest))
    return folder

