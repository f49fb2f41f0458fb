# syntax=docker/dockerfile:1
# The standalone server (`npm start` without the prestart rebuild), in two stages.
# Untested here (no Docker daemon on the dev/CI machines); deploy/haproxy.cfg, the
# part with the sharp edges, is exercised by tests/e2e/haproxy.test.ts.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000 BIND_IP=0.0.0.0
WORKDIR /app
# package.json: the server finds client/dist by walking up to it.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/client/dist ./client/dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=5s --timeout=2s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Not `npm start`: its prestart rebuilds. SIGTERM reaches node directly (exec form), which drains over DRAIN_MS.
CMD ["node", "--enable-source-maps", "dist/standalone.mjs"]
