"""`make demo` is the whole story: run demo/run_demo.py for real and check its key lines, so a
broken demo fails the suite."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from git_elite.core import keys
from tests.conftest import BIN, ROOT, SEEDS

ALICE_DID = "did:key:z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX"
BOB_DID = "did:key:z6Mko9hTggMwjSTEaJaPUfE6tqcy2xvU6BnNq3e3o8qVBiyH"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    tmp: Path  # the demo's TMPDIR
    outside: Path  # HOME, AGENTD_HOME and git's global config as the demo found them


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One real run of the demo (module-scoped: ~60 s alone; 300 s allowed on a loaded
    machine). HOME, AGENTD_HOME and GIT_CONFIG_GLOBAL point at an `outside` dir the demo
    must leave untouched."""
    tmp = tmp_path_factory.mktemp("demo-tmp")
    outside = tmp_path_factory.mktemp("demo-outside")
    env = {**os.environ, "TMPDIR": str(tmp), "HOME": str(outside),
           "AGENTD_HOME": str(outside / ".agentd"),
           "GIT_CONFIG_GLOBAL": str(outside / ".gitconfig"),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([sys.executable, str(ROOT / "demo" / "run_demo.py")], env=env,
                          capture_output=True, text=True, check=False, timeout=300)
    return Run(proc.returncode, proc.stdout, proc.stderr, tmp, outside)


def test_demo_exits_zero(demo_run: Run) -> None:
    assert demo_run.returncode == 0, demo_run.stdout[-3000:] + demo_run.stderr
    assert "demo complete: every step behaved as expected" in demo_run.stdout


def test_demo_dids_come_from_the_fixed_seeds(demo_run: Run) -> None:
    for name, did in (("alice", ALICE_DID), ("bob", BOB_DID)):
        assert keys.Keypair.from_seed(bytes.fromhex(SEEDS[name])).did == did
        assert f"created {did} ({name})" in demo_run.stdout
        assert f"\n    {did}\n" in demo_run.stdout


@pytest.mark.parametrize("pattern", [
    r"\$ git elite generate --agents agents\.yaml --now 1767225600\n",
    r"qualified  reasons",
    r"total_tasks 40 < 50",
    r"malformed eval line \$DEMO/alice/\.agentd/evals\.jsonl:18",          # Racket format
    r"malformed eval line \$DEMO/alice/agents/\.chrysalis/state/evals\.jsonl",  # TypeScript
    r"chrysalis-elites: 2 published; commit [0-9a-f]{12}",
    r"\$ git elite publish --from-evals --agents agents\.yaml --now 1767225600 --registry "
    r"\$DEMO/server/chrysalis-elites\.git\n(.*\n)*?.*qualified  reasons\n(.*\n)*?"
    r"    published  \w{64}\n    git-elite: chrysalis-elites: 1 published",
    r'"repo_ref": \{"commit": "[0-9a-f]{40}", "path": "", "type": "git", '
    r'"url": "https://git\.example\.org/alice/agents\.git"\}',
    r"published  endorsements/z6Mko9hT\w+/z6Mkon3N\w+\.json",
    r"1\s+\w{12}\s+z6Mkon3Necd6…\s+✓",
    rf"is trusted for \*:\n\s+{BOB_DID}\n\s+-> {ALICE_DID}",
    r"1\. \w{12}  alice  score 0\.\d{3}  success 0\.950  trusted: yes via bob -> alice",
    r"imported \w{12} from elites",
    r"success_rate\s+0\.95\s+0\.844444\n",
    r"\$ git elite attest \w{64} --evals runs --suite dave-editing-suite-v1 --registry "
    r"\$DEMO/server/chrysalis-elites\.git\n(.*\n)*?    attested   \w{64}\n",
    r"1\s+\w{12}\s+z6Mkon3Necd6…\s+✓\s+0\.95\s+120\s+0\.84 \(1/1\)\s+-0\.11",
    r"alice reports 0\.950 over 120 tasks; dave measured 0\.844 over 90 \(disagreement "
    r"-0\.106\)",
    r"REJECT \w{7} agents/\w\w/\w{64}/manifest\.json: \[signature\] .* \(forged or altered\)",
    r"REJECT \w{7} agents/\w\w/\w{64}/manifest\.json: \[ownership\] .* \(hijack\)",
    r"verify: 5 commit\(s\) OK",
    r"mallory's pushes refused: signature, ownership; history verifies clean",
    r"elites: signed fresh until \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(timestamp v\d+, tip",
    r"\[timestamp\] rollback: timestamp version \d+ \(signed .*\) is older than version "
    r"\d+ already seen",
    r"\[timestamp\] withholding: the branch tip \w{12} does not contain the signed tip",
    r"stale mirror caught by the signed timestamp: rollback, withholding",
], ids=["generate-cmd", "table", "why-not", "racket", "typescript", "publish", "from-evals",
        "repo_ref", "endorse", "ranked-trusted", "explain-chain", "json-summary", "import",
        "attest-table", "attest", "attested-column", "disagreement", "forged", "hijack",
        "history", "summary", "fresh", "frozen-mirror-rollback", "withholding-mirror",
        "stale-summary"])
def test_demo_shows(demo_run: Run, pattern: str) -> None:
    assert re.search(pattern, demo_run.stdout), f"/{pattern}/ not in the demo's output"


def test_demo_leaves_nothing_behind(demo_run: Run) -> None:
    assert list(demo_run.tmp.iterdir()) == [], "the demo did not remove its temp dir"
    assert list(demo_run.outside.iterdir()) == [], "the demo wrote outside its temp dir"
