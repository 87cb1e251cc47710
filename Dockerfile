# unroll: build on node:24-slim (Node 24, the Active LTS line: security fixes until April 2028), run as the unprivileged "node" user with the SQLite file on a volume.
FROM node:24-slim AS build
WORKDIR /app
# better-sqlite3 and the OpenBLAS kernels (native/) compile during npm ci (no prebuilt binary is fetched)
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libopenblas-dev \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# npm ci's prepare step compiles the WebAssembly kernels, so their source comes first
COPY wasm/kernels.ts ./wasm/
COPY native ./native
COPY scripts/build-native.mjs ./scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# (an empty native/build/Release when OpenBLAS was missing: the image then runs the wasm kernels)
RUN npm run build && npm prune --omit=dev && mkdir -p native/build/Release

FROM node:24-slim
# the OpenBLAS kernels' shared library (without it the service falls back to the wasm kernels)
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas0-pthread \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    UNROLL_DATA_DIR=/data \
    LOG_LEVEL=info
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/wasm/build ./wasm/build
COPY --from=build --chown=node:node /app/native/build/Release ./native/build/Release
COPY --chown=node:node package.json ./
# the dashboard's page, served from the package root (uPlot comes with node_modules)
COPY --chown=node:node public ./public
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server.js"]
