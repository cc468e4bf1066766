import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { PROJECT_ROOT, startService } from '../helpers/service-process.js';

const CALL = join(PROJECT_ROOT, 'dist/src/cli/call.js');
const VIDEO = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';

const run = (args: string[], env: Record<string, string> = {}) =>
  promisify(execFile)(process.execPath, [CALL, ...args], { env: { PATH: process.env['PATH'], ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

const service = await startService({ WORKERS: '1', CDN_HOST: 'cdn.call.test', ORIGIN_EVERY: '3' });
t.teardown(() => service.stop());

t.test('npm run call: prints each answer of a real server, the origin every 3rd here', async (t) => {
  const { code, stdout } = await run([VIDEO, '--target', `127.0.0.1:${service.port}`, '--count', '3']);
  t.equal(code, 0);
  const cdn = 'http://cdn.call.test/s1/video/123/xcg2djHckad.m3u8';
  t.same(stdout.split('\n').filter(Boolean), [cdn, cdn, VIDEO]);
});

t.test('the default target is GRPC_PORT, read as the service reads it', async (t) => {
  const { code, stdout } = await run([VIDEO], { GRPC_PORT: String(service.port) });
  t.equal(code, 0, stdout);
  t.match(stdout, /^http:\/\//);
  const bad = await run([VIDEO], { GRPC_PORT: 'eighty' });
  t.equal(bad.code, 2, 'an invalid GRPC_PORT is a usage error');
  t.match(bad.stderr, /GRPC_PORT="eighty" is invalid/);
});

t.test('a refused call: the status and why on stderr, exit 1; no video: usage, exit 2', async (t) => {
  const refused = await run(['ftp://s1.origin-cluster/x', '--target', `127.0.0.1:${service.port}`]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /^INVALID_ARGUMENT: video: /);
  const usage = await run([]);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /^usage: npm run call/);
});
