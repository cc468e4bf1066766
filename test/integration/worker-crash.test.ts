import { status } from '@grpc/grpc-js';
import t from 'tap';
import { establishedConnectionsHeldBy } from '../../bench/process-sockets.js';
import { tcpMigrateReqEnabled } from '../../src/runtime/tcp-migrate.js';
import { MIGRATE_REQ_SKIP } from '../helpers/tcp-migrate-req.js';
import { RedirectClient } from '../helpers/redirect-client.js';
import { startService } from '../helpers/service-process.js';
import { SteadyLoad } from '../helpers/steady-load.js';

const VIDEO = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';
const KILLS = 20;
const CONNECTIONS = 16;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test(`${KILLS} workers killed with kill -9 one after another under load: only calls in flight fail, fast`, async (t) => {
  // No back-off: twenty deaths in a row would otherwise be a crash loop, replaced ever more slowly.
  const service = await startService({ WORKERS: '2', RESTART_BACKOFF_MAX_MS: '0' }, { instrumented: false });
  t.teardown(() => service.stop());
  // A generous deadline: a connection the primary accepted and never handed to a worker shows up
  // as DEADLINE_EXCEEDED, however long the deadline.
  const load = new SteadyLoad(service.port, VIDEO, { connections: CONNECTIONS, deadlineMs: 3000 });
  t.teardown(() => load.stop());
  await sleep(300);
  for (let kill = 1; kill <= KILLS; kill++) {
    // Alternate between the older and the newer worker: both the one that holds the connections
    // and the one that is being handed the reconnections.
    const live = service.liveWorkerPids();
    process.kill(live[kill % live.length] as number, 'SIGKILL');
    // Two listening workers again before the next kill: the service is promised to survive
    // one crash at a time, not to serve with no worker at all.
    await service.waitForLogCount((l) => l.msg === 'worker listening', 2 + kill, 15_000);
    const succeededBefore = load.succeeded;
    while (load.succeeded < succeededBefore + CONNECTIONS) await sleep(10);
  }
  await sleep(500);
  await load.stop();
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(load.outcomes))}`);
  const slowOrStuck = load.failures.filter((f) => f.code !== 'UNAVAILABLE' || f.ms >= 1000);
  t.equal(service.logs.filter((l) => l.msg === 'worker died; replacing it').length, KILLS, `${KILLS} deaths seen and replaced`);
  t.same(slowOrStuck, [], 'every failed call is UNAVAILABLE (none DEADLINE_EXCEEDED) and failed within a second');
  // Each connection has one call in flight at a time: a kill costs at most one call on each
  // connection the dead worker served. That needs net.ipv4.tcp_migrate_req=1 (.ci/run sets it):
  // without it a client whose reconnection was still in the dead worker's accept queue is reset,
  // and its calls fail fast (checked above) until its reconnect back-off ends.
  t.test(`at most one failed call per connection and kill (${load.failures.length} for ${KILLS} kills)`, { skip: tcpMigrateReqEnabled() ? false : MIGRATE_REQ_SKIP }, async (t) => {
    t.ok(load.failures.length <= KILLS * CONNECTIONS, `${load.failures.length} failed calls for ${KILLS} kills`, { failures: load.describeFailures() });
  });
  t.ok(load.succeeded > KILLS * CONNECTIONS, `${load.succeeded} calls succeeded`);
  t.equal(establishedConnectionsHeldBy(service.child.pid as number, service.port), 0, 'the primary holds no client connection');
  const fresh = new RedirectClient(service.port, { ownConnection: true });
  t.equal((await fresh.redirect(VIDEO, 2000)).code, status.OK, 'a new connection is served');
  fresh.close();
});
