"""Secret-hygiene scanner for any suite: is a secret key visible in some text or in a repo?

`assert_no_secret(output, seeds)` looks for each 32-byte seed in every encoding it could
leak in: hex (either case) of the seed, of seed||pub and pub||seed; base58 of the same;
base64 and base64url (padded or not, at each of the three byte alignments, so a seed inside
a longer base64 blob is still found); a `secretKeyBase58` field with a value; OpenSSH/PEM private
key block markers. `assert_repo_has_no_secret(repo, seeds)` runs it on every object of every
ref (`git rev-list --objects --all` + `git cat-file --batch`). No stubs: both are exercised
against planted secrets in tests/test_secret_hygiene.py.
"""

from __future__ import annotations

import base64
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import base58

from git_elite.core import keys

MARKERS = (b"-----BEGIN OPENSSH PRIVATE KEY-----", b"PRIVATE KEY-----", b"openssh-key-v1")
# the identity field *with a value*: naming the field in an error message is not a leak
SECRET_FIELD = re.compile(rb'"secretKeyBase58"\s*:\s*"[^"]')


def _b64_variants(raw: bytes) -> list[bytes]:
    """Substrings that any base64 text containing `raw` must contain, at every alignment."""
    out: list[bytes] = []
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * shift + raw)
            skip = (shift * 4 + 2) // 3  # characters touched by the padding bytes
            out.append(text[skip + 1:].rstrip(b"=")[:-2])
    return out


def encodings(seed: bytes) -> dict[str, bytes]:
    """Every needle that would show `seed` (a 32-byte Ed25519 seed) leaked."""
    public = keys.Keypair.from_seed(seed).public
    found: dict[str, bytes] = {}
    for label, raw in (("seed", seed), ("seed||pub", seed + public), ("pub||seed", public + seed)):
        found[f"hex({label})"] = raw.hex().encode()
        found[f"HEX({label})"] = raw.hex().upper().encode()
        found[f"base58({label})"] = base58.b58encode(raw)
    for index, needle in enumerate(_b64_variants(seed)):
        found[f"base64(seed)#{index}"] = needle
    return found


def find_secret(data: str | bytes, seeds: Iterable[bytes]) -> list[str]:
    """Labels of every leak found in `data` (empty when clean)."""
    blob = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    lower = blob.lower()
    hits = [m.decode() for m in MARKERS if m.lower() in lower]
    if SECRET_FIELD.search(blob):
        hits.append("secretKeyBase58 field with a value")
    for seed in seeds:
        for label, needle in encodings(seed).items():
            if needle in blob:
                hits.append(label)
    return hits


def assert_no_secret(data: str | bytes, seeds: Iterable[bytes], where: str = "output") -> None:
    hits = find_secret(data, list(seeds))
    assert not hits, f"secret material in {where}: {', '.join(hits)}"


def repo_objects(repo: Path) -> list[tuple[str, bytes]]:
    """(object id, content) of every object reachable from any ref, reflog or index."""
    listed = subprocess.run(
        ["git", "rev-list", "--objects", "--all", "--reflog", "--indexed-objects"],
        cwd=repo, capture_output=True, check=True).stdout
    oids = [line.split(b" ", 1)[0] for line in listed.splitlines() if line]
    batch = subprocess.run(["git", "cat-file", "--batch"], cwd=repo,
                           input=b"\n".join(oids) + b"\n", capture_output=True,
                           check=True).stdout
    out: list[tuple[str, bytes]] = []
    pos = 0
    while pos < len(batch):
        header_end = batch.index(b"\n", pos)
        oid, _kind, size = batch[pos:header_end].split(b" ")
        start = header_end + 1
        out.append((oid.decode(), batch[start:start + int(size)]))
        pos = start + int(size) + 1
    return out


def assert_repo_has_no_secret(repo: Path, seeds: Iterable[bytes]) -> int:
    """Scan every object of `repo`; returns how many were scanned (so callers can assert > 0)."""
    wanted = list(seeds)
    objects = repo_objects(repo)
    for oid, content in objects:
        assert_no_secret(content, wanted, where=f"{repo} object {oid}")
    return len(objects)
