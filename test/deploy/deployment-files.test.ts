import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config/config.js';
import { PROJECT_ROOT } from '../helpers/service-process.js';

/**
 * These tests check that the deployment files agree with the code, what a build or a cluster
 * would find out too late. The image itself is built and run by test/docker/image.smoke.ts.
 */
const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');
const defaults = loadConfig({});
const packageJson = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
const startCommand = packageJson.scripts['start'] as string; // node --title=video-balancer dist/src/main.js

t.test('Dockerfile: multi-stage, Node 24 LTS, non-root, same start command, port and health check', async (t) => {
  const lines = read('Dockerfile')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const from = lines.filter((l) => l.startsWith('FROM '));
  t.equal(from.length, 2, 'a build stage and a run stage');
  t.ok(from.every((l) => /^FROM node:24(\.\d+)*-bookworm-slim\b/.test(l)), 'official Node 24 image');
  t.ok(lines.some((l) => l === 'RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force'), 'production dependencies only in the run stage');
  t.ok(lines.includes('USER node'), 'runs as the non-root node user');
  t.ok(lines.includes(`EXPOSE ${defaults.grpcPort} ${defaults.metricsPort}`), `EXPOSE ${defaults.grpcPort} ${defaults.metricsPort}, the default GRPC_PORT and METRICS_PORT`);
  const cmd = lines.find((l) => l.startsWith('CMD '));
  t.same(JSON.parse((cmd as string).slice(4)), startCommand.split(' '), `CMD is npm start's command: ${startCommand}`);
  const healthcheck = lines.join('\n').match(/HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])/);
  t.ok(healthcheck, 'a HEALTHCHECK');
  const probe = JSON.parse(healthcheck?.[1] as string) as string[];
  t.same(probe, ['node', 'dist/src/cli/health-check.js'], 'the health check runs the shipped script');
  t.ok(existsSync(join(PROJECT_ROOT, probe[1] as string)), `${probe[1]} is built`);
});

t.test('docker-compose.yaml: port 443 to the service, restart policy, monitoring profile', async (t) => {
  const compose = parse(read('docker-compose.yaml')) as any;
  const service = compose.services['video-balancer'];
  t.ok(service.ports.includes(`443:${defaults.grpcPort}`), `443 maps to ${defaults.grpcPort}`);
  t.ok(service.ports.includes(`${defaults.metricsPort}:${defaults.metricsPort}`), 'the metrics port is published');
  t.equal(service.restart, 'unless-stopped');
  t.ok(Object.keys(service.environment).every((name) => (CONFIG_VARIABLES as readonly string[]).includes(name)), 'only variables the service reads');
  const grace = Number(/^(\d+)s$/.exec(service.stop_grace_period)?.[1]);
  t.ok(grace * 1000 > Number(service.environment.SHUTDOWN_TIMEOUT_MS), 'stop_grace_period outlasts the drain');
  t.same(compose.services.prometheus.profiles, ['monitoring']);
  t.same(compose.services.grafana.profiles, ['monitoring']);
  const prometheus = parse(read('deploy/prometheus/prometheus.yml')) as any;
  t.same(prometheus.scrape_configs[0].static_configs[0].targets, [`video-balancer:${defaults.metricsPort}`], 'Prometheus scrapes METRICS_PORT');
  const dashboard = JSON.parse(read('deploy/grafana/dashboards/video-balancer.json')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((x) => x.expr)).join('\n');
  for (const metric of ['balancer_redirects_total', 'grpc_server_handled_total', 'grpc_server_handling_seconds_bucket', 'balancer_workers', 'nodejs_eventloop_lag', 'process_resident_memory_bytes', 'balancer_connections_closed_total', 'balancer_connections_open']) {
    t.match(exprs, metric, `the dashboard charts ${metric}`);
  }
});

t.test('Kubernetes manifests: ports, probes and env names match the code', async (t) => {
  const docs = ['deployment', 'service', 'hpa', 'pdb', 'routing-configmap'].flatMap((name) =>
    parseAllDocuments(read(`deploy/kubernetes/${name}.yaml`)).map((d) => d.toJS() as any),
  );
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
  const [deployment] = byKind('Deployment');
  const pod = deployment.spec.template;
  const [container] = pod.spec.containers;
  const ports = Object.fromEntries(container.ports.map((p: any) => [p.name, p.containerPort]));
  t.same(ports, { grpc: defaults.grpcPort, metrics: defaults.metricsPort });
  t.equal(container.readinessProbe.grpc.port, defaults.grpcPort, 'readiness: native gRPC health probe');
  t.equal(container.livenessProbe.grpc.port, defaults.grpcPort, 'liveness: native gRPC health probe');
  const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
  for (const name of Object.keys(env)) t.ok((CONFIG_VARIABLES as readonly string[]).includes(name), `${name} is a variable the service reads`);
  const [routingMap] = byKind('ConfigMap');
  const routingText = routingMap.data['routing.yaml'];
  t.doesNotThrow(() => loadConfig(env, routingText), 'the env and the ConfigMap are a valid configuration');
  t.equal(loadConfig(env, routingText).routing.cdnHosts.length, 1, 'the routing comes from the ConfigMap');
  const mount = container.volumeMounts.find((m: any) => `${m.mountPath}/routing.yaml` === env.CONFIG_FILE);
  t.ok(mount, 'CONFIG_FILE is in a mounted folder');
  t.equal(mount.subPath, undefined, 'the folder, not a subPath, so that ConfigMap updates arrive');
  const volume = pod.spec.volumes.find((v: any) => v.name === mount.name);
  t.equal(volume.configMap.name, routingMap.metadata.name, 'the mounted volume is the routing ConfigMap');
  const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1]);
  t.ok(pod.spec.terminationGracePeriodSeconds > preStopSeconds + Number(env.SHUTDOWN_TIMEOUT_MS) / 1000, 'the grace period covers preStop and the drain');
  t.equal(Number(env.WORKERS), Number(container.resources.limits.cpu), 'one worker per CPU of the limit');
  const labels = pod.metadata.labels;
  for (const service of byKind('Service')) {
    t.same(service.spec.selector, labels, `${service.metadata.name} selects the pods`);
    t.ok(service.spec.ports.every((p: any) => p.targetPort === 'grpc' || p.targetPort === 'metrics'), 'target ports by name');
  }
  const [hpa] = byKind('HorizontalPodAutoscaler');
  t.equal(hpa.spec.scaleTargetRef.name, deployment.metadata.name);
  const [pdb] = byKind('PodDisruptionBudget');
  t.same(pdb.spec.selector.matchLabels, labels);
});

t.test('ecosystem.config.cjs: cluster mode, built JavaScript, kill_timeout beyond the drain', async (t) => {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const { apps } = require(join(PROJECT_ROOT, 'ecosystem.config.cjs')) as { apps: any[] };
  const [app] = apps;
  t.equal(app.exec_mode, 'cluster');
  t.equal(startCommand.split(' ').at(-1), app.script, 'the same entry point as npm start');
  t.equal(app.wait_ready, true);
  t.ok(app.kill_timeout > defaults.shutdownTimeoutMs, 'kill_timeout outlasts SHUTDOWN_TIMEOUT_MS');
});

t.test('ecosystem.config.cjs gives pm2 instances the same V8 flags as the supervisor gives workers', async (t) => {
  const { createRequire } = await import('node:module');
  const load = () => {
    const require = createRequire(import.meta.url);
    const path = join(PROJECT_ROOT, 'ecosystem.config.cjs');
    delete require.cache[path];
    return (require(path) as { apps: Array<{ node_args: string[] }> }).apps[0]?.node_args;
  };
  t.same(load(), [...defaults.workerNodeFlags], `the default: ${defaults.workerNodeFlags.join(' ')}`);
  process.env['WORKER_NODE_FLAGS'] = 'none';
  t.teardown(() => delete process.env['WORKER_NODE_FLAGS']);
  t.same(load(), [], 'WORKER_NODE_FLAGS=none: V8 defaults');
});
