# The Python that installed this hook runs it (as the pre-commit framework does), so the
# hook works wherever git runs it: git daemon, git http-backend under a web server, sshd,
# a forge, as another user with a minimal environment. `-P`: a `git_elite` directory in
# the repository cannot stand in for the package; `-c`, not `-m git_elite.launcher`: no
# runpy to import (docs/scale.md). When that Python is gone: git-elite
# from PATH, with a warning; when neither is there, the hook fails (a push is refused).
INSTALL_PYTHON=@INSTALL_PYTHON@
elite() {
    if [ -x "$INSTALL_PYTHON" ]; then
        exec "$INSTALL_PYTHON" -P -c 'from git_elite.launcher import run; run()' "$@"
    fi
    if command -v git-elite >/dev/null 2>&1; then
        echo "git-elite: warning: $INSTALL_PYTHON, the Python that installed this hook, is gone; running git-elite from PATH (run \`git elite hooks install\` again)" >&2
        exec git-elite "$@"
    fi
    echo "git-elite: error: cannot run the git elite hook: $INSTALL_PYTHON, the Python that installed it, is gone and git-elite is not on PATH (install git-elite, then run \`git elite hooks install\` again)" >&2
    exit 1
}
