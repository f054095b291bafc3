#!/usr/bin/env bash
# Builds an earlier version of the daemon for the bench's before/after runs: a git worktree of <ref>
# under .cache/baseline/<ref> with its dist/ built (this checkout's node_modules when its lockfile is
# the same, so the same dependencies; its own `npm ci` otherwise), and prints its path for BENCH_BASELINE.
#   BENCH_BASELINE=$(bench/baseline.sh HEAD~3) npm run bench
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${1:?usage: bench/baseline.sh <git ref>}
commit=$(git rev-parse --verify "$ref^{commit}")
dir=.cache/baseline/${commit:0:12}
if [ ! -f "$dir/dist/cli.js" ]; then
  rm -rf "$dir"
  git worktree prune
  git worktree add --detach --force "$dir" "$commit" >&2
  if git diff --quiet "$commit" -- package-lock.json; then
    ln -sfn "$PWD/node_modules" "$dir/node_modules"
  else
    (cd "$dir" && npm ci --no-audit --no-fund >&2)
  fi
  ln -sfn "$PWD/.tools" "$dir/.tools"
  (cd "$dir" && npm run build >&2)
fi
realpath "$dir"
