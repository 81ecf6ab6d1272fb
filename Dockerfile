# syntax=docker/dockerfile:1
# Drawbridge image: `docker build -t drawbridge .`
#   docker run -p 8080:8080 -p 9090:9090 \
#     -e DRAWBRIDGE_UPSTREAM=http://app:3000 -e DRAWBRIDGE_ADMIN_TOKEN=<16+ chars> drawbridge
# The admin port listens on 0.0.0.0 inside the container, so an admin token is
# required (Drawbridge exits with code 2 without one). See docs/kubernetes.md.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: dev dependencies, compile, then drop the dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No package here has install scripts; skipping them also skips `prepare`,
# which would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The operator console's client, bundled by esbuild into dist/ui/ (scripts/build-console.mjs).
COPY console ./console
COPY scripts/build-console.mjs ./scripts/build-console.mjs
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: production dependencies, pg_dump, non-root ----
FROM ${NODE_IMAGE} AS runtime
# pg_dump for migration backups. Debian's client is PostgreSQL 15; pg_dump
# refuses servers newer than itself, so for a newer server build with
# --build-arg PG_MAJOR=17 (adds the PostgreSQL project's apt repository through
# Debian's own postgresql-common helper script).
ARG PG_MAJOR=""
RUN set -eux; \
    apt-get update; \
    if [ -n "$PG_MAJOR" ]; then \
      apt-get install -y --no-install-recommends postgresql-common ca-certificates; \
      /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y; \
      apt-get install -y --no-install-recommends "postgresql-client-$PG_MAJOR"; \
    else \
      apt-get install -y --no-install-recommends postgresql-client; \
    fi; \
    rm -rf /var/lib/apt/lists/*; \
    pg_dump --version

WORKDIR /app
ENV NODE_ENV=production \
    DRAWBRIDGE_LISTEN=0.0.0.0:8080 \
    DRAWBRIDGE_ADMIN_LISTEN=0.0.0.0:9090 \
    DRAWBRIDGE_BACKUP_DIR=/var/lib/drawbridge/backups

COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY static ./static
COPY config ./config
COPY scripts/docker-healthcheck.mjs ./scripts/docker-healthcheck.mjs

# The `node` user of the base image (uid 1000), numeric so Kubernetes'
# runAsNonRoot can verify it. /var/lib/drawbridge holds backups and, without
# Redis, the state file (mount a volume there to keep them).
RUN chmod 0755 bin/drawbridge.js \
 && ln -s /app/bin/drawbridge.js /usr/local/bin/drawbridge \
 && mkdir -p /var/lib/drawbridge/backups /app/migrations \
 && chown -R 1000:1000 /var/lib/drawbridge
USER 1000:1000

EXPOSE 8080 9090
# Probes the admin port's /healthz with node itself: no curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "/app/scripts/docker-healthcheck.mjs"]
# Drawbridge handles SIGTERM itself: stop accepting, drain, exit.
STOPSIGNAL SIGTERM
ENTRYPOINT ["drawbridge"]
CMD ["serve"]
