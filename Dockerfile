# glibc base: rtc-node ships no musl build.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && node -e "require('./dist/catalog/sample-catalog.js').ensureSampleCatalog('config/sample-catalog', require('@ffmpeg-installer/ffmpeg').path)" \
 && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config/sample-catalog ./config/sample-catalog
COPY package.json ./
USER node
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["start"]
