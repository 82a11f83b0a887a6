"""`git elite site`: the registry's files at their paths, site.json, the page, and reruns that
rewrite only what changed (SPEC §14). Real registries made by `git elite init`, real commits."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from git_elite.core import documents, layout
from git_elite.edges import site
from tests.conftest import git, run_cli
from tests.helpers_discover import registry_with
from tests.helpers_registry import (
    T0,
    agent_files,
    agent_id_of,
    attestation,
    commit_raw,
    endorsement,
    nid,
    profile,
    tombstone,
)

AGENTS = [{"owner": "alice", "n": i, "rate": 0.85 + i / 100, "total": 80 + i, "recent": 20}
          for i in range(6)]


def tree_files(repo: Path, rev: str = "HEAD") -> dict[str, bytes]:
    names = git("ls-tree", "-r", "--name-only", rev, cwd=repo).stdout.split()
    return {n: git("show", f"{rev}:{n}", cwd=repo).stdout.encode() for n in names
            if n.split("/")[0] in site.TOPS or n in site.TOPS}


def git_input(cwd: Path, data: str, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, input=data, capture_output=True, text=True,
                          check=True)
    return proc.stdout.strip()


def served(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.relative_to(out).parts[0] in site.TOPS}


def test_site_holds_the_registry_files_and_the_page(tmp_path: Path) -> None:
    work, _ = registry_with(tmp_path, "reg", AGENTS)
    out = tmp_path / "public"
    proc = run_cli("site", str(work), "-o", str(out))
    assert "written" in proc.stderr and proc.stdout == ""
    assert served(out) == tree_files(work)
    for name in site.PAGE:
        assert (out / name).read_bytes() == site.page_file(name)
    listing = json.loads((out / "site.json").read_bytes())
    assert listing["commit"] == git("rev-parse", "HEAD", cwd=work).stdout.strip()
    assert not (out / "README.md").exists() and not (out / ".gitattributes").exists()
    assert "http" not in (out / "index.html").read_text().split("<body>")[0].replace(
        'http-equiv', '')  # nothing loaded from elsewhere


def test_page_is_package_data() -> None:
    html = site.page_file("index.html").decode()
    for name in ("verify.js", "elite.js", "elite.css"):
        assert name in html and site.page_file(name)
    assert "innerHTML" not in site.page_file("elite.js").decode()  # text goes in as text


def test_rerun_rewrites_only_what_changed(tmp_path: Path) -> None:
    work, _ = registry_with(tmp_path, "reg", AGENTS)
    out = tmp_path / "public"
    first = site.build(work, out)
    assert first.full and first.written > len(AGENTS) * 2
    old = agent_id_of(profile(0))
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    before = set(served(out))
    os.utime(out / layout.IDENTITY, ns=(1, 1))
    stamps[out / layout.IDENTITY] = 1
    files = {**agent_files("bob", 50, rate=0.99, total=500, recent=90),
             layout.agent_path(old, "manifest.json"): None,
             layout.agent_path(old, "tombstone.json"): documents.to_bytes(
                 tombstone("alice", old, created_at=T0 + 100))}
    commit_raw(work, files, "one agent in, one withdrawn", index=True)
    second = site.build(work, out)
    assert not second.full
    assert served(out) == tree_files(work)
    changed = {p for p, ns in stamps.items() if p.exists() and p.stat().st_mtime_ns != ns}
    rel = {p.relative_to(out).as_posix() for p in changed}
    assert layout.IDENTITY not in rel  # untouched by the change: not rewritten
    assert layout.INDEX in rel and "site.json" in rel
    assert all(r.startswith(("agents/", "index/", "INDEX.json", "site.json", site.STATE))
               for r in rel)
    assert not (out / layout.agent_path(old, "manifest.json")).exists()
    assert second.removed == len(before - set(served(out))) >= 1  # the manifest (+ a shard)
    # 2 new agent files, tombstone, head (+ its shard), index/ranked.json, site.json
    assert second.written <= 7


def test_first_write_is_done_by_git_not_file_by_file(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A first write into an empty folder: git archive | tar writes the registry's files
    (Python writes only the page, site.json and the state), nothing is left staged, and every
    file is a plain 0644 file, even one committed executable."""
    work, _ = registry_with(tmp_path, "reg", AGENTS[:3])
    executable = next(p for p in (work / "agents").rglob("profile.json"))
    executable.chmod(0o755)
    git("add", "-A", cwd=work)
    git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "mode", cwd=work)
    python_writes: list[Path] = []
    atomic = site._atomic
    monkeypatch.setattr(site, "_atomic", lambda t, d: (python_writes.append(t), atomic(t, d)))
    out = tmp_path / "public"
    result = site.build(work, out)
    assert served(out) == tree_files(work)
    assert result.written >= len(tree_files(work))
    assert {p.relative_to(out).as_posix() for p in python_writes} == {
        *site.PAGE, site.SITE_JSON, site.STATE}
    assert not list(out.glob(".tmp-*"))
    assert {p.stat().st_mode & 0o777 for p in out.rglob("*") if p.is_file()} == {0o644}


def test_full_rebuild_without_state_compares_bytes_and_removes_leftovers(tmp_path: Path
                                                                         ) -> None:
    work, _ = registry_with(tmp_path, "reg", AGENTS)
    out = tmp_path / "public"
    site.build(work, out)
    (out / site.STATE).unlink()
    stray = out / "agents" / "stray.json"
    stray.write_bytes(b"{}")
    again = site.build(work, out)
    assert again.full and again.written == 0 and again.removed == 1 and not stray.exists()
    assert served(out) == tree_files(work)


def test_state_naming_an_unknown_commit_means_a_full_run(tmp_path: Path) -> None:
    work, _ = registry_with(tmp_path, "reg", AGENTS[:2])
    out = tmp_path / "public"
    site.build(work, out)
    (out / site.STATE).write_text(json.dumps({"commit": "f" * 40}))
    assert site.build(work, out).full
    (out / site.STATE).write_text("not json")
    assert site.build(work, out).full


def test_rev_and_bare_repository(tmp_path: Path) -> None:
    work, bare = registry_with(tmp_path, "reg", AGENTS[:2])
    first = git("rev-parse", "HEAD", cwd=work).stdout.strip()
    commit_raw(work, agent_files("bob", 9), "more", index=True)
    out = tmp_path / "public"
    run_cli("site", str(work), "-o", str(out), "--rev", first)
    assert served(out) == tree_files(work, first)
    run_cli("site", str(work), "-o", str(out))
    assert served(out) == tree_files(work)
    run_cli("site", str(bare), "-o", str(tmp_path / "from-bare"))
    assert served(tmp_path / "from-bare") == tree_files(bare)


def test_endorsements_are_listed(tmp_path: Path) -> None:
    work, _ = registry_with(tmp_path, "reg", AGENTS[:1])
    path = layout.endorsement_path(nid("bob"), nid("alice"))
    commit_raw(work, {path: documents.to_bytes(endorsement("bob", "alice"))}, "endorse")
    out = tmp_path / "public"
    site.build(work, out)
    assert json.loads((out / "site.json").read_bytes())["endorsements"] == [path]
    assert (out / path).read_bytes() == (work / path).read_bytes()


def test_attestations_are_listed_and_kept_in_step(tmp_path: Path) -> None:
    """site.json lists every attestation file (the page cannot list a folder); a rerun brings
    the list to the new commit from the tree diff, and a site.json from before the list
    existed is filled by one walk."""
    work, _ = registry_with(tmp_path, "reg", AGENTS[:2])
    first, second = (agent_id_of(profile(n)) for n in (0, 1))
    out = tmp_path / "public"

    def listed() -> list[str]:
        return list(json.loads((out / "site.json").read_bytes())["attestations"])

    bob = layout.attestation_path(first, nid("bob"))
    commit_raw(work, {bob: documents.to_bytes(attestation("bob", first))}, "attest", index=True)
    assert site.build(work, out).full and listed() == [bob]
    carol = layout.attestation_path(second, nid("carol"))
    commit_raw(work, {carol: documents.to_bytes(attestation("carol", second)),
                      bob: documents.to_bytes(attestation("bob", first, created_at=T0 + 20,
                                                          revoked=True))}, "more", index=True)
    assert not site.build(work, out).full and listed() == sorted([bob, carol])
    commit_raw(work, {carol: None}, "gone (the hook would refuse it)", index=True)
    assert not site.build(work, out).full and listed() == [bob]
    old = json.loads((out / "site.json").read_bytes())
    del old["attestations"]
    (out / "site.json").write_text(json.dumps(old))
    commit_raw(work, {carol: documents.to_bytes(attestation("carol", second))}, "again",
               index=True)
    assert not site.build(work, out).full and listed() == sorted([bob, carol])
    assert served(out) == tree_files(work)


def test_timestamp_ref_is_served_and_removed_with_it(tmp_path: Path) -> None:
    work, _ = registry_with(tmp_path, "reg", AGENTS[:1])
    blob = git_input(work, '{"t": 1}\n', "hash-object", "-w", "--stdin")
    tree = git_input(work, f"100644 blob {blob}\ttimestamp.json\n", "mktree")
    commit = git("commit-tree", tree, "-m", "ts", cwd=work).stdout.strip()
    git("update-ref", site.TIMESTAMP_REF, commit, cwd=work)
    out = tmp_path / "public"
    site.build(work, out)
    assert (out / "timestamp.json").read_bytes() == b'{"t": 1}\n'
    git("update-ref", "-d", site.TIMESTAMP_REF, cwd=work)
    assert site.build(work, out).removed == 1 and not (out / "timestamp.json").exists()


def test_symlinks_in_the_tree_are_not_written(tmp_path: Path) -> None:
    work, _ = registry_with(tmp_path, "reg", AGENTS[:1])
    (work / "agents" / "link.json").symlink_to("/etc/passwd")
    git("add", "-A", cwd=work)
    git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "symlink", cwd=work)
    out = tmp_path / "public"
    site.build(work, out)  # the first write is not git's: it would write the symlink
    assert not (out / "agents" / "link.json").exists()
    assert served(out) == {k: v for k, v in tree_files(work).items()
                           if k != "agents/link.json"}


@pytest.mark.parametrize("args, code, text", [
    (["--rev", "no-such-rev"], 1, "unknown revision no-such-rev"),
    ([], 2, "Missing option '-o'"),
], ids=["unknown-rev", "no-output"])
def test_site_bad_input(tmp_path: Path, args: list[str], code: int, text: str) -> None:
    work, _ = registry_with(tmp_path, "reg", AGENTS[:1])
    out = ["-o", str(tmp_path / "public")] if code != 2 else []
    proc = run_cli("site", str(work), *out, *args, check=code)
    assert text in proc.stderr and "Traceback" not in proc.stderr


def test_site_outside_a_repository(tmp_path: Path) -> None:
    proc = run_cli("site", str(tmp_path), "-o", str(tmp_path / "out"), check=1)
    assert proc.stderr.count("\n") == 1 and "not a git repository" in proc.stderr


def _synthetic(tmp: Path, agents: int) -> tuple[Path, str, str]:
    """A bare repository with a registry-shaped tree of `agents` agents (the site copies
    files, it does not judge them) and a commit on top adding one agent."""
    import hashlib

    import pygit2

    from git_elite.edges import git as git_module

    path = tmp / f"reg-{agents}.git"
    repo = pygit2.init_repository(str(path), bare=True)
    files: dict[str, bytes | None] = {"IDENTITY.json": b"{}\n", "INDEX.json": b"{}\n"}
    for n in range(agents):
        aid = hashlib.sha256(b"agent %d" % n).hexdigest()
        files[f"agents/{aid[:2]}/{aid}/manifest.json"] = b'{"n": %d}\n' % n
        files[f"agents/{aid[:2]}/{aid}/profile.json"] = b'{"p": %d}\n' % n
        files[f"index/{aid[:2]}.json"] = b'{"shard": %d}\n' % n
    base = git_module.build_commit(repo, None, files, "base")
    new = hashlib.sha256(b"agent 0").hexdigest()[:2] + "f" * 62
    one = git_module.build_commit(repo, base, {
        f"agents/{new[:2]}/{new}/manifest.json": b'{"new": 1}\n',
        f"agents/{new[:2]}/{new}/profile.json": b'{"newp": 1}\n',
        f"index/{new[:2]}.json": b'{"shard": "changed"}\n', "INDEX.json": b'{"head": 2}\n'},
        "one agent")
    return path, base, one


def test_rewrite_after_one_agent_reads_and_writes_what_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SPEC §12: the rewrite after a one-agent commit costs the same at 50 agents as at
    2,000: the same git objects looked up by the site and gittree's walk (which descends
    only into subtrees whose ids differ: tests/test_o_changed_git.py counts the walk itself)
    and the same files written (2 agent files, its shard, the head, and site.json, which
    names the commit)."""
    from git_elite.edges import git as git_module

    lookups: list[int] = []
    opened = git_module.open_reader

    class Counting:
        def __init__(self, repo: object) -> None:
            self.repo = repo

        def __getitem__(self, oid: object) -> object:
            lookups[-1] += 1
            return self.repo[oid]  # type: ignore[index]

        def __getattr__(self, name: str) -> object:
            return getattr(self.repo, name)

    for agents in (50, 2000):
        path, base, one = _synthetic(tmp_path, agents)
        out = tmp_path / f"public-{agents}"
        site.build(path, out, base)
        lookups.append(0)
        monkeypatch.setattr(git_module, "open_reader", lambda p: Counting(opened(p)))
        result = site.build(path, out, one)
        monkeypatch.setattr(git_module, "open_reader", opened)
        assert not result.full and result.written == 4 + 1 and result.removed == 0  # + site.json
        assert (out / "INDEX.json").read_bytes() == b'{"head": 2}\n'
    counts = lookups
    assert counts[0] == counts[1], counts
