import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import t from 'tap';
import { makeSelfSignedCertificate } from '../helpers/self-signed.js';
import { RedirectClient } from '../helpers/redirect-client.js';
import { PROJECT_ROOT } from '../helpers/service-process.js';

/**
 * The real image, built and run with a Docker engine (`npm run test:docker`; .ci/run starts the
 * engine with ../shared/docker/setup.sh first). Not part of `npm test`: it needs Docker and takes
 * a minute or more. Prints the image's size and its time from `docker run` to healthy.
 */
const IMAGE = 'video-balancer:smoke';
const VIDEO = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';
const CDN_ANSWER = 'http://cdn.test/s1/video/123/xcg2djHckad.m3u8';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const env = { ...process.env, DOCKER_BUILDKIT: '0' };

function docker(...args: string[]): string {
  return execFileSync('docker', args, { cwd: PROJECT_ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function removeContainer(name: string): void {
  spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
}

/** Starts a container with the gRPC and metrics ports published on free loopback ports. */
function run(name: string, ...args: string[]): { grpcPort: number; metricsPort: number } {
  removeContainer(name);
  docker('run', '-d', '--name', name, '-p', '127.0.0.1::50051', '-p', '127.0.0.1::9464', '-e', 'CDN_HOST=cdn.test', ...args, IMAGE);
  const port = (containerPort: number) => Number(docker('port', name, `${containerPort}/tcp`).split('\n')[0]?.split(':').pop());
  return { grpcPort: port(50051), metricsPort: port(9464) };
}

async function waitHealthy(name: string, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const health = docker('inspect', '--format', '{{.State.Health.Status}}', name);
    if (health === 'healthy') return Date.now() - started;
    if (health === 'unhealthy' || Date.now() - started > timeoutMs) {
      throw new Error(`container ${name} is ${health} after ${Date.now() - started} ms:\n${docker('logs', name)}`);
    }
    await sleep(200);
  }
}

const buildStarted = Date.now();
docker('build', '-t', IMAGE, '.');
const buildSeconds = (Date.now() - buildStarted) / 1000;
const sizeMiB = Number(docker('image', 'inspect', '--format', '{{.Size}}', IMAGE)) / 2 ** 20;
t.comment(`image ${IMAGE}: ${sizeMiB.toFixed(0)} MiB, built in ${buildSeconds.toFixed(0)} s`);

t.test('the image starts healthy, answers Redirect, counts it, runs as a numeric non-root user (node) and drains on docker stop', async (t) => {
  const name = 'vb-smoke';
  t.teardown(() => removeContainer(name));
  const startedAt = Date.now();
  const { grpcPort, metricsPort } = run(name, '--stop-timeout', '20');
  const healthyAfterMs = await waitHealthy(name);
  t.comment(`healthy ${((Date.now() - startedAt) / 1000).toFixed(1)} s after docker run (HEALTHCHECK every 10 s)`);
  t.ok(healthyAfterMs > 0, 'the HEALTHCHECK turned healthy');

  const client = new RedirectClient(grpcPort, { ownConnection: true });
  const answers: string[] = [];
  for (let i = 0; i < 10; i++) {
    const result = await client.redirect(VIDEO);
    t.equal(result.code, status.OK, `call ${i + 1} succeeds`);
    answers.push(result.redirect ?? '');
  }
  client.close();
  t.same(answers.slice(0, 9), Array(9).fill(CDN_ANSWER), 'nine calls go to the CDN');
  t.equal(answers[9], VIDEO, 'the 10th call on one connection goes to the origin');

  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  t.match(metrics, /balancer_redirects_total\{target="origin"\} 1\b/, '/metrics counts the origin answer');
  t.match(metrics, /balancer_redirects_total\{target="cdn",cdn_host="[^"]+",pool="default"\} 9\b/, 'and the nine CDN answers');

  // Kubernetes checks runAsNonRoot only against a numeric user: a name stops the pod from starting.
  t.match(docker('inspect', '--format', '{{.Config.User}}', name), /^[1-9]\d*(:\d+)?$/, 'the image names its user by number, non-root');
  t.match(docker('exec', name, 'id', '-un'), /^node$/, 'which is the node user');
  t.match(docker('exec', name, 'cat', '/proc/1/status'), /^Uid:\s+1000\s/m, 'PID 1 (the supervisor) runs as uid 1000, not root');

  const stopStarted = Date.now();
  docker('stop', name);
  const stopSeconds = (Date.now() - stopStarted) / 1000;
  t.equal(docker('inspect', '--format', '{{.State.ExitCode}}', name), '0', 'exit code 0');
  t.ok(stopSeconds < 20, `stopped in ${stopSeconds.toFixed(1)} s, within the stop timeout`);
  const logs = docker('logs', name);
  t.match(logs, /"msg":"worker drained"/, 'docker logs shows the workers drained');
  t.match(logs, /"msg":"supervisor exiting"/, 'and the supervisor exiting');
});

t.test('a bad variable: one line naming it, exit 1', async (t) => {
  const result = spawnSync('docker', ['run', '--rm', '-e', 'ORIGIN_EVERY=ten', IMAGE], { encoding: 'utf8', env });
  t.equal(result.status, 1, 'exit code 1');
  t.equal(
    result.stderr,
    'video-balancer: invalid configuration: ORIGIN_EVERY="ten" is invalid: expected a whole number from 0 to 1000000000 (0 = never, 1 = every call)\n',
  );
});

t.test('TLS with mounted certificate files: healthy, and Redirect answers over TLS', async (t) => {
  const name = 'vb-smoke-tls';
  t.teardown(() => removeContainer(name));
  const { dir, cert, key } = makeSelfSignedCertificate();
  // The container's node user reads them through a bind mount.
  chmodSync(dir, 0o755);
  chmodSync(key, 0o644);
  const { grpcPort } = run(name, '-v', `${dir}:/certs:ro`, '-e', 'TLS_CERT_FILE=/certs/server.crt', '-e', 'TLS_KEY_FILE=/certs/server.key');
  await waitHealthy(name);
  const client = new RedirectClient(grpcPort, { host: 'localhost', ownConnection: true, channelCredentials: credentials.createSsl(readFileSync(cert)) });
  t.teardown(() => client.close());
  const result = await client.redirect(VIDEO);
  t.equal(result.code, status.OK, 'a TLS client is answered');
  t.equal(result.redirect, CDN_ANSWER);
  const plain = new RedirectClient(grpcPort, { ownConnection: true });
  t.not((await plain.redirect(VIDEO, 2000)).code, status.OK, 'a plaintext client is not');
  plain.close();
});

t.test('docker-compose up -d: healthy on the documented ports; docker-compose stop drains', async (t) => {
  const compose = (...args: string[]) =>
    execFileSync('docker-compose', ['-p', 'vbsmoke', ...args], { cwd: PROJECT_ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => spawnSync('docker-compose', ['-p', 'vbsmoke', 'down', '--rmi', 'local'], { cwd: PROJECT_ROOT, stdio: 'ignore' }));
  compose('up', '-d', '--build');
  const name = compose('ps', '-q', 'video-balancer').trim();
  await waitHealthy(name);
  const client = new RedirectClient(443, { ownConnection: true });
  t.equal((await client.redirect(VIDEO)).code, status.OK, 'Redirect answers on port 443');
  client.close();
  t.equal((await fetch('http://127.0.0.1:9464/healthz')).status, 200, '/healthz on 9464');
  compose('stop');
  t.equal(docker('inspect', '--format', '{{.State.ExitCode}}', name), '0', 'stopped with exit code 0');
  t.match(docker('logs', name), /"msg":"worker drained"/, 'after draining');
});

t.test("the monitoring profile's Prometheus configuration parses (promtool)", async (t) => {
  const output = execFileSync('promtool', ['check', 'config', join(PROJECT_ROOT, 'deploy/prometheus/prometheus.yml')], { encoding: 'utf8' });
  t.match(output, /SUCCESS/);
});
