"""The "before" side of the before/after table: the first release's code (format 1), run on
format-1 registries by the same interpreter and libraries as this tree.

`tree()` unpacks the release's files (`git archive REV`) into bench/out/before-<rev>/ and puts
a `git-elite` there whose imports come from that tree, not this one; hooks installed by that
code call `git-elite` from PATH, so putting its bin/ first on PATH runs the old code end to
end (hooks included).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import synth

# main before format 2 landed: the code that wrote and checked format-1 registries
RELEASE_1 = "a06ba55"
ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = {"hooks": "shims", "schemas": "schemas"}  # pyproject's package-dir of release 1
READY = "bench-before-v2"

LAUNCHER = """#!{python}
import sys
sys.path.insert(0, {tree!r})
from git_elite.launcher import main
raise SystemExit(main())
"""


def tree(rev: str = RELEASE_1, out: Path = synth.OUT) -> Path:
    """bench/out/before-<rev>/ with the release's git_elite/ and bin/git-elite."""
    full = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT,
                          check=True, capture_output=True, text=True).stdout.strip()
    where = out / f"before-{full[:12]}"
    launcher = where / "bin" / "git-elite"
    if (where / READY).exists():
        return where
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    # the packages pyproject maps from elsewhere (hook shims, schemas) go where the release's
    # code looks for them, so that nothing of this tree's is used by the release's code
    archive = subprocess.run(["git", "archive", full, "git_elite", *PACKAGE_DIRS], cwd=ROOT,
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    for source, package in PACKAGE_DIRS.items():
        if (where / source).is_dir():
            shutil.rmtree(where / "git_elite" / package, ignore_errors=True)
            (where / source).rename(where / "git_elite" / package)
    launcher.parent.mkdir(exist_ok=True)
    launcher.write_text(LAUNCHER.format(python=sys.executable, tree=str(where)))
    launcher.chmod(0o755)
    (where / READY).write_text(full + "\n")
    return where


if __name__ == "__main__":
    print(tree(sys.argv[1] if len(sys.argv) > 1 else RELEASE_1))
