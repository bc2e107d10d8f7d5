# syntax=docker/dockerfile:1
# mcp-oidc-proxy image. Mount the configuration at /config/proxy.yaml:
#   docker run -p 8080:8080 -v "$PWD/config:/config:ro" mcp-oidc-proxy
# (in the file, bind server.host to 0.0.0.0 so the published port reaches it).

# ---- build: compile TypeScript to dist/ ----
FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied; we build below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies + built output ----
FROM node:22-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config ./config
COPY examples ./examples
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/mcp-oidc-proxy.js"]
CMD ["--config", "/config/proxy.yaml"]
