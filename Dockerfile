# No "# syntax=" line: with BuildKit it makes every build fetch a frontend image from Docker Hub,
# which an offline or air-gapped builder cannot; nothing here needs a newer syntax. Builds as is
# with the classic builder and with BuildKit.

# Build stage: dev dependencies and the TypeScript compiler.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the image brings Node.js 24, so the npm 'node' package (the project's own
# Node.js for machines without one) need not download its binary; no other dependency needs a script.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY src ./src
COPY bench ./bench
RUN npm run build

# Run stage: production dependencies and the service's built JavaScript only.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY proto ./proto
# The node user by number (node:24-bookworm-slim's 1000:1000): Kubernetes checks runAsNonRoot
# only against a numeric user, and refuses to start a container whose image names one.
USER 1000:1000
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "dist/src/cli/health-check.js"]
# node itself, not npm, is PID 1: signals reach the supervisor, which drains the workers. The
# command is npm start's: --title gives the process title room (see src/runtime/process-name.ts).
CMD ["node", "--title=video-balancer", "dist/src/main.js"]
