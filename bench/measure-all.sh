#!/usr/bin/env bash
# Everything the performance work needs from the bench, in one sitting on a QUIET machine (about 45
# minutes): each line is one bench invocation with its own Mosquitto, LiveKit, daemons and listeners,
# and writes bench/results/<stamp>.{json,md,svg}. See docs/performance.md, "How to measure".
#   bench/measure-all.sh [<git ref of the "before" build>]   (default: no before/after, this build only)
set -euo pipefail
cd "$(dirname "$0")/.."
load=$(cut -d' ' -f1 /proc/loadavg)
if awk "BEGIN { exit !($load > 0.5) }" && [ "${BENCH_FORCE:-}" != 1 ]; then
  echo "load average $load: not a quiet machine, the figures would not be worth keeping (BENCH_FORCE=1 runs anyway)" >&2
  exit 1
fi
npm run build
before=()
if [ -n "${1:-}" ]; then before=("BENCH_BASELINE=$(bench/baseline.sh "$1")"); fi
run() {
  echo "== $*" >&2
  env "$@" node bench/run.mjs
}
# 1. Frames × queues (tones: skip latency and clicks are measured on tones); each combination a fresh daemon.
run BENCH_FRAME_MS=20,40,60,100 BENCH_QUEUE_MS=100,200 BENCH_STEPS=10,25,50 BENCH_STEP_SECONDS=20
# 2. The defaults before and after, on music-like songs (the ramp quoted in the README: latest.md).
run "${before[@]}" BENCH_CONTENT=music BENCH_STEPS=1,10,25,50 BENCH_STEP_SECONDS=20
# 3. Bursts before and after: one start alone (single starts must not get slower), then 25 at once.
run "${before[@]}" BENCH_BURST=1,25 BENCH_STEP_SECONDS=5
# 4. One instance against two on the same machine, and 25 rooms resumed after kill -9.
run BENCH_INSTANCES=1,2 BENCH_CONTENT=music BENCH_STEPS=10,25,40,50 BENCH_STEP_SECONDS=20
run BENCH_CONTENT=music BENCH_STEPS=25 BENCH_STEP_SECONDS=10 BENCH_RESUME=1
# 5. 3-minute songs, then a soak.
run BENCH_CONTENT=music BENCH_SONG_SECONDS=180 BENCH_STEPS=25 BENCH_STEP_SECONDS=60 BENCH_SOAK_MINUTES=5
