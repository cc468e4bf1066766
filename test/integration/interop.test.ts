import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { startService } from '../helpers/service-process.js';

/** Debian's python3-grpcio installs for the system interpreter, not for other pythons on PATH. */
const PYTHON = '/usr/bin/python3';
const CLIENT = fileURLToPath(new URL('../interop/redirect_client.py', import.meta.url));

const hasGrpcio = spawnSync(PYTHON, ['-c', 'import grpc'], { stdio: 'ignore' }).status === 0;
// CI installs python3-grpcio, so there a missing module fails the test instead of skipping it.
const skip = !hasGrpcio && !process.env['CI'] ? 'python3-grpcio is not installed (apt-get install python3-grpcio)' : false;

t.test('a C-core client (python grpcio) gets the right answers', { skip }, async (t) => {
  const service = await startService({ WORKERS: '1', CDN_HOST: 'cdn.interop.test', ORIGIN_EVERY: '3' });
  t.teardown(() => service.stop());
  const video = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8?token=a%2Fb';
  const cdn = 'http://cdn.interop.test/s1/video/123/xcg2djHckad.m3u8?token=a%2Fb';
  const { stdout } = await promisify(execFile)(PYTHON, [CLIENT, `127.0.0.1:${service.port}`, video, video, '', video, 'ftp://x/y'], {
    timeout: 30_000,
  });
  const results = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { code: string; redirect?: string; details?: string });
  t.same(results, [
    { code: 'OK', redirect: cdn },
    { code: 'OK', redirect: cdn },
    { code: 'INVALID_ARGUMENT', details: 'video: is empty; expected a URL like http://s1.origin-cluster/video/1.m3u8' },
    { code: 'OK', redirect: video },
    { code: 'INVALID_ARGUMENT', details: 'video: scheme must be http or https' },
  ]);
});
