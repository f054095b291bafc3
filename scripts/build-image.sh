#!/usr/bin/env bash
# Builds the music-bridge image. BASE picks the base image (default: the Debian-built
# music-bridge-base:trixie of scripts/setup-docker.sh, since no public registry is assumed);
# certificates added to this machine's trust store (/usr/local/share/ca-certificates) are handed
# to the build stage so npm can reach its registry through a TLS-inspecting proxy.
# Usage: scripts/build-image.sh [TAG]   (default music-bridge:local); prints the image size.
set -euo pipefail
cd "$(dirname "$0")/.."

TAG="${1:-music-bridge:local}"
BASE="${BASE:-music-bridge-base:trixie}"
extra_ca=""
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then extra_ca="$(cat /usr/local/share/ca-certificates/*.crt)"; fi

docker build --network host --build-arg BASE="$BASE" --build-arg EXTRA_CA_CERTS="$extra_ca" -t "$TAG" .
docker image inspect -f '{{.Size}}' "$TAG" | awk -v tag="$TAG" '{printf "%s: %.0f MB\n", tag, $1/1e6}'
