import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config/config.js';
import { defaultWorkerCount } from '../../src/runtime/cpu-quota.js';
import { PROJECT_ROOT } from '../helpers/service-process.js';

/**
 * These tests check that the deployment files agree with the code, what a build or a cluster
 * would find out too late. The image itself is built and run by test/docker/image.smoke.ts.
 */
const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');
const defaults = loadConfig({});
const packageJson = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
const startCommand = packageJson.scripts['start'] as string; // node --title=video-balancer dist/src/main.js

t.test('Dockerfile: multi-stage, Node 24 LTS, non-root by number, same start command, port and health check', async (t) => {
  const lines = read('Dockerfile')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const from = lines.filter((l) => l.startsWith('FROM '));
  t.equal(from.length, 2, 'a build stage and a run stage');
  t.ok(from.every((l) => /^FROM node:24(\.\d+)*-bookworm-slim\b/.test(l)), 'official Node 24 image');
  t.ok(lines.some((l) => l === 'RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force'), 'production dependencies only in the run stage');
  t.ok(lines.includes('USER 1000:1000'), 'runs as the non-root node user, by number (1000:1000)');
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
  for (const metric of ['balancer_redirects_total', 'grpc_server_handled_total', 'grpc_server_handling_seconds_bucket', 'balancer_workers', 'balancer_worker_eventloop_delay_seconds', 'process_resident_memory_bytes', 'balancer_connections_closed_total', 'balancer_connections_open']) {
    t.match(exprs, metric, `the dashboard charts ${metric}`);
  }
});

const KUBERNETES = 'deploy/kubernetes';
const kustomization = parse(read(`${KUBERNETES}/kustomization.yaml`)) as { namespace: string; resources: string[]; images: Array<{ name: string; newName?: string; newTag?: string }> };
/** Every resource the kustomization applies, from the files it lists. */
const manifests = kustomization.resources.flatMap((file) => parseAllDocuments(read(`${KUBERNETES}/${file}`)).map((d) => d.toJS() as any));
const byKind = (kind: string) => manifests.filter((d) => d.kind === kind);

t.test('kustomization.yaml lists every manifest of the folder, and its images entry names the Deployment image', async (t) => {
  const files = readdirSync(join(PROJECT_ROOT, KUBERNETES)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  t.same([...kustomization.resources].sort(), files.sort(), 'every manifest file is a resource, and every resource a file');
  const [deployment] = byKind('Deployment');
  const [container] = deployment.spec.template.spec.containers;
  const image = kustomization.images.find((i) => i.name === container.image);
  t.ok(image, `an images entry for ${container.image}, so that kustomize edit set image sets it`);
  t.equal(image?.newTag, (JSON.parse(read('package.json')) as { version: string }).version, 'the tag is the package version');
  t.equal(container.imagePullPolicy, 'IfNotPresent', 'an explicit pull policy (no :latest, which means Always)');
  const [namespace] = byKind('Namespace');
  t.equal(namespace.metadata.name, kustomization.namespace, 'the namespace it creates is the one it applies to');
  t.equal(namespace.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted', 'Pod Security restricted is enforced there');
});

/** Pod Security Standards, "restricted" (v1.32), as the admission controller checks a pod. */
function restrictedViolations(pod: any, imageUserIsNumeric: boolean): string[] {
  const spec = pod.spec;
  const problems: string[] = [];
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[field]) problems.push(`${field} is set`);
  const allowedVolumes = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
  for (const volume of spec.volumes ?? []) {
    const type = Object.keys(volume).find((k) => k !== 'name');
    if (!allowedVolumes.includes(type as string)) problems.push(`volume ${volume.name} is ${type}`);
  }
  const podContext = spec.securityContext ?? {};
  for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
    const context = container.securityContext ?? {};
    const name = `container ${container.name}`;
    if (context.privileged) problems.push(`${name}: privileged`);
    if (context.allowPrivilegeEscalation !== false) problems.push(`${name}: allowPrivilegeEscalation must be false`);
    if (!(context.capabilities?.drop ?? []).includes('ALL')) problems.push(`${name}: capabilities.drop must include ALL`);
    if ((context.capabilities?.add ?? []).some((c: string) => c !== 'NET_BIND_SERVICE')) problems.push(`${name}: adds capabilities`);
    if ((context.runAsNonRoot ?? podContext.runAsNonRoot) !== true) problems.push(`${name}: runAsNonRoot must be true`);
    const user = context.runAsUser ?? podContext.runAsUser;
    if (user === 0) problems.push(`${name}: runAsUser 0`);
    // The kubelet can check runAsNonRoot only against a number: in the manifest, or the image's USER.
    if (!Number.isInteger(user) && !imageUserIsNumeric) problems.push(`${name}: no numeric user in the manifest or the image`);
    const seccomp = (context.seccompProfile ?? podContext.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${name}: seccompProfile.type must be RuntimeDefault or Localhost`);
  }
  return problems;
}

/** Millicores of a Kubernetes CPU quantity ("2", "500m", "1.5"). */
function millicores(quantity: string | number): number {
  const text = String(quantity);
  return text.endsWith('m') ? Number(text.slice(0, -1)) : Number(text) * 1000;
}

const imageUser = read('Dockerfile')
  .split('\n')
  .filter((l) => l.startsWith('USER '))
  .at(-1)
  ?.slice(5)
  .trim();

t.test('Kubernetes: the image user is numeric, and every pod passes Pod Security "restricted"', async (t) => {
  t.match(imageUser, /^[1-9]\d*(:\d+)?$/, `the Dockerfile's last USER is a non-root number (${imageUser})`);
  t.same(restrictedViolations({ spec: { containers: [{ name: 'bare' }] } }, false).length, 5, 'the check itself refuses a bare pod');
  for (const workload of byKind('Deployment')) {
    t.same(restrictedViolations(workload.spec.template, /^\d+(:\d+)?$/.test(imageUser ?? '')), [], `${workload.metadata.name}: no violation`);
  }
});

t.test('Kubernetes: gRPC startup, readiness and liveness probes on the service port', async (t) => {
  const [container] = byKind('Deployment')[0].spec.template.spec.containers;
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    t.equal(container[probe]?.grpc?.port, defaults.grpcPort, `${probe}: native gRPC health probe on ${defaults.grpcPort}`);
  }
  const startup = container.startupProbe;
  t.ok(startup.periodSeconds * startup.failureThreshold >= 20, 'the startup probe allows 20 s or more for the first start');
  t.equal(container.readinessProbe.initialDelaySeconds, undefined, 'readiness starts right after the startup probe passes');
  t.equal(container.livenessProbe.initialDelaySeconds, undefined, 'so does liveness: the startup probe covers the start');
});

t.test('Kubernetes: the requests of all replicas fit a 2-CPU node beside CoreDNS, and the limit sets the workers', async (t) => {
  const [deployment] = byKind('Deployment');
  const [hpa] = byKind('HorizontalPodAutoscaler');
  const [container] = deployment.spec.template.spec.containers;
  const replicas = Math.max(deployment.spec.replicas, hpa.spec.minReplicas);
  // CoreDNS's own manifest asks 100m for each of its two replicas.
  const coreDns = 2 * 100;
  const requested = replicas * millicores(container.resources.requests.cpu);
  t.ok(requested + coreDns <= 2000, `${replicas} replicas ask ${requested}m, + ${coreDns}m for CoreDNS <= 2000m`);
  const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
  t.notOk('WORKERS' in env, 'WORKERS is not hard-coded');
  const limit = millicores(container.resources.limits.cpu);
  // The cgroup the kubelet makes for the container: cpu.max = limit x 100 ms period.
  const files: Record<string, string> = {
    '/proc/self/mountinfo': '30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n',
    '/proc/self/cgroup': '0::/\n',
    '/sys/fs/cgroup/cpu.max': `${limit * 100} 100000\n`,
  };
  const workers = defaultWorkerCount((path) => files[path], 16);
  t.equal(workers.workers, Math.ceil(limit / 1000), `on a 16-core node the limit gives ${workers.workers} workers (${workers.from})`);
});

t.test('Kubernetes manifests: ports, env names, the routing ConfigMap, the drain and the Services match the code', async (t) => {
  const [deployment] = byKind('Deployment');
  const pod = deployment.spec.template;
  const [container] = pod.spec.containers;
  const ports = Object.fromEntries(container.ports.map((p: any) => [p.name, p.containerPort]));
  t.same(ports, { grpc: defaults.grpcPort, metrics: defaults.metricsPort });
  const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
  for (const name of Object.keys(env)) t.ok((CONFIG_VARIABLES as readonly string[]).includes(name), `${name} is a variable the service reads`);
  const [routingMap] = byKind('ConfigMap');
  const routingText = routingMap.data['routing.yaml'];
  t.doesNotThrow(() => loadConfig(env, routingText), 'the env and the ConfigMap are a valid configuration');
  t.equal(loadConfig(env, routingText).routing.cdnHosts.length, 1, 'the routing comes from the ConfigMap');
  const file = join(t.testdir({ 'routing.yaml': routingText }), 'routing.yaml');
  const checked = spawnSync(process.execPath, [join(PROJECT_ROOT, 'dist/src/cli/check-config.js'), file], { env: { PATH: process.env['PATH'] }, encoding: 'utf8' });
  t.equal(checked.status, 0, `check-config accepts the ConfigMap's routing: ${checked.stdout.split('\n')[0]}${checked.stderr}`);
  const mount = container.volumeMounts.find((m: any) => `${m.mountPath}/routing.yaml` === env.CONFIG_FILE);
  t.ok(mount, 'CONFIG_FILE is in a mounted folder');
  t.equal(mount.subPath, undefined, 'the folder, not a subPath, so that ConfigMap updates arrive');
  const volume = pod.spec.volumes.find((v: any) => v.name === mount.name);
  t.equal(volume.configMap.name, routingMap.metadata.name, 'the mounted volume is the routing ConfigMap');
  const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1]);
  t.ok(pod.spec.terminationGracePeriodSeconds > preStopSeconds + Number(env.SHUTDOWN_TIMEOUT_MS) / 1000, 'the grace period covers preStop and the drain');
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
