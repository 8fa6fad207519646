# Troupe's image: Node 24 runs the TypeScript sources as they are (no build step).
# `docker compose up` builds it; the agent target adds bubblewrap and slirp4netns.
FROM node:24-bookworm-slim AS base
WORKDIR /app
ENV NODE_ENV=production TROUPE_DATA_DIR=/data
COPY package.json package-lock.json ./
# Production dependencies only: the pinned node and deno devDependencies are for this repository's own machines.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY main.ts ./
COPY bin ./bin
COPY machines ./machines
COPY bus ./bus
COPY adapters ./adapters
COPY actors ./actors
COPY deploy ./deploy
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8000
# node is PID 1 and receives SIGTERM itself (npx would not pass it on).
CMD ["node", "--max-semi-space-size=8", "main.ts", "start"]

# The exec agent: bubblewrap for the sandbox, slirp4netns for the commands' own outbound network.
# It runs as root in a privileged container (cgroups), see compose.yaml.
FROM base AS agent
USER root
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap slirp4netns \
  && rm -rf /var/lib/apt/lists/*
CMD ["node", "--max-semi-space-size=8", "main.ts", "agent"]
