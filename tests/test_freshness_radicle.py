"""Freshness for a Radicle registry (SPEC §6.1, §11) through the git-remote-rad TEST DOUBLE
(tests/bin): the delegate signs with `git elite timestamp --registry rad://…`, which pushes
into its own namespace (covered by its signed refs); readers find it there."""

from __future__ import annotations

from pathlib import Path

import pytest

from git_elite.core import radicle, timestamp
from git_elite.core.keys import nid_from_did
from tests.conftest import SEEDS, git, run_cli
from tests.helpers_registry import key, make_identity
from tests.radicle_fixtures import RadHome, RadRepo


@pytest.fixture()
def rad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[RadRepo, str]:
    make_identity("server")
    work = tmp_path / "work"
    run_cli("init", str(work), "--name", "chrysalis-elites", "--timestamp-key",
            key("server").did)
    home = RadHome(tmp_path / "rad")
    home.write_keys(bytes.fromhex(SEEDS["server"]))
    repo = home.init_repo(work, [key("server")])
    for name, value in home.env().items():
        monkeypatch.setenv(name, value)
    return repo, f"rad://{repo.rid[len(radicle.RAD_PREFIX):]}"


def test_delegate_keeps_a_radicle_registry_fresh(rad: tuple[RadRepo, str]) -> None:
    repo, url = rad
    stale = run_cli("discover", "--registry", url, check=1)
    assert "[timestamp] freeze: no timestamp" in stale.stderr
    run_cli("timestamp", "--registry", url, "--expires", "3600")
    run_cli("timestamp", "--registry", url, "--expires", "3600")
    ns = f"refs/namespaces/{nid_from_did(key('server').did)}/"
    chain = git("rev-list", ns + timestamp.REF, cwd=repo.storage).stdout.split()
    assert len(chain) == 2, "the second timestamp's parent is the first"
    signed = git("cat-file", "blob", f"{ns}refs/rad/sigrefs:refs", cwd=repo.storage).stdout
    assert f"{chain[0]} {timestamp.REF}" in signed, "the delegate's signed refs cover it"
    found = run_cli("discover", "--registry", url)
    assert "signed fresh until" in found.stderr and "timestamp v2" in found.stderr
    assert "signed fresh until" in run_cli("verify", url).stderr


def test_httpd_cannot_show_a_timestamp(rad: tuple[RadRepo, str]) -> None:
    """radicle-httpd serves no refs/elite/*: a registry with the role is refused there
    (freeze, saying why) unless --allow-stale."""
    from tests.httpd_double import Double, serve

    repo, _ = rad
    with serve(Double(repo.storage, repo.rid)) as base:
        refused = run_cli("discover", "--httpd", base, "--rid", repo.rid, check=1)
        assert "[timestamp] freeze" in refused.stderr
        assert "cannot be read through this source" in refused.stderr
        stale = run_cli("discover", "--httpd", base, "--rid", repo.rid, "--allow-stale")
        assert "warning:" in stale.stderr and "freeze" in stale.stderr


def test_the_signers_namespaces_are_named_by_their_nid(rad: tuple[RadRepo, str]) -> None:
    """`check.signed_by` holds DIDs; the storage's namespaces are Node IDs. Before any
    timestamp is pushed, the signer's namespace is found from `signed_by` alone (no
    namespace holds the ref yet), named by its NID, never by the DID."""
    from git_elite.core.radicle import RadicleCheck
    from git_elite.edges import freshness

    repo, url = rad
    did = key("server").did
    check = RadicleCheck(repo.rid, True, signed_by=(did,))
    assert freshness.namespaces(check, repo.storage) == [nid_from_did(did)]
    run_cli("timestamp", "--registry", url, "--expires", "3600")
    assert freshness.namespaces(check, repo.storage) == [nid_from_did(did)]
    ref, where = freshness.radicle_ref(check, repo.storage.parent)
    assert (ref, where) == (f"refs/namespaces/{nid_from_did(did)}/{timestamp.REF}",
                            repo.storage)
