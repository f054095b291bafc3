#!/usr/bin/env bash
# Installs what the local stack and its tests need and a fresh machine lacks: Mosquitto, chromium and
# prometheus (Debian packages) and the LiveKit server (built from the Go module proxy into .tools/bin). Idempotent: skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

LIVEKIT_VERSION="${LIVEKIT_VERSION:-v1.13.5}"
TOOLS_BIN="$PWD/.tools/bin"
LIVEKIT_BIN="$TOOLS_BIN/livekit-server"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then
  echo "mosquitto: present"
else
  echo "mosquitto: installing from Debian packages"
  as_root apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq mosquitto >/dev/null
fi

# Debian packages the tests use: chromium (the console's browser test, driven by playwright-core)
# prometheus (promtool checks deploy/prometheus-alerts.yml) and espeak-ng (speech for the ducking test).
for pair in chromium:chromium promtool:prometheus espeak-ng:espeak-ng; do
  cmd="${pair%%:*}" pkg="${pair#*:}"
  if command -v "$cmd" >/dev/null 2>&1; then
    echo "$cmd: present"
  else
    echo "$cmd: installing $pkg from Debian packages"
    as_root apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
  fi
done

if [ -x "$LIVEKIT_BIN" ] && "$LIVEKIT_BIN" --version 2>/dev/null | grep -q "${LIVEKIT_VERSION#v}"; then
  echo "livekit-server: present ($("$LIVEKIT_BIN" --version))"
else
  command -v go >/dev/null 2>&1 || { echo "livekit-server: Go is required to build it (https://go.dev/dl/)" >&2; exit 1; }
  echo "livekit-server: building $LIVEKIT_VERSION with go install (takes a few minutes the first time)"
  mkdir -p "$TOOLS_BIN"
  build_dir="$(mktemp -d)"
  GOBIN="$build_dir" GOFLAGS="${GOFLAGS:--buildvcs=false}" go install "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION"
  mv "$build_dir/server" "$LIVEKIT_BIN"
  rmdir "$build_dir"
  echo "livekit-server: built ($("$LIVEKIT_BIN" --version))"
fi
