# BASE: a glibc Debian-like image with Node 20 (rtc-node ships no musl build). The default is the
# public node image; where no registry is reachable, scripts/setup-docker.sh builds one from Debian
# packages (trixie: nodejs 20, ffmpeg) and CI builds with --build-arg BASE=music-bridge-base:trixie.
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
# PEM certificates the build stage trusts besides the usual ones, for a TLS-inspecting proxy in front
# of the npm registry (scripts/build-image.sh passes /usr/local/share/ca-certificates/*.crt). Only
# this stage sees them; the image does not.
ARG EXTRA_CA_CERTS=""
RUN printf '%s\n' "$EXTRA_CA_CERTS" > /tmp/extra-ca.pem
ENV NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem
# Debian's nodejs comes without npm: add it to the build stage only.
RUN command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null)
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-console-assets.mjs ./scripts/
COPY src ./src
RUN npm run build \
 && node -e "require('./dist/catalog/sample-catalog.js').ensureSampleCatalog('config/sample-catalog', require('@ffmpeg-installer/ffmpeg').path)" \
 && npm prune --omit=dev

FROM ${BASE}
# The distribution's ffmpeg decodes (the public node image lacks it; the Debian-built base has it).
RUN command -v ffmpeg >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null && rm -rf /var/lib/apt/lists/*)
WORKDIR /app
ENV NODE_ENV=production FFMPEG_PATH=/usr/bin/ffmpeg
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config/sample-catalog ./config/sample-catalog
COPY package.json ./
USER node
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["start"]
