import { connect } from 'node:http2';
import t from 'tap';
import { ATTACKS, connectionFlood, RawConnection, runAttack, tinyFrameRequest } from '../../bench/h2-attack/attacks.js';
import { ErrorCode } from '../../bench/h2-attack/frames.js';
import { Victim } from '../../bench/h2-attack/victim.js';
import { findFreePort } from '../../src/cluster/free-port.js';
import { startService } from '../helpers/service-process.js';

/**
 * Attacks spoken in raw HTTP/2 frames (bench/h2-attack) against one worker, each beside a victim
 * caller on its own connection. The attacker reconnects each time it is cut off, for ATTACK_MS:
 * every one of its connections must be cut off (all but the last, which the time may end), and
 * the victim must lose no call. Speed figures are bench/h2-attacks.ts's.
 */
const ATTACK_MS = 2000;
const VICTIM_RATE = 100;

/** One worker with metrics; `metricsPort` to scrape. */
async function startMeasured(env: Record<string, string> = {}) {
  const metricsPort = await findFreePort('127.0.0.1');
  const service = await startService({ WORKERS: '1', METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1', ...env });
  return Object.assign(service, { metricsPort });
}

const service = await startMeasured();
t.teardown(() => service.stop());

/** balancer_connections_closed_total summed over `reasons`. */
async function closedTotal(reasons: readonly string[], metricsPort = service.metricsPort): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let total = 0;
  for (const reason of reasons) {
    const line = text.split('\n').find((l) => l.startsWith(`balancer_connections_closed_total{reason="${reason}",port="grpc"}`));
    total += Number(line?.split(' ').at(-1));
  }
  return total;
}

// The HPACK bomb's blocks are both rejected and far larger than what they deliver, and a flood
// of small frames (pings, streams reset at once) is bytes no header or data accounts for:
// whichever check sees it first (the guard's sweep or nghttp2's own) names it.
const attacks: Array<{ name: string; reasons: readonly string[]; goaway?: number }> = [
  { name: 'hpack-bomb', reasons: ['rejected_headers', 'excess_bytes'], goaway: ErrorCode.ENHANCE_YOUR_CALM },
  { name: 'zero-length-headers', reasons: ['excess_bytes'], goaway: ErrorCode.ENHANCE_YOUR_CALM },
  { name: 'rapid-reset', reasons: ['rapid_reset', 'protocol_error', 'rejected_headers', 'excess_bytes'] },
  { name: 'continuation-flood', reasons: ['continuation_flood'] },
  { name: 'ping-flood', reasons: ['flood', 'excess_bytes'] },
];

for (const { name, reasons, goaway } of attacks) {
  t.test(`${name}: the attacker is cut off, counted and logged, and the victim loses no call`, async (t) => {
    const attack = ATTACKS.find((a) => a.name === name);
    if (!attack) throw new Error(`no attack ${name}`);
    // A service of its own: the abuse log is rate-limited per reason (10 s), so a line an earlier
    // attack caused would stand in for this one's.
    const service = await startMeasured();
    t.teardown(() => service.stop());
    const countedBefore = await closedTotal(reasons, service.metricsPort);
    const since = service.logs.length;
    const victim = new Victim(service.port);
    await victim.call();
    victim.start(VICTIM_RATE);
    const outcome = await runAttack(attack, service.port, ATTACK_MS, { reconnect: true });
    const report = await victim.stop();
    t.ok(outcome.cutOff >= 1, `the server cut the attacker off ${outcome.cutOff} times (the first after ${outcome.firstCutOffMs?.toFixed(0)} ms)`);
    t.ok(outcome.cutOff >= outcome.connections - 1, `every connection but perhaps the last (${outcome.cutOff} of ${outcome.connections})`);
    if (goaway !== undefined) {
      // A peer that keeps sending into a closed connection can get the RST before it reads the GOAWAY.
      const received = outcome.goawayCodes.filter((code) => code !== undefined);
      t.ok(received.length >= 1, `GOAWAYs received: ${received.length}`);
      t.same([...new Set(received)], [goaway], 'each GOAWAY says ENHANCE_YOUR_CALM');
    }
    t.equal(report.failed, 0, `no victim call failed (${report.ok} answered, p99 ${report.p99.toFixed(1)} ms)`);
    t.ok(report.ok >= (VICTIM_RATE * ATTACK_MS) / 1000 / 2, 'the victim kept being answered through the attack');
    t.ok(await closedTotal(reasons, service.metricsPort) >= countedBefore + outcome.cutOff, `balancer_connections_closed_total{reason="${reasons.join('" or "')}"} counts them`);
    const logged = await service.waitForLog((l) => reasons.includes(l.reason as string) && typeof l.peer === 'string' && /^(::ffff:)?127\.0\.0\.1:\d+$/.test(l.peer), 15_000, since);
    t.equal(logged.level, 40, `a warning names the reason and the peer (${logged.peer})`);
    const fresh = new Victim(service.port);
    t.ok(await fresh.call(), 'a fresh connection is answered after the attack');
    await fresh.stop();
  });
}

t.test('a request sent in 1-byte DATA frames is refused with RESOURCE_EXHAUSTED after 256 of them, and the victim loses no call', async (t) => {
  const handled = async (code: string) => {
    const text = await (await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`)).text();
    return Number(new RegExp(`^grpc_server_handled_total\\{[^}]*grpc_code="${code}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  };
  const before = await handled('RESOURCE_EXHAUSTED');
  const victim = new Victim(service.port);
  await victim.call();
  victim.start(VICTIM_RATE);
  const connection = new RawConnection(service.port);
  await connection.accepted;
  const started = performance.now();
  await connection.write(tinyFrameRequest(1, 60_000));
  while (!connection.endedStreams.has(1) && !connection.isClosed && performance.now() - started < 10_000) await new Promise((resolve) => setTimeout(resolve, 10));
  const ms = performance.now() - started;
  connection.destroy();
  const report = await victim.stop();
  t.ok(connection.endedStreams.has(1), `the call was answered, after ${ms.toFixed(0)} ms`);
  t.equal(await handled('RESOURCE_EXHAUSTED'), before + 1, 'with RESOURCE_EXHAUSTED');
  t.equal(report.failed, 0, `no victim call failed (p99 ${report.p99.toFixed(1)} ms)`);
});

t.test('1,000 connections at once are all accepted while a victim keeps being answered', async (t) => {
  const victim = new Victim(service.port);
  await victim.call();
  victim.start(VICTIM_RATE);
  const flood = await connectionFlood(service.port, 1000, 20_000);
  t.teardown(() => flood.close());
  const report = await victim.stop();
  t.equal(flood.accepted, 1000, `all accepted in ${flood.ms.toFixed(0)} ms`);
  t.equal(flood.closed, 0, 'none refused under the default MAX_CONNECTIONS');
  t.equal(report.failed, 0, `no victim call failed (p99 ${report.p99.toFixed(1)} ms)`);
  const fresh = new Victim(service.port);
  t.ok(await fresh.call(), 'a fresh connection is answered while they are held');
  await fresh.stop();
});

t.test('the header list limit is advertised in SETTINGS, and a larger header block is refused without harm', async (t) => {
  const session = connect(`http://127.0.0.1:${service.port}`);
  t.teardown(() => session.close());
  await new Promise((resolve) => session.once('remoteSettings', resolve));
  t.equal(session.remoteSettings.maxHeaderListSize, 8192, 'MAX_HEADER_LIST_BYTES, 8 KiB by default');
  const big = session.request({ ':method': 'POST', ':path': '/loadBalancer.loadBalancer/Redirect', 'content-type': 'application/grpc', 'x-big': 'a'.repeat(9000) });
  const code = await new Promise<number>((resolve) => {
    big.on('error', () => undefined);
    big.on('close', () => resolve(big.rstCode ?? -1));
    big.end();
  });
  t.equal(code, ErrorCode.ENHANCE_YOUR_CALM, 'the stream is reset with ENHANCE_YOUR_CALM');
  const victim = new Victim(service.port);
  t.ok(await victim.call(), 'the service keeps answering');
  await victim.stop();
});

t.test('MAX_CONNECTIONS: past it, connections are closed at once, counted, and logged once per interval', async (t) => {
  const limitedMetrics = await findFreePort('127.0.0.1');
  const limited = await startService({ WORKERS: '1', MAX_CONNECTIONS: '20', METRICS_PORT: String(limitedMetrics), METRICS_HOST: '127.0.0.1' });
  t.teardown(() => limited.stop());
  const flood = await connectionFlood(limited.port, 30, 10_000);
  t.teardown(() => flood.close());
  t.equal(flood.accepted, 20, '20 accepted');
  t.equal(flood.closed, 10, '10 closed at once, none left waiting');
  const text = await (await fetch(`http://127.0.0.1:${limitedMetrics}/metrics`)).text();
  t.match(text, /^balancer_connections_closed_total\{reason="max_connections",port="grpc"\} 10$/m);
  t.match(text, /^balancer_connections_open 20$/m);
  await limited.waitForLog((l) => l.reason === 'max_connections');
  t.equal(limited.logs.filter((l) => l.reason === 'max_connections').length, 1, 'one log line for the burst of 10');
});
