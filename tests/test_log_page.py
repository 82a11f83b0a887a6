"""The page's check of the witnessed log (git_elite/web/verify.js, SPEC §15), run by Node's
WebCrypto on logs written by the Python side: the checkpoint signed by the log key, the
declared witnesses' cosignatures and the quorum, the root rebuilt from the C2SP tiles (two
tile levels and partial tiles), the latest leaf naming the INDEX.json served; and tampered
inputs refused. Skips without `node`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import logrole, note, tlog
from tests.conftest import ROOT
from tests.helpers_registry import key

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

ORIGIN = "example.org/chrysalis-elites"
HEAD = "ab" * 32
SCRIPT = """
const fs = require("fs");
require(process.argv[1]);
const V = globalThis.EliteVerify;
const [dir, role, head] = [process.argv[2], JSON.parse(process.argv[3]), process.argv[4]];
const read = async (p) => { try { return new Uint8Array(fs.readFileSync(`${dir}/${p}`)); }
                            catch (e) { return null; } };
(async () => {
  try {
    const got = await V.checkLog(await read("checkpoint"), role, read, head);
    console.log(JSON.stringify({ ok: true, ...got }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, why: e.message }));
  }
})();
"""


def role(quorum: int = 2) -> dict[str, Any]:
    return {"origin": ORIGIN, "key": key("dave").did, "quorum": quorum,
            "witnesses": [{"name": n, "key": key(s).did, "url": "http://127.0.0.1:9"}
                          for n, s in (("w1", "alice"), ("w2", "bob"), ("w3", "carol"))]}


def write_log(folder: Path, size: int, *, cosigners: tuple[str, ...] = ("w1", "w2"),
              head: str = HEAD, signer: str = "dave") -> None:
    """A tiles log of `size` leaves (the last one naming `head`) with its checkpoint."""
    hashes: list[bytes] = []

    def read(indexes: Any) -> list[bytes]:
        return [hashes[i] for i in indexes]

    leaves = [logrole.leaf("main", f"{n:040x}", head if n == size - 1 else "00" * 32)
              for n in range(size)]
    for n, data in enumerate(leaves):
        hashes += tlog.stored_hashes_for_record(n, data, read)
    files = tlog.new_tiles(0, size, read)
    for start in range(0, size, 256):
        chunk = leaves[start:start + 256]
        files[tlog.entries_path(start // 256, len(chunk))] = tlog.entry_bundle(chunk)
    body = note.Checkpoint(ORIGIN, size, tlog.tree_hash(size, read)).body()
    data = note.sign_note(body, ORIGIN, key(signer))
    seeds = {"w1": "alice", "w2": "bob", "w3": "carol"}
    data += "".join(note.cosign(body, w, key(seeds[w]), 1_800_000_000) for w in cosigners
                    ).encode()
    files["checkpoint"] = data
    for path, content in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(content)


def page_check(folder: Path, the_role: dict[str, Any], head: str = HEAD) -> dict[str, Any]:
    proc = subprocess.run(["node", "-e", SCRIPT, "--", str(ROOT / "git_elite/web/verify.js"),
                           str(folder), json.dumps(the_role), head], capture_output=True,
                          text=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.parametrize("size", [1, 3, 256, 257, 70_000])
def test_the_page_accepts_a_witnessed_log(tmp_path: Path, size: int) -> None:
    write_log(tmp_path, size)
    assert page_check(tmp_path, role()) == {"ok": True, "size": size,
                                            "cosigned": ["w1", "w2"], "quorum": 2}


BAD = {
    "below-quorum": ({"cosigners": ("w1",)}, {}, "1 valid witness cosignature(s)"),
    "undeclared-cosigner": ({"cosigners": ("w1",)}, {"witnesses": role()["witnesses"][:1]
                                                     + [{"name": "w2", "key": key("eve").did,
                                                         "url": "http://x"}]},
                            "valid witness cosignature"),
    "other-log-key": ({"signer": "mallory"}, {}, "not signed by the log key"),
    "stale-index": ({"head": "cd" * 32}, {}, "names another INDEX.json"),
    "other-origin": ({}, {"origin": "example.org/other"}, "another origin"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_page_refuses(tmp_path: Path, case: str) -> None:
    written, changed, why = BAD[case]
    write_log(tmp_path, 300, **written)
    result = page_check(tmp_path, {**role(), **changed})
    assert result["ok"] is False and why in result["why"], result


def test_the_page_refuses_tiles_that_do_not_give_the_root(tmp_path: Path) -> None:
    write_log(tmp_path, 300)
    tile = tmp_path / "tile/1/000.p/1"  # the level-1 hash of the first 256 leaves
    tile.write_bytes(b"\x01" + tile.read_bytes()[1:])
    result = page_check(tmp_path, role())
    assert result == {"ok": False, "why": "log: the tiles do not give the checkpoint's root"}
