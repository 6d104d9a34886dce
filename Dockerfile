# ocni: the OCCI server, run with tsx (no build step), on Node 20.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY config ./config
COPY schemas ./schemas
COPY src ./src
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
# node directly (not npm start) so that SIGTERM from `docker stop` reaches ocni and it shuts down gracefully.
CMD ["node", "--import", "tsx", "src/main.ts"]
