#!/usr/bin/env bash
# The run step of action.yml: `git elite check BASE..HEAD --format github` in the workflow's
# clone. Inputs come from the environment GitHub sets (GITHUB_WORKSPACE, GITHUB_EVENT_NAME,
# GITHUB_EVENT_PATH, GITHUB_BASE_REF, GITHUB_SHA, GITHUB_STEP_SUMMARY) and from the action's
# inputs (ELITE_BASE, ELITE_HEAD, ELITE_BRANCH); tests/test_check.py runs it as GitHub would.
set -euo pipefail
cd "${GITHUB_WORKSPACE:-.}"
py=$(command -v python3 || command -v python)

event() {  # event() KEY.PATH: a field of the event payload, empty when absent
    [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ] || return 0
    "$py" -c 'import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8"))
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print(v if isinstance(v, str) else "")' "$GITHUB_EVENT_PATH" "$1"
}

base=${ELITE_BASE:-}
head=${ELITE_HEAD:-}
[ -n "$base" ] || base=$(event pull_request.base.sha)
[ -n "$base" ] || base=$(event before)
[ -n "$head" ] || head=${GITHUB_SHA:-HEAD}

branch=${ELITE_BRANCH:-}
target=${GITHUB_BASE_REF:-}
if [ -n "$branch" ] && [ -n "$target" ] && [ "${branch#refs/heads/}" != "$target" ]; then
    echo "git-elite: check: $target is not the registry branch ($branch); nothing to check" >&2
    exit 0
fi
if [ -n "$branch" ]; then
    git config elite.branch "$branch"
fi

for rev in "$base" "$head"; do
    case "$rev" in ""|0000000000000000000000000000000000000000) continue ;; esac
    if ! git cat-file -e "$rev^{commit}" 2>/dev/null; then
        git fetch -q --no-tags origin "$rev" 2>/dev/null || {
            echo "::error title=git elite check::commit $rev is not in the clone: check out with fetch-depth: 0"
            exit 1
        }
    fi
done

range=$head
case "$base" in
    ""|0000000000000000000000000000000000000000) ;;  # a new branch: its whole history
    *)
        case "${GITHUB_EVENT_NAME:-}" in pull_request|pull_request_target)
            # HEAD is normally GitHub's merge commit (refs/pull/N/merge), whose first parent
            # is the base: its commits and the merge result are checked. A head that does
            # not contain the base (the pull request's own head, behind its base) is checked
            # from where it left the base: a pull request is merged, not pushed over it.
            git merge-base --is-ancestor "$base" "$head" || base=$(git merge-base "$base" "$head")
        esac
        range="$base..$head"
        ;;
esac
exec git elite check "$range" --format github
