"""Known registries (SPEC §1, §10): `$AGENTD_HOME/registries.yaml` plus
`git config elite.registry.<name>.url` / `.branch` (git config wins for the same name).

`resolve(name_or_url)` is what later commands call: a known name, or any URL git accepts —
a local path, file://, ssh://, https://, scp-like `host:path`, or rad://.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from git_elite import store
from git_elite.errors import RegistryError, UsageError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SCHEMES = ("file://", "ssh://", "https://", "http://", "git://", "rad://")


@dataclass(frozen=True)
class Registry:
    name: str
    url: str
    branch: str | None = None
    source: str = "yaml"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "url": self.url}
        if self.branch:
            out["branch"] = self.branch
        return out

    @property
    def cache(self) -> Path:
        return store.home() / "cache" / "registries" / f"{self.name}.git"


def config_file() -> Path:
    return store.home() / "registries.yaml"


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise UsageError(f"registry name {name!r}: use letters, digits, '.', '_', '-'")
    return name


def normalise_url(url: str) -> str:
    """URLs as given; a local path made absolute (so it works from any directory)."""
    if not url:
        raise UsageError("empty registry URL")
    if url.startswith(SCHEMES) or re.match(r"^[^/:]+:(?!//)", url):
        return url
    return str(Path(url).expanduser().resolve())


FIX_YAML = ("fix it, or move it away and add the registries again with "
            "`git elite registry add NAME URL`")


def load_yaml(path: Path) -> list[Registry]:
    """registries.yaml; a damaged one (truncated, not YAML, wrong shape) is one RegistryError
    naming the file and what to do."""
    if not path.exists():
        return []  # before importing yaml (~15 ms): most users have no registries.yaml
    try:
        return _parse_yaml(path)
    except (RegistryError, UsageError) as err:
        raise RegistryError(f"{err.message}; {FIX_YAML}") from None


def _parse_yaml(path: Path) -> list[Registry]:
    import yaml

    try:
        body = yaml.safe_load(store.read_bytes(path))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise RegistryError(f"{path}: not valid YAML") from None
    entries = body.get("registries") if isinstance(body, dict) else None
    if body is None:
        return []
    if not isinstance(entries, list):
        raise RegistryError(f"{path}: expected `registries: [{{name, url, branch?}}]`")
    out = []
    for entry in entries:
        if (not isinstance(entry, dict) or set(entry) - {"name", "url", "branch"}
                or not isinstance(entry.get("name"), str) or not isinstance(entry.get("url"), str)
                or not isinstance(entry.get("branch", ""), str)):
            raise RegistryError(f"{path}: each registry needs string name and url "
                                "(and optional branch), nothing else")
        try:
            name = check_name(entry["name"])
        except UsageError as err:
            raise RegistryError(f"{path}: {err.message}") from None
        out.append(Registry(name, entry["url"], entry.get("branch")))
    return out


def save_yaml(path: Path, registries: list[Registry]) -> None:
    import yaml

    text = yaml.safe_dump({"registries": [r.to_dict() for r in registries]}, sort_keys=False)
    store.ensure_home()
    store.atomic_write(path, text.encode(), 0o600)


def from_git_config(cwd: Path | None = None) -> list[Registry]:
    """`elite.registry.<name>.url` / `.branch` as `git config` reads them."""
    from git_elite import git

    proc = git.run(["config", "--get-regexp", r"^elite\.registry\..*\.(url|branch)$"],
                   cwd=cwd, check=False)
    found: dict[str, dict[str, str]] = {}
    for line in proc.stdout.decode(errors="replace").splitlines():
        key, _, value = line.partition(" ")
        name, field = key[len("elite.registry."):].rsplit(".", 1)
        found.setdefault(name, {})[field] = value
    return [Registry(name, v["url"], v.get("branch"), "git-config")
            for name, v in sorted(found.items()) if "url" in v and NAME.match(name)]


def known_registries(cwd: Path | None = None) -> list[Registry]:
    """registries.yaml, then git config (which replaces a yaml entry of the same name)."""
    merged = {r.name: r for r in load_yaml(config_file())}
    merged.update({r.name: r for r in from_git_config(cwd)})
    return list(merged.values())


def resolve(name_or_url: str, cwd: Path | None = None) -> Registry:
    """A known registry by name, else an ad-hoc one for a URL or path."""
    for registry in known_registries(cwd):
        if registry.name == name_or_url:
            return registry
    if NAME.match(name_or_url) and not Path(name_or_url).exists():
        raise RegistryError(f"unknown registry {name_or_url!r} (see `git elite registry list`)")
    url = normalise_url(name_or_url)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", url.rstrip("/").rsplit("/", 1)[-1]).strip("-.")
    return Registry(stem.removesuffix(".git") or "registry", url, None, "url")


def add(name: str, url: str, branch: str | None) -> Registry:
    """Add or replace `name` in registries.yaml."""
    registry = Registry(check_name(name), normalise_url(url), branch)
    kept = [r for r in load_yaml(config_file()) if r.name != name]
    save_yaml(config_file(), [*kept, registry])
    return registry
