# syntax=docker/dockerfile:1
# Portcullis gateway image.
#   docker build -t portcullis .
#   docker run -p 8787:8787 -v ./portcullis.yaml:/etc/portcullis/portcullis.yaml:ro portcullis
# The sources are TypeScript run through tsx (a runtime dependency); there is no separate build output.

# Stage 1: type-check the runtime sources with the full dependency tree, so no image is built from code
# that does not compile. Nothing from this stage ships except a marker file.
FROM node:24-bookworm-slim AS verify
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY gateway ./gateway
COPY connectors ./connectors
COPY policies ./policies
COPY examples ./examples
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json --noEmit && touch /src/.typechecked

# Stage 2: the runtime. Production dependencies only (tsx among them), sources owned by root and read-only
# to the unprivileged `node` user the gateway runs as; only /var/lib/portcullis is writable.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORTCULLIS_LOG_LEVEL=info \
    PORTCULLIS_HEALTHCHECK_URL=http://127.0.0.1:8787/healthz
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY gateway ./gateway
COPY connectors ./connectors
COPY policies ./policies
COPY examples ./examples
COPY --from=verify /src/.typechecked /app/.typechecked
RUN mkdir -p /var/lib/portcullis /etc/portcullis && chown node:node /var/lib/portcullis
VOLUME ["/var/lib/portcullis"]
USER node
EXPOSE 8787
# /healthz answers 503 when the last policy reload failed; the Host header must be one the config accepts
# (127.0.0.1 is, in the shipped compose config). Set PORTCULLIS_HEALTHCHECK_URL if the port differs.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.PORTCULLIS_HEALTHCHECK_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/portcullis.js"]
CMD ["start", "--config", "/etc/portcullis/portcullis.yaml"]
