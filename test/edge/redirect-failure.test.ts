import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { pino } from 'pino';
import t from 'tap';
import { RedirectFailures } from '../../src/edge/redirect-failure.js';
import { createRedirectResolver } from '../../src/grpc/redirect-service.js';
import { encodeRequest } from '../../src/grpc/redirect-codec.js';
import { createRedirectHttpServer } from '../../src/http/redirect-http-server.js';
import { InvalidVideoError } from '../../src/routing/invalid-video-error.js';
import { singlePool, type RedirectRouter } from '../../src/routing/redirect-router.js';
import { OriginAllowList } from '../../src/routing/origin-allow-list.js';
import { DEFAULT_DECISION } from '../../src/routing/steering/steering.js';

const VIDEO = 'http://s1.origin-cluster/video/1.ts';

/** A logger whose lines land in `lines`. */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

/** A routing that fails as a bug would: a TypeError on every call but the ones asked to succeed. */
function failingRouter(): Pick<RedirectRouter, 'redirect' | 'rule' | 'lastDecision' | 'lastPool'> {
  return {
    rule: { pools: singlePool([{ baseUrl: 'http://cdn.test', weight: 1 }]), originEvery: 0, originAllowList: new OriginAllowList(['*.origin-cluster']) },
    lastDecision: DEFAULT_DECISION,
    lastPool: 0,
    redirect: (video: string) => {
      if (video.endsWith('ok.ts')) return 'http://cdn.test/s1/ok.ts';
      if (video.endsWith('bad.ts')) throw new InvalidVideoError('host is not an origin server');
      throw new TypeError("Cannot read properties of undefined (reading 'baseUrl')");
    },
  };
}

t.test('RedirectFailures: a caller\'s mistake is its message; anything else is logged once per interval and hidden', async (t) => {
  const { logger, lines } = capturingLogger();
  const failures = new RedirectFailures(logger);
  t.equal(failures.callersMistake(new InvalidVideoError('scheme must be http or https'), 'grpc'), 'video: scheme must be http or https');
  t.equal(lines.length, 0, 'a caller\'s mistake is not logged as a failure');
  for (let i = 0; i < 100; i++) t.equal(failures.callersMistake(new TypeError('boom'), 'http'), undefined, 'a failure of ours', { diagnostic: false });
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(lines.length, 1, 'one line for 100 failures within the interval');
  t.equal(lines[0]?.['level'], 50, 'an error');
  t.match(lines[0]?.['msg'], /^redirect failed \(http\): boom$/);
});

t.test('the HTTP front door answers a failure of the routing with 500, logs it, and keeps serving', async (t) => {
  const { logger, lines } = capturingLogger();
  const server = createRedirectHttpServer(failingRouter(), logger);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/redirect?video=`;
  const failed = await fetch(base + encodeURIComponent(VIDEO), { redirect: 'manual' });
  t.equal(failed.status, 500, '500');
  t.equal(await failed.text(), 'internal error\n', 'nothing of the cause');
  const bad = await fetch(base + encodeURIComponent('http://s1.origin-cluster/bad.ts'), { redirect: 'manual' });
  t.equal(bad.status, 400, "a caller's mistake is still 400");
  const ok = await fetch(base + encodeURIComponent('http://s1.origin-cluster/ok.ts'), { redirect: 'manual' });
  t.equal(ok.status, 302, 'the same server answers the next request');
  t.equal(ok.headers.get('location'), 'http://cdn.test/s1/ok.ts');
  t.equal(lines.filter((l) => l['level'] === 50).length, 1, 'the failure was logged as an error');
});

t.test('the gRPC resolver answers the same failure with INTERNAL, from the same decision', async (t) => {
  const { logger, lines } = capturingLogger();
  const resolve = createRedirectResolver(failingRouter(), logger);
  const failed = resolve(encodeRequest(VIDEO));
  t.same({ ...failed }, { code: status.INTERNAL, text: 'internal error' });
  t.same({ ...resolve(encodeRequest('http://s1.origin-cluster/bad.ts')) }, { code: status.INVALID_ARGUMENT, text: 'video: host is not an origin server' });
  t.same({ ...resolve(encodeRequest('http://s1.origin-cluster/ok.ts')) }, { code: status.OK, text: 'http://cdn.test/s1/ok.ts' });
  t.match(lines.find((l) => l['level'] === 50)?.['msg'], /^redirect failed \(grpc\): Cannot read properties/);
});
