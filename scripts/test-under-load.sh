#!/usr/bin/env bash
# The integration suite N times in a row (default 3) while another process burns one core
# (stress-ng --cpu 1): how the project checks that its tests measure, rather than hope, on a loaded
# machine. Stops at the first failing run; the jest output of each run is in .cache/loaded-<n>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v stress-ng >/dev/null 2>&1; then
  as_root apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq stress-ng >/dev/null
fi

npm run -s build
mkdir -p .cache
stress-ng --cpu 1 --quiet &
burner=$!
trap 'kill "$burner" 2>/dev/null || true' EXIT
for n in $(seq 1 "$runs"); do
  started=$(date +%s)
  if npx jest test/integration --runInBand >".cache/loaded-$n.log" 2>&1; then
    echo "run $n of $runs: passed in $(( $(date +%s) - started )) s ($(grep -E '^Tests:' ".cache/loaded-$n.log"))"
  else
    echo "run $n of $runs: FAILED after $(( $(date +%s) - started )) s; see .cache/loaded-$n.log" >&2
    grep -E '^(FAIL|Tests:)' ".cache/loaded-$n.log" >&2 || true
    exit 1
  fi
done
