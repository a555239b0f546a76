# Loupe — CPU image. Builds with the classic builder (no BuildKit features).
#   docker build -t loupe .
#   docker run --init -p 127.0.0.1:8000:8000 -p 127.0.0.1:8001:8001 loupe
# Base images are pinned and overridable: --build-arg BASE_IMAGE=... (offline stand-ins:
# deploy/offline/build-base-images.sh).
ARG BASE_IMAGE=node:24.21.0-trixie-slim

# ---- deps: all dependencies, cached until package*.json changes -------------------------
FROM ${BASE_IMAGE} AS deps
WORKDIR /src
# Optional extra CAs (certs/*.crt|*.pem) for TLS-inspecting proxies: build stages only.
COPY certs/ /tmp/certs/
RUN cat /tmp/certs/*.crt /tmp/certs/*.pem > /tmp/extra-ca.pem 2>/dev/null || true
ENV NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem \
    ONNXRUNTIME_NODE_INSTALL=skip \
    npm_config_update_notifier=false
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund

# ---- build: compile TypeScript ---------------------------------------------------------
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The web page at / (Vite): built into dist/web, which the runtime stage copies with dist/.
COPY web ./web
RUN npm run build
# A migrated embedded database for `serve` to unpack on first start: PostgreSQL's initdb
# (~3 s in WebAssembly) happens here, once, instead of in every new container.
RUN LOUPE_LOG_LEVEL=warn node dist/cli/main.js migrate --write-seed /src/pglite-seed.tar.gz

# ---- prod-deps: production dependencies for this platform only -------------------------
FROM deps AS prod-deps
COPY docker/prune-node-modules.sh /tmp/
RUN npm prune --omit=dev --no-audit --no-fund && sh /tmp/prune-node-modules.sh node_modules

# ---- runtime ------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOUPE_MODEL_STORE=/models \
    LOUPE_DEFAULT_MODEL=fashion-mnist \
    LOUPE_DATA_DIR=/data \
    LOUPE_PGLITE_SEED=/app/pglite-seed.tar.gz
WORKDIR /app
COPY --from=prod-deps /src/node_modules ./node_modules
COPY package.json ./
COPY docker/healthcheck.js ./healthcheck.js
# The default model, at the documented path; mount a volume on /models to replace or extend it.
COPY --chown=1000:1000 model-store/ /models/
# The ImageNet class names `loupe models pull --preset imagenet` writes as labels.txt.
COPY training/imagenet_labels.txt ./training/imagenet_labels.txt
COPY --from=build /src/pglite-seed.tar.gz ./pglite-seed.tar.gz
COPY --from=build /src/dist ./dist
# The vendored OIP gRPC protos (Triton's, KServe's), loaded at run time from next to dist/.
COPY proto/ ./proto/
# serve's embedded database lives in a volume, so the root filesystem can be read-only.
RUN mkdir -p /data && chown 1000:1000 /data
VOLUME /data
# uid 1000 is the official image's "node" user; fixed so volume permissions are predictable.
USER 1000:1000
# HTTP, and gRPC (LOUPE_GRPC_PORT): Triton's ports.
EXPOSE 8000 8001
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 CMD ["node", "/app/healthcheck.js"]
# Loupe handles SIGTERM itself (drains, exits 0); `docker run --init` adds zombie reaping.
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["serve"]
# Labels last: a release (new VERSION/CREATED) reuses every layer above and differs only in
# its image config, so it builds in seconds and pushes no layer the registry already has.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="Loupe" \
      org.opencontainers.image.description="Image classification service: upload a picture, an ONNX CNN runs, labels come back as JSON" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://example.invalid/loupe" \
      org.opencontainers.image.licenses="Apache-2.0"
# The revision for loupe_build_info at run time too (image config only, like the labels: no layer).
ENV LOUPE_REVISION="${REVISION}"
