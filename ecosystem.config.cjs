// pm2 process file: `pm2 start ecosystem.config.cjs`. pm2 is the supervisor here: it runs
// WORKERS instances in cluster mode on the one port, and each instance (which sees pm_id) serves
// directly without forking workers of its own. Run `npm run build` first: pm2 starts the built
// JavaScript, with no TypeScript loader at run time.
// pm2's cluster mode runs the instances on the Node.js that runs the pm2 daemon, which is the
// Node.js of the first pm2 command. `npx pm2 ...` runs pm2 on the project's Node.js 24
// (node_modules/.bin/node); a pm2 on an older Node.js would start instances that refuse to run.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 15)) {
  throw new Error(
    `pm2 runs on Node.js ${process.version}; video-balancer needs 22.15 or newer. ` +
      'Use the project\'s Node.js 24: `npx pm2 kill && npx pm2 start ecosystem.config.cjs`',
  );
}

function nodeArgs(flags) {
  if (flags === 'none') return [];
  return (flags || '--max-semi-space-size=2 --no-allocation-site-pretenuring --heap-growing-percent=50').trim().split(/\s+/);
}

const shutdownTimeoutMs = Number(process.env.SHUTDOWN_TIMEOUT_MS || 10000);

module.exports = {
  apps: [
    {
      name: 'video-balancer',
      script: 'dist/src/main.js',
      exec_mode: 'cluster',
      instances: process.env.WORKERS || 'max',
      // Each instance sends 'ready' once its gRPC server listens; reload waits for it.
      wait_ready: true,
      listen_timeout: 15000,
      // Longer than the drain, so pm2 never SIGKILLs an instance that is still finishing calls.
      kill_timeout: shutdownTimeoutMs + 5000,
      // Each line an instance writes is already a pino JSON object; pm2's log_type 'json' would
      // wrap it in a second JSON object, so the lines are kept as they are.
      merge_logs: true,
      // The workers' V8 flags (WORKER_NODE_FLAGS; the default is src/config/config.ts's, which a
      // test checks this matches): pm2 starts the instances, so it must pass them.
      node_args: nodeArgs(process.env.WORKER_NODE_FLAGS),
      env: {
        NODE_ENV: 'production',
      },
    },
  ],
};
