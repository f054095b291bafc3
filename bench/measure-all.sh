#!/usr/bin/env bash
# Everything the performance work needs from the bench, in one sitting on a QUIET machine (about an hour): each
# line is one bench invocation with its own Mosquitto, LiveKit, daemon and listeners, and writes
# bench/results/<stamp>.{json,md,svg}. See docs/performance.md, "How to measure".
set -euo pipefail
cd "$(dirname "$0")/.."
load=$(cut -d' ' -f1 /proc/loadavg)
if awk "BEGIN { exit !($load > 0.5) }" && [ "${BENCH_FORCE:-}" != 1 ]; then
  echo "load average $load: not a quiet machine, the figures would not be worth keeping (BENCH_FORCE=1 runs anyway)" >&2
  exit 1
fi
npm run build
run() {
  echo "== $*" >&2
  env "$@" node bench/run.mjs
}
# 1. Frames × queues (tones: skip latency and clicks are measured on tones), then the frames on music-like content.
run BENCH_FRAME_MS=20,40,60,100 BENCH_QUEUE_MS=100,200,300 BENCH_STEPS=1,10,25,50 BENCH_STEP_SECONDS=20
run BENCH_CONTENT=music BENCH_FRAME_MS=20,40,60,100 BENCH_QUEUE_MS=200 BENCH_STEPS=1,10,25,50 BENCH_STEP_SECONDS=20
# 2. Bursts: one start alone (single starts must not get slower), then 25 at once, with the daemon's start timings.
run BENCH_BURST=1,25 BENCH_STEP_SECONDS=10
# 3. Realistic content: the default settings on music-like songs, then 3-minute songs with a 10-minute soak.
run BENCH_CONTENT=music BENCH_STEPS=1,10,25,50 BENCH_STEP_SECONDS=20
run BENCH_CONTENT=music BENCH_SONG_SECONDS=180 BENCH_STEPS=25 BENCH_STEP_SECONDS=60 BENCH_SOAK_MINUTES=10
