#!/usr/bin/env bash
# Builds an earlier version of the daemon for the bench's before/after runs: a git worktree of <ref>
# under .cache/baseline/<ref> with its dist/ built (this checkout's node_modules, so the same
# dependencies), and prints its path for BENCH_BASELINE.
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
  ln -sfn "$PWD/node_modules" "$dir/node_modules"
  ln -sfn "$PWD/.tools" "$dir/.tools"
  (cd "$dir" && npm run build >&2)
fi
realpath "$dir"
