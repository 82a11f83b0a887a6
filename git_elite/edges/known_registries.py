"""Known registries (SPEC §1, §10): `$AGENTD_HOME/registries.yaml` plus
`git config elite.registry.<name>.url` / `.branch` (git config wins for the same name).

`resolve(name_or_url)` is what later commands call: a known name, or any URL git accepts —
a local path, file://, ssh://, https://, scp-like `host:path`, or rad://.
"""

from __future__ import annotations

import os

from git_elite.core.errors import RegistryError, UsageError
from git_elite.edges import store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple

_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_NAME_CHARS = _ALNUM | frozenset("._-")


class _Name:
    """A registry name, `[A-Za-z0-9][A-Za-z0-9._-]{0,63}` (`NAME.fullmatch`: no "name\\n"),
    tested without `re` (docs/scale.md, "discover --offline, round 7")."""

    @staticmethod
    def fullmatch(text: str) -> bool:
        return 0 < len(text) <= 64 and text[0] in _ALNUM and set(text) <= _NAME_CHARS


NAME = _Name()
SCHEMES = ("file://", "ssh://", "https://", "http://", "git://", "rad://")


class Registry(NamedTuple):
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
    def cache(self) -> str:
        """The bare cache clone: by name for a known registry; for one given by path or URL
        also by the URL's hash, so /srv/a/elites.git and /srv/b/elites.git never share one."""
        if self.source in ("url", "git-remote"):
            from git_elite.core.state import sha256_hex

            digest = sha256_hex(self.url.encode())[:10]
            return os.path.join(store.home_dir(), "cache", "registries",
                                f"{self.name}-{digest}.git")
        return os.path.join(store.home_dir(), "cache", "registries", f"{self.name}.git")


def config_file() -> Path:
    return store.home() / "registries.yaml"


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise UsageError(f"registry name {name!r}: use letters, digits, '.', '_', '-'")
    return name


def normalise_url(url: str) -> str:
    """URLs as given; a local path made absolute (so it works from any directory)."""
    if not url:
        raise UsageError("empty registry URL")
    if url.startswith(SCHEMES) or _scp_like(url):
        return url
    return os.path.realpath(os.path.expanduser(url))  # (Path(url).expanduser().resolve())


FIX_YAML = ("fix it, or move it away and add the registries again with "
            "`git elite registry add NAME URL`")


def load_yaml(path: str | Path) -> list[Registry]:
    """registries.yaml; a damaged one (truncated, not YAML, wrong shape) is one RegistryError
    naming the file and what to do."""
    if not os.path.exists(path):
        return []  # before importing yaml (~15 ms): most users have no registries.yaml
    from pathlib import Path

    path = Path(path)
    try:
        return _parse_yaml(path)
    except (RegistryError, UsageError) as err:
        raise RegistryError(f"{err.message}; {FIX_YAML}") from None


def _parse_yaml(path: Path) -> list[Registry]:
    from git_elite.core import yamlsafe

    try:
        body = yamlsafe.load(store.read_bytes(path))
    except yamlsafe.YamlError as err:
        raise RegistryError(f"{path}: {err}") from None
    except UnicodeDecodeError:
        raise RegistryError(f"{path}: not valid YAML (not UTF-8)") from None
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
    from git_elite.edges import git

    proc = git.run(["config", "--get-regexp", r"^elite\.registry\..*\.(url|branch)$"],
                   cwd=cwd, check=False)
    found: dict[str, dict[str, str]] = {}
    for line in proc.stdout.decode(errors="replace").splitlines():
        key, _, value = line.partition(" ")
        name, field = key[len("elite.registry."):].rsplit(".", 1)
        found.setdefault(name, {})[field] = value
    return [Registry(name, v["url"], v.get("branch"), "git-config")
            for name, v in sorted(found.items()) if "url" in v and NAME.fullmatch(name)]


def known_registries(cwd: Path | None = None) -> list[Registry]:
    """registries.yaml, then git config (which replaces a yaml entry of the same name)."""
    merged = {r.name: r for r in load_yaml(config_file())}
    merged.update({r.name: r for r in from_git_config(cwd)})
    return list(merged.values())


def resolve(name_or_url: str, cwd: Path | None = None) -> Registry:
    """A known registry by name, else a git remote of the repo we stand in (`origin` inside
    a registry clone, as git users name it), else an ad-hoc one for a URL or path."""
    # a path or URL can be no registry's name (names are NAME): git config is not read for
    # it (a `git` process), registries.yaml still is (a damaged one is refused all the same)
    named = known_registries(cwd) if NAME.fullmatch(name_or_url) else \
        load_yaml(os.path.join(store.home_dir(), "registries.yaml"))  # (config_file())
    for registry in named:
        if registry.name == name_or_url:
            return registry
    if NAME.fullmatch(name_or_url) and not os.path.exists(name_or_url):
        remote = git_remote(name_or_url, cwd)
        if remote is None:
            raise RegistryError(f"unknown registry {name_or_url!r}: not a known registry nor "
                                "a git remote here (see `git elite registry list`)")
        return _ad_hoc(remote, "git-remote")
    return _ad_hoc(normalise_url(name_or_url), "url")


def _scp_like(url: str) -> bool:
    """`re.match(r"^[^/:]+:(?!//)", url)`: git's scp-like `host:path` (a `:` before any
    `/`, not `://`)."""
    colon = url.find(":")
    return colon > 0 and "/" not in url[:colon] and url[colon + 1:colon + 3] != "//"


def _ad_hoc(url: str, source: str) -> Registry:
    last = url.rstrip("/").rsplit("/", 1)[-1]  # runs of other characters -> one "-"
    kept: list[str] = []
    for char in last:
        if char in _NAME_CHARS:
            kept.append(char)
        elif not kept or kept[-1] != "\0":
            kept.append("\0")
    stem = "".join(kept).replace("\0", "-").strip("-.")
    return Registry(stem.removesuffix(".git") or "registry", url, None, source)


def git_remote(name: str, cwd: Path | None = None) -> str | None:
    """The URL of git remote `name` of the repo at cwd (a relative path made absolute from
    the work tree's root, as git resolves it); None when there is no such remote."""
    from pathlib import Path

    from git_elite.edges import git

    where = cwd or Path.cwd()
    proc = git.run(["remote", "get-url", "--", name], where, check=False)
    url = proc.stdout.decode(errors="replace").strip()
    if proc.returncode != 0 or not url:
        return None
    if url.startswith(SCHEMES) or _scp_like(url) or Path(url).is_absolute():
        return url
    top = git.toplevel(where) or where
    return str((top / url).resolve())


def missing_local(url: str) -> Path | None:
    """A local registry path (or file:// URL) that does not exist: nothing to retry."""
    from pathlib import Path

    if url.startswith("file://"):
        path = Path(url[len("file://"):])
    elif url.startswith(SCHEMES) or _scp_like(url):
        return None
    else:
        path = Path(url)
    return None if path.exists() else path


def remove(name: str) -> Registry:
    """Remove `name` from registries.yaml (git config entries are git's: say how)."""
    entries = load_yaml(config_file())
    gone = [r for r in entries if r.name == name]
    if not gone:
        if any(r.name == name for r in from_git_config()):
            raise RegistryError(f"registry {name!r} comes from git config; remove it with "
                                f"`git config --remove-section elite.registry.{name}`")
        raise RegistryError(f"no registry {name!r} in {config_file()}")
    save_yaml(config_file(), [r for r in entries if r.name != name])
    return gone[0]


def shadowed(name: str) -> Registry | None:
    """The git config entry that wins over registries.yaml's `name`, if any."""
    return next((r for r in from_git_config() if r.name == name), None)


def add(name: str, url: str, branch: str | None) -> Registry:
    """Add or replace `name` in registries.yaml."""
    registry = Registry(check_name(name), normalise_url(url), branch)
    kept = [r for r in load_yaml(config_file()) if r.name != name]
    save_yaml(config_file(), [*kept, registry])
    return registry
