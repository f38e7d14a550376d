# syntax=docker/dockerfile:1
# Portcullis gateway image.
#   docker build -t portcullis .
#   docker run -p 8787:8787 -v ./portcullis.yaml:/etc/portcullis/portcullis.yaml:ro portcullis
# The image runs the compiled JavaScript (dist/) on Node 24 LTS, the same Node the tests run on (the `node`
# development dependency in package.json pins the exact version; keep the two tags below equal to it).

# Stage 1: compile. Full dependency tree (TypeScript), `npm run build` type-checks the runtime sources and
# writes dist/ with the console and the other files it reads at run time. Only dist/ leaves this stage.
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.js ./scripts/build.js
COPY gateway ./gateway
COPY connectors ./connectors
COPY policies ./policies
COPY examples ./examples
RUN node scripts/build.js

# Stage 2: the runtime. Production dependencies only (no TypeScript, no tsx), the compiled code owned by
# root and read-only to the unprivileged `node` user the gateway runs as; only /var/lib/portcullis is
# writable.
FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production \
    PORTCULLIS_LOG_LEVEL=info \
    PORTCULLIS_HEALTHCHECK_URL=http://127.0.0.1:8787/readyz
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY --from=build /src/dist ./dist
RUN mkdir -p /var/lib/portcullis /etc/portcullis && chown node:node /var/lib/portcullis
VOLUME ["/var/lib/portcullis"]
USER node
EXPOSE 8787
# /readyz answers 503 while the gateway cannot serve calls (store, audit log, policy, required connectors,
# shutdown); the Host header must be one the config accepts
# (127.0.0.1 is, in the shipped compose config). Set PORTCULLIS_HEALTHCHECK_URL if the port differs.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.PORTCULLIS_HEALTHCHECK_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=16", "--heap-growing-percent=100", "bin/portcullis.js"]
CMD ["start", "--config", "/etc/portcullis/portcullis.yaml"]
