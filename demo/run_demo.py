"""git elite demo: a list of steps, each a real `git elite` run in a temp dir.

Run with `make demo`. Stdlib only; keys come from fixed test seeds (AGENTD_KEYGEN_SEED),
so every run prints the same dids. Extend by appending steps to STEPS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = {"alice": "01" * 32, "bob": "02" * 32}


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir

    def home(self, who: str) -> Path:
        return self.dir / who / ".agentd"

    def elite(self, who: str, *args: str, expect: int = 0) -> str:
        env = {**os.environ, "AGENTD_HOME": str(self.home(who)), "HOME": str(self.dir / who),
               "AGENTD_KEYGEN_SEED": SEEDS[who], "NO_COLOR": "1"}
        print(f"  $ git elite {' '.join(args)}    # as {who}")
        proc = subprocess.run(["git", "elite", *args], cwd=self.dir, env=env,
                              capture_output=True, text=True, check=False)
        for line in (proc.stdout + proc.stderr).splitlines():
            print(f"    {line}")
        if proc.returncode != expect:
            sys.exit(f"demo failed: exit {proc.returncode}, expected {expect}")
        return proc.stdout


def identities(demo: Demo) -> None:
    for who in SEEDS:
        demo.elite(who, "id", "init", "--alias", who)
    demo.elite("alice", "id", "show")


def sign_manifest(demo: Demo) -> None:
    body = json.loads((ROOT / "fixtures" / "docs" / "manifest.json").read_text())
    for field in ("owner_did", "signature_ed25519"):
        body.pop(field)
    (demo.dir / "manifest.json").write_text(json.dumps(body, indent=2) + "\n")
    demo.elite("alice", "sign", "--type", "manifest", "manifest.json")
    demo.elite("bob", "verify-file", "manifest.json")


def forged_copy_refused(demo: Demo) -> None:
    body = json.loads((demo.dir / "manifest.json").read_text())
    body["metrics"]["success_rate"] = 0.99
    (demo.dir / "forged.json").write_text(json.dumps(body, indent=2) + "\n")
    demo.elite("bob", "verify-file", "forged.json", expect=1)


def bob_cannot_sign_for_alice(demo: Demo) -> None:
    demo.elite("bob", "sign", "manifest.json", "-o", "stolen.json", expect=1)


STEPS: list[tuple[str, Callable[[Demo], None]]] = [
    ("Two identities from fixed seeds (did:key = Radicle NID)", identities),
    ("Alice signs a manifest; Bob verifies it", sign_manifest),
    ("A forged copy (success_rate raised) is refused", forged_copy_refused),
    ("Bob cannot sign a manifest owned by Alice", bob_cannot_sign_for_alice),
]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="git-elite-demo-") as tmp:
        demo = Demo(Path(tmp))
        for number, (title, step) in enumerate(STEPS, start=1):
            print(f"\n[{number}/{len(STEPS)}] {title}")
            step(demo)
    print("\ndemo complete: every step behaved as expected")


if __name__ == "__main__":
    main()
