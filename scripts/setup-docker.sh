#!/usr/bin/env bash
# Makes Docker usable for the container test on a fresh Debian machine, with no public image
# registry: installs Debian's docker.io, docker-compose and mmdebstrap, starts dockerd (as root) if
# it is not answering, and builds the base image music-bridge-base:trixie from Debian packages
# (trixie's nodejs is Node 20) once per machine. Idempotent: skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE="${MB_BASE_IMAGE:-music-bridge-base:trixie}"
SUITE="${MB_BASE_SUITE:-trixie}"
DOCKERD_LOG="${MB_DOCKERD_LOG:-/var/log/music-bridge-dockerd.log}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "docker: installing ${missing[*]} from Debian packages"
  as_root apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  echo "dockerd: running"
else
  echo "dockerd: starting (log: $DOCKERD_LOG)"
  as_root sh -c "nohup setsid dockerd >'$DOCKERD_LOG' 2>&1 </dev/null &"
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "dockerd did not answer within 60 s; last lines of its log:" >&2; tail -20 "$DOCKERD_LOG" >&2; exit 1; }
  echo "dockerd: running"
fi

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "base image: $BASE_IMAGE present"
else
  echo "base image: building $BASE_IMAGE from Debian $SUITE with mmdebstrap (a few minutes, once per machine)"
  # nodejs and the distribution's ffmpeg for the runtime; apt stays so the build stage can add npm.
  # The unprivileged user "node" (uid 1000) matches the public node image the Dockerfile defaults to.
  tarball="$(mktemp --suffix=.tar)"
  trap 'rm -f "$tarball"' EXIT
  as_root mmdebstrap --variant=apt --include=nodejs,ffmpeg,ca-certificates \
    --customize-hook='echo "node:x:1000:1000::/home/node:/usr/sbin/nologin" >>"$1/etc/passwd"; echo "node:x:1000:" >>"$1/etc/group"; echo "node:!:20000::::::" >>"$1/etc/shadow"; mkdir -p "$1/home/node"; chown 1000:1000 "$1/home/node"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$SUITE" "$tarball"
  docker import --change 'CMD ["node"]' "$tarball" "$BASE_IMAGE" >/dev/null
  echo "base image: $BASE_IMAGE built ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
fi
