"""The import graph of each hot entry point (SPEC §12: what a hook or command costs is mostly
a cold interpreter and its imports). Each path runs for real — `git commit` firing the client
hooks, `git push` firing pre-receive, `discover --offline` over a cache clone — with
`PYTHONPROFILEIMPORTTIME=1`, which makes every Python process git starts list each module it
imports on stderr; the test reads those lists. No timing: what is asserted is which modules
a path loads (docs/scale.md has the `-X importtime` figures)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BIN, git
from tests.helpers_registry import agent_files, isolated_module_env, make_server, write_files

NOT_ON_HOT_PATHS = {"click", "rich", "yaml", "jsonschema"}
LIBGIT2 = "pygit2"
# every module of ours a one-manifest commit or push may load (hooks4: pinned so that nothing
# creeps onto the hooks' path; the format-1 migration loads only for the commit that
# migrates). A module the hooks come to need is added here, with its import cost in
# docs/scale.md.
HOOK_MODULES = {f"git_elite.{m}" for m in (
    "launcher", "cli", "cli.boundary", "cli.hookrun", "core", "core.canonical", "core.cjson",
    "core.context", "core.records",
    "core.documents", "core.engine", "core.errors", "core.fanout", "core.indexcheck",
    "core.indexing", "core.jsonstrict", "core.keys", "core.layout", "core.logrole",
    "core.pinning", "core.pins", "core.rules", "core.rules_attest", "core.schema",
    "core.schemagen", "core.shards",
    "core.shardsplice", "core.state", "core.ticks", "edges", "edges.catfile", "edges.git",
    "edges.gitcheck", "edges.gittree", "edges.progress", "edges.spawn",
    "edges.store")} | {"git_elite"}
NOT_FOR_ONE_MANIFEST = {"git_elite.core.migration"}
NOT_ON_THE_COMMIT_HOOK = {"hashlib", "_hashlib", "base58", "pathlib", "fnmatch", "urllib",
                          "ipaddress",
                          # hooks6: its git processes through edges/spawn (posix_spawn), not
                          # `subprocess` and what it imports (~5 ms of CPU)
                          "subprocess", "selectors", "threading", "locale", "signal",
                          # hooks7: no typing (core/records), json (core/cjson), re (schema
                          # patterns by schema.Runs, classes by str.strip), enum, functools,
                          # collections, contextlib, runpy (the shim's `-c`), base64, struct.
                          # An editable install's `site` loads re, enum, functools,
                          # collections and contextlib itself (so here they are not "beyond
                          # the interpreter"); test_hook_in_a_regular_install checks them
                          "typing", "json", "re", "enum", "functools", "collections",
                          "contextlib", "runpy", "base64", "struct"}


def ours(loaded: set[str]) -> set[str]:
    return {m for m in loaded if m == "git_elite" or m.startswith("git_elite.")}


def modules(stderr: str) -> list[set[str]]:
    """The modules each Python process imported, from `-X importtime` lines (each process
    starts its list with the header line)."""
    found: list[set[str]] = []
    for line in stderr.splitlines():
        line = line.removeprefix("remote: ")  # a server hook's, through `git push`
        if line.startswith("import time:") and "| imported package" in line:
            found.append(set())
        elif line.startswith("import time:") and found:
            found[-1].add(line.rsplit("|", 1)[1].strip())
    return found


def tops(loaded: set[str]) -> set[str]:
    return {name.split(".")[0] for name in loaded}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    tmp = tmp_path_factory.mktemp("imports")
    with isolated_module_env(tmp):
        work, bare = make_server(tmp)
        yield work, bare


def traced(*args: str, cwd: Path) -> list[set[str]]:
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1",
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return modules(proc.stderr)


def interpreter(cwd: Path) -> set[str]:
    """What the interpreter loads before any of our code (site, .pth files)."""
    [loaded] = traced(sys.executable, "-c", "pass", cwd=cwd)
    return loaded


def test_version_loads_nothing_of_the_checks(server: tuple[Path, Path]) -> None:
    [loaded] = traced(str(Path(sys.executable).parent / "git-elite"), "--version",
                      cwd=server[0])
    assert not tops(loaded) & (NOT_ON_HOT_PATHS | {LIBGIT2, "nacl", "cryptography"})
    assert not {m for m in loaded if m.startswith("git_elite.")} - \
        {"git_elite", "git_elite.launcher"}


def test_commit_is_one_interpreter_without_libgit2(server: tuple[Path, Path]) -> None:
    work = server[0]
    write_files(work, agent_files("alice", 31))
    git("add", "agents", cwd=work)
    processes = traced("git", "commit", "-q", "-m", "one agent", cwd=work)
    assert len(processes) == 1, [sorted(tops(p))[:5] for p in processes]
    [loaded] = processes
    assert "git_elite.cli.hookrun" in loaded and "git_elite.core.engine" in loaded
    assert not tops(loaded) & (NOT_ON_HOT_PATHS | {LIBGIT2, "dataclasses", "inspect"})
    assert "git_elite.edges.catfile" in loaded
    assert ours(loaded) <= HOOK_MODULES, sorted(ours(loaded) - HOOK_MODULES)
    assert not ours(loaded) & NOT_FOR_ONE_MANIFEST
    # hooks5: no OpenSSL (the digests of a one-agent commit are CPython's built-in ones,
    # core/state.hasher), no `base58` package (keys' own base58btc), no pathlib (os.path)
    # beyond what the interpreter itself loads (an editable install's finder loads pathlib)
    assert not (tops(loaded) - tops(interpreter(work))) & NOT_ON_THE_COMMIT_HOOK, \
        sorted(tops(loaded) & NOT_ON_THE_COMMIT_HOOK)
    # hooks6: the log role's module only for a registry that declares one (this one does not)
    assert "git_elite.core.logrole" not in loaded


def test_pre_receive_reads_through_git_not_libgit2(server: tuple[Path, Path]) -> None:
    work = server[0]
    write_files(work, agent_files("alice", 32))
    git("add", "agents", cwd=work)
    git("commit", "-q", "-m", "another", cwd=work)
    processes = traced("git", "push", "-q", "origin", "HEAD:main", cwd=work)
    hooks = [p for p in processes if "git_elite.cli.hookrun" in p]
    assert len(hooks) == 1
    assert not tops(hooks[0]) & (NOT_ON_HOT_PATHS | {LIBGIT2})
    # the checks' records are NamedTuples and plain classes (docs/scale.md, "Start-up")
    assert not tops(hooks[0]) & {"dataclasses", "inspect", "concurrent"}
    assert not (tops(hooks[0]) - tops(interpreter(work))) & \
        {"pathlib", "fnmatch", "urllib", "ipaddress"}  # (hooks5)
    # hooks6: its git processes (in GIT_DIR, the hook's own directory) through edges/spawn
    assert not tops(hooks[0]) & {"subprocess", "selectors", "threading", "locale"}, \
        sorted(tops(hooks[0]) & {"subprocess", "selectors", "threading", "locale"})
    assert ours(hooks[0]) <= HOOK_MODULES, sorted(ours(hooks[0]) - HOOK_MODULES)
    assert not ours(hooks[0]) & NOT_FOR_ONE_MANIFEST


def test_discover_offline_reads_through_git_not_libgit2(server: tuple[Path, Path]) -> None:
    work, bare = server
    git_elite = str(Path(sys.executable).parent / "git-elite")
    subprocess.run([git_elite, "discover", "--registry", str(bare)], cwd=work, check=True,
                   capture_output=True)  # fills the cache clone
    [loaded] = traced(git_elite, "discover", "--registry", str(bare), "--offline", "--json",
                      cwd=work)
    assert LIBGIT2 not in tops(loaded)
    assert not tops(loaded) & {"rich", "yaml", "jsonschema"}
    assert "concurrent" not in tops(loaded)  # one registry: no thread pool
    # no click (cli/fastpath), no dataclasses/inspect (NamedTuples and plain classes), no
    # work a top 20 of this registry does not do (docs/scale.md, "Start-up")
    assert not tops(loaded) & {"click", "dataclasses", "inspect", "tempfile", "shutil",
                               "random", "textwrap", "zipfile", "uuid", "platform"}
    assert "importlib.resources" not in loaded
    assert not loaded & {"git_elite.cli.main", "git_elite.cli.commands.discover",
                         "git_elite.core.attest", "git_elite.core.evals",
                         "git_elite.core.generate", "git_elite.core.witnessed",
                         "git_elite.core.note", "git_elite.edges.logread",
                         "git_elite.edges.tlogstore", "git_elite.core.radicle",
                         "git_elite.edges.gitnet", "git_elite.core.columns"}
    assert {"git_elite.cli.fastpath", "git_elite.cli.discovering",
            "git_elite.core.engine"} <= loaded


# what a checked top 20 of one registry needs (issue 26 item 2, branch discover4): the
# launcher, discover's body, the cache and batch reader, the pinned read of the head and the
# agents, the engine's agent rules (documents, keys, schema), freshness, the identity and
# agents memories, trust. Not the index checker or builder (indexcheck, shardsplice,
# migration), not pkgutil (docs/scale.md, "Start-up"). A module added here must be one the
# read cannot do without: say why in docs/scale.md.
# (hooks5: not core.schemagen either: a read of fewer than schema.GENERATE_AFTER documents
# of a kind checks them with the closures)
DISCOVER_MODULES = {f"git_elite.{name}" for name in (
    "launcher", "cli", "cli.boundary", "cli.discovering", "cli.fastpath",
    "core", "core.agent_pin", "core.attest_summary", "core.canonical", "core.cjson",
    "core.records", "core.context",
    "core.discover", "core.documents", "core.engine", "core.errors", "core.fanout",
    "core.identity_pin", "core.index_read", "core.indexing", "core.jsonstrict", "core.keys",
    "core.layout", "core.logrole", "core.pinning", "core.pins", "core.rules",
    "core.rules_attest", "core.safetext", "core.schema", "core.shards",
    "core.state", "core.ticks", "core.timestamp", "core.trust",
    "edges", "edges.agents_seen", "edges.cache", "edges.catfile", "edges.freshness",
    "edges.git", "edges.gittree", "edges.identity", "edges.identity_seen",
    "edges.known_registries", "edges.output", "edges.pinned_read", "edges.registry_sources",
    "edges.registry_union", "edges.spawn", "edges.store", "edges.trusted_dids")} | {"git_elite"}
# beyond what `--version` loads: digests, signatures (PyNaCl), JSON's C scanner, git
# processes through edges/spawn (discover7: no typing, json, subprocess, selectors,
# threading, locale, signal, heapq.py, hashlib for small files, base58, base64, struct)
DISCOVER_TOPS = {"nacl", "_cffi_backend", "binascii", "_json", "math", "_heapq", "bisect",
                 "_bisect", "select", "_signal",
                 # CPython's built-in digests of small data (core/state.hasher; `_sha2` from
                 # 3.12, tried first, listed by -X importtime even where it is absent)
                 "_sha1", "_sha2", "_sha256",
                 # what `--version` loads in the editable install the tests run (`site`
                 # imports setuptools' finder: pathlib, re, urllib...) but not in a regular
                 # one (`pip install`, what users and the bench run): discover pays for them
                 # itself there (pathlib: store.home() and the cache's paths; `re`, `enum`,
                 # `functools`, `collections` are loaded by pip's console script itself).
                 # Listed so the pin holds in both; in the editable install they are never
                 # "beyond --version", so the pin is no looser there.
                 "collections", "_collections", "functools", "_functools", "operator",
                 "_operator", "itertools", "keyword", "reprlib", "types", "copyreg",
                 "warnings", "errno", "enum", "re", "_sre",
                 "pathlib", "fnmatch", "ntpath", "nt", "_winapi", "urllib", "ipaddress"}
# discover7: what `discover --offline` of a registry of small files (fewer than
# schema.GENERATE_AFTER agents: the generated checker uses `re`) no longer loads in a
# regular install run without `site` (test_discover_in_a_regular_install), by
# `--registry R` and in the working copy
NOT_ON_DISCOVER = {"typing", "_typing", "json", "subprocess", "_posixsubprocess",
                   "selectors", "threading", "locale", "signal", "heapq", "contextlib",
                   "hashlib", "_hashlib", "base58", "base64", "struct", "runpy",
                   "collections.abc", "importlib.util", "dataclasses", "inspect", "click",
                   "pathlib", "fnmatch", "ntpath", "urllib", "ipaddress", "warnings", "re",
                   "enum", "functools"}


def _an_agent_to_show(work: Path, bare: Path, n: int) -> str:
    """Agent `n` committed and pushed to `bare`, the cache clone filled by a first discover;
    returns the `git-elite` to run."""
    write_files(work, agent_files("alice", n))
    git("add", "agents", cwd=work)
    git("commit", "-q", "-m", "an agent to show", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    git_elite = str(Path(sys.executable).parent / "git-elite")
    subprocess.run([git_elite, "discover", "--registry", str(bare)], cwd=work, check=True,
                   capture_output=True)  # fills the cache clone
    return git_elite


def test_discover_offline_loads_only_what_a_checked_read_needs(
        server: tuple[Path, Path]) -> None:
    """The discover entry point's modules, pinned: one creeping back fails here (a
    registry with an agent to show: its memory of agents shown is loaded too)."""
    work, bare = server
    git_elite = _an_agent_to_show(work, bare, 33)
    [loaded] = traced(git_elite, "discover", "--registry", str(bare), "--offline", "--json",
                      cwd=work)
    [version] = traced(git_elite, "--version", cwd=work)
    assert "git_elite.edges.agents_seen" in loaded  # an agent was shown
    ours = {m for m in loaded if m.split(".")[0] == "git_elite"}
    assert ours == DISCOVER_MODULES, (sorted(ours - DISCOVER_MODULES),
                                      sorted(DISCOVER_MODULES - ours))
    others = tops(loaded) - tops(version) - {"git_elite"}
    assert others <= DISCOVER_TOPS, sorted(others - DISCOVER_TOPS)
    assert not loaded & {"pkgutil", "weakref", "nacl.bindings", "git_elite.core.indexcheck",
                         "git_elite.core.shardsplice", "git_elite.core.migration"}


def test_discover_in_a_working_copy_loads_no_radicle_core(server: tuple[Path, Path]) -> None:
    """The working copy you stand in, no rad:// remote: core.radicle (and the dataclasses
    it is built of) is not imported; the same modules as a cache read otherwise."""
    work = server[0]
    git_elite = str(Path(sys.executable).parent / "git-elite")
    [loaded] = traced(git_elite, "discover", "--json", cwd=work)
    assert not loaded & {"dataclasses", "git_elite.core.radicle", "pkgutil", "nacl.bindings",
                         "git_elite.core.indexcheck"}
    ours = {m for m in loaded if m.split(".")[0] == "git_elite"}
    assert ours - DISCOVER_MODULES <= {"git_elite.edges.gitrad"}, sorted(ours)


def git_commands(*args: str, cwd: Path, tmp: Path) -> list[str]:
    """The git commands a run starts (GIT_TRACE into a file: the command keeps its own
    stderr), each as `git <subcommand> <first argument>`."""
    trace = tmp / "trace.log"
    trace.unlink(missing_ok=True)
    env = {**os.environ, "GIT_TRACE": str(trace),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = []
    for line in trace.read_text().splitlines():
        if "trace: built-in: git " in line:
            words = line.split("trace: built-in: git ", 1)[1].split()
            found.append(" ".join(words[:2]).replace("'", ""))
    return found


def test_discover_offline_starts_three_git_processes(server: tuple[Path, Path],
                                                     tmp_path: Path) -> None:
    """A registry on this machine, --offline: the cache's refs, the registry's refs (does
    the cache mirror it?) and one batch reader that checks the cache's objects, finds the
    tip and reads everything; no `git config` for a path, no rev-parse, no rev-list."""
    work, bare = server
    git_elite = str(Path(sys.executable).parent / "git-elite")
    subprocess.run([git_elite, "discover", "--registry", str(bare)], cwd=tmp_path,
                   check=True, capture_output=True)  # fills the cache clone
    found = git_commands(git_elite, "discover", "--registry", str(bare), "--offline",
                         "--json", cwd=tmp_path, tmp=tmp_path)
    assert sorted(found) == ["cat-file --batch-command", "for-each-ref --format=%(refname)",
                             "for-each-ref --format=%(refname)"], found


def test_discover_in_a_working_copy_starts_three_git_processes(
        server: tuple[Path, Path], tmp_path: Path) -> None:
    """The registry you stand in: one rev-parse (top and git dir), the remotes (`config`:
    is it a Radicle clone?) and one batch reader (HEAD's commit and every read); the root
    commit is remembered by tip, so a second read starts no rev-list."""
    work = server[0]
    git_elite = str(Path(sys.executable).parent / "git-elite")
    first = git_commands(git_elite, "discover", "--json", cwd=work, tmp=tmp_path)
    again = git_commands(git_elite, "discover", "--json", cwd=work, tmp=tmp_path)
    assert "rev-list --first-parent" in first
    assert sorted(again) == ["cat-file --batch-command", "config --get-regexp",
                             "rev-parse --show-toplevel"], again


def test_the_records_keep_what_the_dataclasses_promised() -> None:
    """Problem, Keypair, Slot... are NamedTuples now: immutable, equal and hashable by
    value, and a key pair's repr still never shows its seed."""
    from git_elite.core import keys, layout
    from git_elite.core.errors import Problem

    problem = Problem("schema", "a.json", "bad")
    assert problem == Problem("schema", "a.json", "bad", None)
    assert hash(problem) == hash(Problem("schema", "a.json", "bad"))
    with pytest.raises(AttributeError):
        problem.rule = "other"  # type: ignore[misc]
    pair = keys.Keypair.from_seed(bytes(range(32)))
    assert bytes(range(32)).hex() not in repr(pair) and repr(bytes(range(32))) not in repr(pair)
    assert str(pair) == repr(pair) and f"{pair}" == repr(pair)
    assert layout.classify("IDENTITY.json") == layout.classify("IDENTITY.json")


def test_hook_in_a_regular_install(server: tuple[Path, Path], tmp_path: Path) -> None:
    """hooks7: the commit hook as a `pip install` runs it — the package installed (not
    editable: an editable install's `site` loads re, enum, functools, collections and
    contextlib itself) and run without `site` (`-S`; its dependencies on sys.path) — loads
    none of the modules hooks5-7 took off its path, and still stages the index files."""
    import nacl

    # the installed layout (pyproject.toml's package-dir: schemas/ and hooks/ are package
    # data inside git_elite/), copied rather than built: no build backend needed offline
    root, target = Path(__file__).resolve().parent.parent, tmp_path / "installed"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(root / "git_elite", target / "git_elite", ignore=ignore)
    shutil.copytree(root / "schemas", target / "git_elite" / "schemas", ignore=ignore)
    shutil.copytree(root / "hooks", target / "git_elite" / "shims", ignore=ignore)
    paths = [str(target), str(Path(nacl.__file__).parent.parent)]
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    hook = hooks / "pre-commit"
    hook.write_text(f"#!/bin/sh\nexec \"{sys.executable}\" -S -P -c \"import sys; "
                    f"sys.path[:0] = {paths!r}; from git_elite.launcher import run; run()\" "
                    "hook pre-commit\n")
    hook.chmod(0o755)
    work = server[0]
    write_files(work, agent_files("alice", 34))
    git("add", "agents", cwd=work)
    [loaded] = traced("git", "-c", f"core.hooksPath={hooks}", "commit", "-q", "-m", "one",
                      cwd=work)
    assert "git_elite.core.engine" in loaded and "site" not in loaded
    assert "INDEX.json" in git("show", "--name-only", "--format=", "HEAD", cwd=work).stdout
    off = NOT_ON_THE_COMMIT_HOOK | {"importlib.util"}
    assert not (tops(loaded) | loaded) & off, sorted((tops(loaded) | loaded) & off)


def installed_layout(tmp_path: Path) -> list[str]:
    """The package as `pip install` lays it out (pyproject.toml's package-dir: schemas/ and
    hooks/ are package data inside git_elite/), copied rather than built: no build backend
    needed offline; the sys.path that finds it and its dependencies (PyNaCl's folder)."""
    import nacl

    root, target = Path(__file__).resolve().parent.parent, tmp_path / "installed"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(root / "git_elite", target / "git_elite", ignore=ignore)
    shutil.copytree(root / "schemas", target / "git_elite" / "schemas", ignore=ignore)
    shutil.copytree(root / "hooks", target / "git_elite" / "shims", ignore=ignore)
    return [str(target), str(Path(nacl.__file__).parent.parent)]


def test_discover_in_a_regular_install(server: tuple[Path, Path], tmp_path: Path) -> None:
    """discover7: `discover --offline --json` as a `pip install` runs it (not editable,
    without `site`) loads none of NOT_ON_DISCOVER and prints what the editable install
    prints, byte for byte."""
    work, bare = server
    git_elite = _an_agent_to_show(work, bare, 35)
    paths = installed_layout(tmp_path)
    code = f"import sys; sys.path[:0] = {paths!r}; from git_elite.launcher import run; run()"
    args = ["discover", "--registry", str(bare), "--offline", "--json"]
    for where in (args, ["discover", "--json"]):  # --registry R; the working copy
        [loaded] = traced(sys.executable, "-S", "-P", "-c", code, *where, cwd=work)
        assert "git_elite.cli.discovering" in loaded and "site" not in loaded
        off = (tops(loaded) | loaded) & NOT_ON_DISCOVER
        assert not off, (where, sorted(off))
    installed = subprocess.run([sys.executable, "-S", "-P", "-c", code, *args], cwd=work,
                               capture_output=True, check=True).stdout
    editable = subprocess.run([git_elite, *args], cwd=work, capture_output=True,
                              check=True).stdout
    assert installed == editable and b'"agent_id"' in installed


# verify7: what a second `git elite verify` (its memory applies: `git cat-file` alone) does
# not load in a regular install; the console script's own `re` aside (pip < 24 writes
# `import re` into it), none of these is needed: docs/scale.md, "second verify, round 7"
NOT_ON_SECOND_VERIFY = {"dataclasses", "inspect", "ast", "dis", "tokenize", "copy", "typing",
                        "re", "json", "pathlib", "fnmatch", "urllib", "ipaddress", "contextlib",
                        "functools", "enum", "collections", "hashlib", "_hashlib", "tempfile",
                        "git_elite.core.radicle", "click", LIBGIT2}


def test_second_verify_in_a_regular_install(server: tuple[Path, Path], tmp_path: Path) -> None:
    """verify7: a second `verify` of the bare registry after a one-agent push, as a `pip
    install` runs it (not editable, without `site`), re-checks the one changed piece from
    its memory and loads none of NOT_ON_SECOND_VERIFY; the first (full) verify and a
    `verify` of a rad: name still load what they need."""
    work, bare = server
    code = f"import sys; sys.path[:0] = {installed_layout(tmp_path)!r}; " \
        "from git_elite.launcher import run; run()"
    verify = [sys.executable, "-S", "-P", "-c", code, "verify", str(bare)]
    for n in (36, 37):  # (the first commit of the module's registry makes it format 2)
        write_files(work, agent_files("alice", n))
        git("add", "agents", cwd=work)
        git("commit", "-q", "-m", "one agent more", cwd=work)
        git("push", "-q", "origin", "HEAD:main", cwd=work)
        if n == 36:  # the full audit: libgit2, and the memory written
            [first] = traced(*verify, cwd=work)
            assert LIBGIT2 in first and "git_elite.edges.verified" in first
    proc = subprocess.run(verify, cwd=work, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}, check=False)
    assert proc.returncode == 0 and "verify: tree at HEAD OK" in proc.stderr, proc.stderr
    [loaded] = modules(proc.stderr)
    assert "git_elite.edges.verified" in loaded and "git_elite.core.audit" in loaded
    off = (tops(loaded) | loaded) & NOT_ON_SECOND_VERIFY
    assert not off, sorted(off)
    # a rad: name that is no path still goes to core.radicle (and fails as before: no such
    # repository in a Radicle storage here)
    rad = subprocess.run([*verify[:-1], "rad:z3gqcJUoA1n9HaHKufZs5FCSGazv5"], cwd=work,
                         capture_output=True, text=True, check=False,
                         env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    assert rad.returncode != 0 and "git_elite.core.radicle" in modules(rad.stderr)[0], \
        rad.stderr[-2000:]


# discover, round 8: a top 20 checks 20 manifests and 20 profiles, past the 16 documents of a
# kind after which the generated schema checker (with `re`) took over before, and hashes an
# index/ranked.json of a few hundred KB, past the 256 KiB after which OpenSSL was loaded:
# neither comes back for a top 20 (docs/scale.md, "discover --offline, round 8")
NOT_ON_A_TOP_20 = NOT_ON_DISCOVER | {"git_elite.core.schemagen", "hashlib", "_hashlib", "re"}


def test_a_top_20_in_a_regular_install(tmp_path: Path) -> None:
    """A registry of 64 synthetic agents (bench/synth.py): `discover --offline --json` in a
    regular install without `site` shows 20 agents and loads none of NOT_ON_A_TOP_20."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import synth

    registry = synth.build(64, tmp_path / "out")
    args = ["discover", "--registry", str(registry), "--json"]
    subprocess.run([str(BIN / "git-elite"), *args], check=True, capture_output=True)
    code = f"import sys; sys.path[:0] = {installed_layout(tmp_path)!r}; " \
        "from git_elite.launcher import run; run()"
    [loaded] = traced(sys.executable, "-S", "-P", "-c", code, *args, "--offline",
                      cwd=tmp_path)
    assert "git_elite.cli.discovering" in loaded and "site" not in loaded
    off = (tops(loaded) | loaded) & NOT_ON_A_TOP_20
    assert not off, sorted(off)
    shown = subprocess.run([sys.executable, "-S", "-P", "-c", code, *args, "--offline"],
                           cwd=tmp_path, capture_output=True, check=True).stdout
    assert shown.count(b'"agent_id"') == 20
