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
VOLUME ["/data"]
EXPOSE 8090
USER node
# node directly (not npm start) so that SIGTERM from `docker stop` reaches ocni and it shuts down gracefully.
CMD ["node", "--import", "tsx", "src/main.ts"]
