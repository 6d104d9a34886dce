# ocni: the OCCI server on Node 20, compiled to JavaScript in a build stage (`npm run build`,
# TypeScript being a devDependency) and run on bare Node: no TypeScript loader in production.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --no-audit --no-fund
COPY config ./config
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
# dist/ reads ../config, ../package.json and ../schemas, as src/ does.
COPY config ./config
COPY schemas ./schemas
COPY --from=build /app/dist ./dist
ENV OCNI_HOST=0.0.0.0 \
    OCNI_PORT=8090 \
    OCNI_DATA_DIR=/data
# The embedded store writes under /data as the unprivileged `node` user: the folder must be its
# own before VOLUME, or a fresh named volume is created root-owned and unwritable.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
EXPOSE 8090
USER node
# Ready = store reachable, registry loaded, changes feeds current (GET /readyz); node's own fetch,
# since the slim image has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.OCNI_PORT||8090)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node directly (not npm start) so that SIGTERM from `docker stop` reaches ocni and it shuts down
# gracefully; with npm start's heap bounds (package.json), which keep V8 from growing its heap 4× at a time.
CMD ["node", "--max-old-space-size=512", "--max-semi-space-size=8", "dist/main.js"]
