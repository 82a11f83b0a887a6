"""Hostile trees (issue 17, items 1, 3, 4): blobs are sized from their object header before
they are inflated, every entry must be a regular file or a directory, and no tree shape is an
internal error. Pushed for real into a bare server with the pre-receive hook, checked with
`git elite verify` and by the pre-commit hook; the hook's peak memory is measured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from git_elite.core import layout
from tests.conftest import git, run_cli
from tests.helpers_attacks import Server, aid, head, mirror_of, mpath, refused
from tests.helpers_registry import push

MiB = 1024 * 1024


def blob(repo: Path, data: bytes) -> str:
    return subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=data,
                          capture_output=True, check=True).stdout.decode().strip()


def mktree(repo: Path, lines: list[str]) -> str:
    text = "".join(line + "\n" for line in lines)
    return subprocess.run(["git", "mktree"], cwd=repo, input=text, capture_output=True,
                          text=True, check=True).stdout.strip()


def main_tree_with(repo: Path, extra: list[str], drop: tuple[str, ...] = ()) -> str:
    """main's top-level tree without the entries named in `drop`, plus `extra` lines."""
    lines = [line for line in git("ls-tree", "main", cwd=repo).stdout.splitlines()
             if line.split("\t", 1)[1] not in drop]
    return mktree(repo, lines + extra)


def tree_with(repo: Path, tree: str | None, path: str, entry: str) -> str:
    """`tree` (an id, None: empty) with `entry` ("<mode> <type> <id>") at `path`, the
    directories on the way made or rewritten."""
    head, _, rest = path.partition("/")
    rows = git("ls-tree", tree, cwd=repo).stdout.splitlines() if tree else []
    keep = [row for row in rows if row.split("\t", 1)[1] != head]
    if not rest:
        return mktree(repo, keep + [f"{entry}\t{head}"])
    sub = next((row.split()[2] for row in rows if row.split("\t", 1)[1] == head
                and row.split()[1] == "tree"), None)
    return mktree(repo, keep + [f"040000 tree {tree_with(repo, sub, rest, entry)}\t{head}"])


def main_with(repo: Path, path: str, entry: str) -> str:
    return tree_with(repo, git("rev-parse", "main^{tree}", cwd=repo).stdout.strip(), path,
                     entry)


def commit_tree(repo: Path, tree: str, *parents: str) -> str:
    args = [arg for p in parents for arg in ("-p", p)]
    return git("commit-tree", tree, *args, "-m", "hostile", cwd=repo).stdout.strip()


def push_commit(srv: Server, sha: str) -> subprocess.CompletedProcess[str]:
    return git("push", "origin", f"{sha}:refs/heads/main", cwd=srv.work, check=False)


def no_internal_error(result: subprocess.CompletedProcess[str]) -> None:
    assert "internal error" not in result.stderr + result.stdout, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def zero_blob(repo: Path, size: int) -> str:
    proc = subprocess.run(f"head -c {size} /dev/zero | git hash-object -w --stdin", shell=True,
                          cwd=repo, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


# item 1: sizes from the object header, before inflating ------------------------------------
def hook_peak_rss_kib(bare: Path, update: str) -> tuple[int, str]:
    """Run the real pre-receive hook (as git runs it) in a fresh wrapper process and return
    the largest peak RSS of any process it started (ru_maxrss of its children) and stderr."""
    wrapper = ("import resource,subprocess,sys\n"
               "p=subprocess.run(['git','elite','hook','pre-receive'],input=sys.argv[1],"
               "text=True,capture_output=True)\n"
               "sys.stderr.write(p.stderr)\n"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    proc = subprocess.run([sys.executable, "-c", wrapper, update], cwd=bare,
                          capture_output=True, text=True, check=True)
    return int(proc.stdout.split()[-1]), proc.stderr


def test_sixteen_paths_to_one_64_mib_blob_are_refused_with_flat_memory(srv: Server) -> None:
    """f2.sh: a ~66 KB push whose 16 paths name one 64 MiB blob of zeros cost the hook over
    1 GB; the sizes are now read from the object header and nothing is inflated."""
    work = srv.work
    zero = zero_blob(work, 64 * MiB)
    junk = mktree(work, [f"100644 blob {zero}\tf{i}" for i in range(16)])
    big_manifest = layout.agent_path("e" * 64, "manifest.json")
    tree = main_with(work, big_manifest, f"100644 blob {zero}")
    tree = tree_with(work, tree, "junk", f"040000 tree {junk}")
    tree = tree_with(work, tree, "README.md", f"100644 blob {zero}")
    sha = commit_tree(work, tree, srv.tip)
    result = push_commit(srv, sha)
    no_internal_error(result)
    lines = refused(srv, sha, "json", "README.md", result=result)
    assert any(f"{big_manifest}: [json] 67108864 bytes exceeds the limit of 65536" in line
               for line in lines), lines
    assert any("junk/f1: [layout]" in line for line in lines), lines
    # the same objects staged in the server, the hook run as git runs it: memory stays flat
    git("fetch", "-q", str(work), f"{sha}:refs/x", cwd=srv.bare)
    peak, err = hook_peak_rss_kib(srv.bare, f"{srv.tip} {sha} refs/heads/main\n")
    assert "push refused" in err, err
    assert peak <= 100 * 1024, f"hook peak RSS {peak} KiB (> 100 MiB)"


def test_prompt_over_256_kib_is_refused_by_the_hook(srv: Server) -> None:
    """prompt.md had no limit; now 256 KiB by default (IDENTITY policy max_prompt_bytes)."""
    work = srv.work
    path = layout.agent_path(aid(1), "prompt.md")
    (work / path).write_bytes(b"x" * (256 * 1024 + 1))
    git("add", path, cwd=work)
    git("commit", "-qm", "big prompt", "--no-verify", cwd=work)
    lines = refused(srv, head(work), "json", path)
    assert any("262145 bytes exceeds the limit of 262144 bytes for prompt.md" in line
               for line in lines), lines


def test_prompt_over_the_ceiling_is_refused_before_reading(srv: Server) -> None:
    work = srv.work
    big = blob(work, b"y" * (MiB + 1))
    sha = commit_tree(work, main_with(work, layout.agent_path(aid(1), "prompt.md"),
                                      f"100644 blob {big}"), srv.tip)
    lines = refused(srv, sha, "json", layout.agent_path(aid(1), "prompt.md"),
                    result=push_commit(srv, sha))
    assert any("checked before reading it" in line for line in lines), lines


def test_discover_refuses_a_padded_index_without_inflating_it(srv: Server,
                                                              tmp_path: Path) -> None:
    """A mirror serves an INDEX.json padded far past what its agents need: discover names
    it in one line (from the header) instead of parsing it."""
    mirror, clone = mirror_of(srv, tmp_path)
    index = clone / layout.INDEX
    index.write_bytes(index.read_bytes() + b" " * (3 * MiB))
    git("commit", "-qam", "padded", "--no-verify", cwd=clone)
    git("push", "-q", "origin", "main", cwd=clone)
    result = run_cli("discover", "--registry", str(mirror), check=None)
    no_internal_error(result)
    assert "INDEX.json: [json]" in result.stderr and "checked before reading it" in \
        result.stderr, result.stderr


# item 3: deep trees, blobs turned into symlinks or gitlinks --------------------------------
def deep_tree(repo: Path, depth: int) -> str:
    tree = mktree(repo, [f"100644 blob {blob(repo, b'x')}\tx"])
    for _ in range(depth):
        tree = mktree(repo, [f"040000 tree {tree}\td"])
    return tree


def test_a_tree_1200_deep_in_a_merged_root_is_a_layout_problem(srv: Server) -> None:
    work = srv.work
    deep = deep_tree(work, 1200)
    root = commit_tree(work, mktree(work, [f"040000 tree {deep}\tjunk"]))
    merge = commit_tree(work, git("rev-parse", "main^{tree}", cwd=work).stdout.strip(),
                        srv.tip, root)
    result = push_commit(srv, merge)
    no_internal_error(result)
    refused(srv, root, "layout", "junk/d/d/d", result=result)


def test_verify_names_a_deep_tree(srv: Server) -> None:
    work = srv.work
    sha = commit_tree(work, main_tree_with(work, [f"040000 tree {deep_tree(work, 1200)}\tjunk"]),
                      srv.tip)
    git("update-ref", "refs/heads/deep", sha, cwd=work)
    result = run_cli("verify", "--rev", "deep", ".", cwd=work, check=1)
    no_internal_error(result)
    assert "[layout]" in result.stdout + result.stderr


MODES = {"symlink": "120000 blob {link}", "executable": "100755 blob {link}",
         "gitlink": "160000 commit {commit}"}
PATHS = ["README.md", "LICENSE", ".gitignore", ".gitattributes", "IDENTITY.json", "INDEX.json"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_but_a_regular_file_is_refused_at_every_path(srv: Server, mode: str,
                                                                path: str) -> None:
    """item 4 (f4.sh: `.gitignore -> ../../.agentd/identity.json` was accepted) and item 3
    (a file turned into a symlink or gitlink was an internal error)."""
    work = srv.work
    entry = MODES[mode].format(link=blob(work, b"../../.agentd/identity.json"),
                               commit=srv.tip)
    sha = commit_tree(work, main_tree_with(work, [f"{entry}\t{path}"], drop=(path,)), srv.tip)
    result = push_commit(srv, sha)
    no_internal_error(result)
    lines = refused(srv, sha, "layout", path, result=result)
    assert any(f"(mode {MODES[mode][:6]})" in line for line in lines), lines


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_is_refused_inside_an_agent(srv: Server, mode: str) -> None:
    work = srv.work
    entry = MODES[mode].format(link=blob(work, b"/etc/passwd"), commit=srv.tip)
    sha = commit_tree(work, main_with(work, mpath(1), entry), srv.tip)
    result = push_commit(srv, sha)
    no_internal_error(result)
    refused(srv, sha, "layout", mpath(1), result=result)


def test_verify_history_of_a_mirror_names_every_bad_mode(srv: Server, tmp_path: Path) -> None:
    mirror, _ = mirror_of(srv, tmp_path)
    link = blob(mirror, b"../../.agentd/identity.json")
    tree = main_tree_with(mirror, [f"120000 blob {link}\t.gitignore",
                                   f"100755 blob {link}\tLICENSE"], drop=("LICENSE",))
    git("update-ref", "refs/heads/main", commit_tree(mirror, tree, srv.tip), cwd=mirror)
    result = run_cli("verify", "--history", str(mirror), check=1)
    no_internal_error(result)
    out = result.stdout + result.stderr
    assert ".gitignore: [layout] a symlink" in out and "LICENSE: [layout] an executable" in out


def test_pre_commit_refuses_a_staged_symlink(srv: Server) -> None:
    work = srv.work
    run_cli("hooks", "install", cwd=work)
    try:
        (work / ".gitignore").symlink_to("../../.agentd/identity.json")
        git("add", ".gitignore", cwd=work)
        result = git("commit", "-qm", "link", cwd=work, check=False)
    finally:
        run_cli("hooks", "uninstall", cwd=work)
    no_internal_error(result)
    assert result.returncode != 0
    assert ".gitignore: [layout] a symlink (mode 120000)" in result.stderr, result.stderr
    assert push(work).returncode == 0  # nothing new was committed
    assert head(srv.bare, "main") == srv.tip
