"""A command run twice, through the launcher's click-free fast path (`git-elite`) and through
click (`git_elite.cli.main`), for tests that compare the two byte for byte."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import BIN

CLICK = "import sys; from git_elite.cli.main import main; sys.exit(main())"


def both(command: str, args: list[str], cwd: Path
         ) -> tuple[subprocess.CompletedProcess[bytes], subprocess.CompletedProcess[bytes]]:
    """(fast path, click) runs of `git-elite <command> <args>` in `cwd`."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "COLUMNS": "200"}
    fast = subprocess.run([str(BIN / "git-elite"), command, *args], cwd=cwd, env=env,
                          capture_output=True, check=False)
    slow = subprocess.run([sys.executable, "-c", CLICK, command, *args], cwd=cwd, env=env,
                          capture_output=True, check=False)
    return fast, slow
