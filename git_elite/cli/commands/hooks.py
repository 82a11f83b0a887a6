"""`git elite hooks install|uninstall`: put the shims of `hooks/` in place (SPEC §7)."""

from __future__ import annotations

import os
import shlex
import sys
from importlib import resources
from pathlib import Path

import click

from git_elite.cli.main import FullHelpGroup
from git_elite.core.errors import HookError
from git_elite.edges import output

CTX = {"help_option_names": ["-h", "--help"]}
MARKER = "git-elite-hook:"
CLIENT = ("pre-commit", "post-commit", "pre-merge-commit")
SERVER = ("pre-receive",)
SIGNER = "post-receive"  # with --timestamp-key (SPEC §6.1)
DROP_IN = "50-git-elite"
MERGE_DRIVER = "git-elite hook merge-driver %O %A %B %P"
RUNNER = "# @git-elite-runner@\n"


def hooks_dir(cwd: str | Path | None = None) -> Path:
    """Where git runs hooks from (honours core.hooksPath)."""
    from git_elite.edges import git

    out = git.run(["rev-parse", "--git-path", "hooks"], cwd).stdout.decode().strip()
    path = Path(out)
    return path if path.is_absolute() else Path(cwd or ".").resolve() / path


def interpreter() -> str:
    """The absolute path of the Python running this (the one that installs the hooks); not
    resolved: a virtualenv's `bin/python` link is what finds the virtualenv's packages."""
    return os.path.abspath(sys.executable) if sys.executable else ""


def _shim(name: str) -> bytes:
    """hooks/<name> with the runner (hooks/_runner.sh, INSTALL_PYTHON filled in) in place of
    its `# @git-elite-runner@` line. A shim written the first release's way (`exec git-elite
    hook …`) is given the runner too."""
    return compose((resources.files("git_elite.shims") / name).read_text()).encode()


def compose(text: str) -> str:
    """A shim's text with the runner in place of its RUNNER line (or, for a shim in the old
    `exec git-elite …` style, before its `here=` line, its calls going through the runner)."""
    runner = (resources.files("git_elite.shims") / "_runner.sh").read_text().replace(
        "@INSTALL_PYTHON@", shlex.quote(interpreter()))
    if RUNNER not in text and "exec git-elite " in text:
        head, _, body = text.partition("\nhere=")
        text = f"{head}\n{RUNNER}here={body}".replace("exec git-elite ", "elite ")
    return text.replace(RUNNER, runner)


def merge_driver() -> str:
    """The elite-index merge driver: the installing Python, else git-elite from PATH."""
    python = shlex.quote(interpreter())
    run = shlex.quote("from git_elite.launcher import run; run()")
    return (f"if [ -x {python} ]; then {python} -P -c {run} hook merge-driver "
            f"%O %A %B %P; else {MERGE_DRIVER}; fi")


def _ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(errors="replace")
    except OSError:
        return False


def _place(target: Path, data: bytes, force: bool) -> str:
    from git_elite.edges import store

    legacy = target.with_name(target.name + ".legacy")
    note = "installed"
    if target.exists() and not _ours(target):
        if legacy.exists() and not force:
            raise HookError(f"{target}: a foreign hook and {legacy.name} both exist; "
                            "use --force to replace the .legacy one")
        os.replace(target, legacy)
        note = f"installed (your hook kept as {legacy.name} and run first)"
    store.ensure_dir(target.parent, 0o755)
    store.atomic_write(target, data, 0o755)
    return note


def install(cwd: str | Path | None = None, *, server: bool = False, force: bool = False,
            drop_in_dir: Path | None = None, timestamp_key: Path | None = None,
            log_key: Path | None = None) -> list[str]:
    """Install the shims; returns one line per hook saying what was done."""
    from git_elite.edges import git

    base = hooks_dir(cwd)
    lines = []
    if server:
        signs = timestamp_key is not None or log_key is not None
        names = SERVER + ((SIGNER,) if signs else ())
        if timestamp_key is not None:
            lines.append(_timestamp_key(cwd, timestamp_key))
        if log_key is not None:
            lines.append(_log_key(cwd, log_key))
        drop_in = drop_in_dir or (base / "pre-receive.d")
        for name in names:
            if drop_in_dir is not None or drop_in.is_dir():
                target = drop_in.with_name(f"{name}.d") / DROP_IN
            else:
                target = base / name
            lines.append(f"{target}: {_place(target, _shim(name), force)}")
        return lines
    for name in CLIENT:
        lines.append(f"{base / name}: {_place(base / name, _shim(name), force)}")
    git.config_set("merge.elite-index.name", "git elite INDEX.json rebuild", cwd)
    git.config_set("merge.elite-index.driver", merge_driver(), cwd)
    return lines


def _timestamp_key(cwd: str | Path | None, path: Path) -> str:
    """Check the key file (0600, outside the repository, a valid identity.json) and record
    it as `git config elite.timestampKey`; the line says which key, never its secret."""
    from git_elite.edges import git, stamping

    repo = git.run(["rev-parse", "--absolute-git-dir"], cwd).stdout.decode().strip()
    top = git.toplevel(cwd or ".")
    key = stamping.load_key(path, repo, top)
    git.config_set("elite.timestampKey", str(path.resolve()), cwd)
    return (f"git config elite.timestampKey {path.resolve()} (signs as {key.did}; it must be "
            "one of IDENTITY.json's timestamp keys)")


def _log_key(cwd: str | Path | None, path: Path) -> str:
    """The same for the witnessed log's key (`git config elite.logKey`, SPEC §15)."""
    from git_elite.edges import git, stamping

    repo = git.run(["rev-parse", "--absolute-git-dir"], cwd).stdout.decode().strip()
    key = stamping.load_key(path, repo, git.toplevel(cwd or "."), what="log key")
    git.config_set("elite.logKey", str(path.resolve()), cwd)
    return (f"git config elite.logKey {path.resolve()} (signs as {key.did}; it must be "
            "IDENTITY.json's log key)")


def uninstall(cwd: str | Path | None = None) -> list[str]:
    base = hooks_dir(cwd)
    lines = []
    names = (*CLIENT, *SERVER, SIGNER)
    for target in [base / n for n in names] + [base / "pre-receive.d" / DROP_IN,
                                                base / "post-receive.d" / DROP_IN]:
        if not target.exists() or not _ours(target):
            continue
        target.unlink()
        legacy = target.with_name(target.name + ".legacy")
        if legacy.exists():
            os.replace(legacy, target)
            lines.append(f"{target}: removed, {legacy.name} restored")
        else:
            lines.append(f"{target}: removed")
    return lines


@click.group(cls=FullHelpGroup, context_settings=CTX)
def command() -> None:
    """Install or remove the git elite hooks.

    \b
    Examples:
      git elite hooks install
      git -C /srv/git/chrysalis-elites.git elite hooks install --server
      git elite hooks uninstall
    """


@command.command("install", context_settings=CTX)
@click.option("--server", is_flag=True, help="Install pre-receive (for the hosting side).")
@click.option("--force", is_flag=True, help="Replace an existing <hook>.legacy.")
@click.option("--hooks-dir", type=click.Path(file_okay=False, path_type=Path),
              help="With --server: a pre-receive.d directory (Gitea/Forgejo/GitLab).")
@click.option("--timestamp-key", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="With --server: sign a timestamp after every accepted "
              "push with this identity.json (mode 0600, outside the repository).")
@click.option("--log-key", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="With --server: append every accepted push to the "
              "witnessed log, signing checkpoints with this identity.json (mode 0600, "
              "outside the repository) and asking the declared witnesses to cosign.")
def install_cmd(server: bool, force: bool, hooks_dir: Path | None,
                timestamp_key: Path | None, log_key: Path | None) -> int:
    """Install the hook shims (client: pre-commit, post-commit, pre-merge-commit and the
    elite-index merge driver; --server: pre-receive, or pre-receive.d/50-git-elite; with
    --timestamp-key also post-receive, which signs refs/elite/timestamp after each push;
    with --log-key also post-receive, which appends to refs/elite/log, docs/log.md).

    \b
    Examples:
      git elite hooks install
      git elite hooks install --server
      git elite hooks install --server --timestamp-key /etc/git-elite/ts.json
      git elite hooks install --server --log-key /etc/git-elite/log.json
      git elite hooks install --server --hooks-dir custom_hooks/pre-receive.d
    """
    if hooks_dir is not None and not server:
        raise HookError("--hooks-dir is for --server (a pre-receive.d directory)")
    if timestamp_key is not None and not server:
        raise HookError("--timestamp-key is for --server (the hosting side signs timestamps)")
    if log_key is not None and not server:
        raise HookError("--log-key is for --server (the hosting side runs the log)")
    for line in install(None, server=server, force=force, drop_in_dir=hooks_dir,
                        timestamp_key=timestamp_key, log_key=log_key):
        output.info(line)
    if server:
        _timestamp_signer(Path.cwd(), timestamp_key)
    return 0


def _timestamp_signer(cwd: Path, key_file: Path | None) -> None:
    """A registry with a timestamp role needs a signer on the server: without
    --timestamp-key (and no elite.timestampKey), warn that nothing will sign; with one and
    no timestamp yet (a `git clone --bare` does not carry refs/elite/timestamp), say when the
    first is signed."""
    from git_elite.core.timestamp import Role
    from git_elite.edges import freshness, git, gitcheck

    tip = freshness.resolve(cwd, gitcheck.registry_branch(cwd))
    if tip is None or Role.of(freshness.identity_at(cwd, tip)) is None:
        return
    if key_file is None and not git.config_get("elite.timestampKey", cwd):
        output.warn("this registry declares a timestamp role, but nothing on this server "
                    "will sign: readers refuse it as frozen while it has no fresh timestamp. "
                    "Run `git elite hooks install --server --timestamp-key FILE`, or "
                    "`git elite timestamp --key FILE` from cron (docs/freshness.md)")
    elif freshness.current(cwd) is None:
        output.info("no timestamp here yet: the post-receive hook signs one after the next "
                    "accepted push (`git -C <this repository> elite timestamp` signs one now)")


@command.command("uninstall", context_settings=CTX)
def uninstall_cmd() -> int:
    """Remove the shims and restore any hook kept as <hook>.legacy.

    \b
    Examples:
      git elite hooks uninstall
    """
    for line in uninstall(None) or ["no git elite hooks installed"]:
        output.info(line)
    return 0
