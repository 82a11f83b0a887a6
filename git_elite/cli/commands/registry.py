"""`git elite registry add|remove|list`: known registries (docs/spec.md §1, §10)."""

from __future__ import annotations

import click

from git_elite.cli.main import FullHelpGroup
from git_elite.edges import known_registries, output

SETTINGS = {"help_option_names": ["-h", "--help"]}


@click.group(cls=FullHelpGroup, context_settings=SETTINGS)
def command() -> None:
    """Known registries: $AGENTD_HOME/registries.yaml and git config elite.registry.*.

    Wherever a command takes --registry R, R is a known registry's name, a git remote of
    the repository you stand in (`origin` inside a registry clone), a path or a URL.

    \b
    Examples:
      git elite registry add main https://example.org/chrysalis-elites.git
      git elite registry remove main
      git config elite.registry.team.url ssh://git@example.org/team-elites.git
      git elite registry list --json
    """


@command.command("add", context_settings=SETTINGS)
@click.argument("name")
@click.argument("url")
@click.option("--branch", help="Registry branch (default: the branch HEAD names).")
def add(name: str, url: str, branch: str | None) -> int:
    """Remember a registry under NAME (path, file://, ssh://, https:// or rad:// URL).

    \b
    Examples:
      git elite registry add local ../chrysalis-elites
      git elite registry add rad rad://z3gqcJUoA1n9HaHKufZs5FCSGazv5
    """
    registry = known_registries.add(name, url, branch)
    output.info(f"registry {registry.name} -> {registry.url}")
    shadow = known_registries.shadowed(registry.name)
    if shadow is not None:
        output.warn(f"git config elite.registry.{name}.url ({shadow.url}) overrides this "
                    f"entry here; remove it with `git config --remove-section "
                    f"elite.registry.{name}` to use {registry.url}")
    return 0


@command.command("remove", context_settings=SETTINGS)
@click.argument("name")
def remove(name: str) -> int:
    """Forget the registry NAME (from registries.yaml; its cache clone is deleted too).

    \b
    Examples:
      git elite registry remove local
    """
    import shutil

    registry = known_registries.remove(name)
    shutil.rmtree(registry.cache, ignore_errors=True)
    output.info(f"removed registry {registry.name} ({registry.url})")
    return 0


@command.command("list", context_settings=SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json: bool) -> int:
    """List known registries.

    \b
    Examples:
      git elite registry list
    """
    known = known_registries.known_registries()
    if as_json:
        output.emit_json([{**r.to_dict(), "source": r.source} for r in known])
    else:
        output.table("registries", ["name", "url", "branch", "source"],
                     [[r.name, r.url, r.branch or "-", r.source] for r in known])
    return 0
