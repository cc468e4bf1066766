import t from 'tap';
import { tcpMigrateReqEnabled } from '../../src/runtime/tcp-migrate.js';

t.test('reads net.ipv4.tcp_migrate_req: 1 is on, 0 is off, no such file is unknown', async (t) => {
  t.equal(tcpMigrateReqEnabled(() => '1\n'), true);
  t.equal(tcpMigrateReqEnabled(() => '0\n'), false);
  t.equal(
    tcpMigrateReqEnabled(() => {
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    }),
    undefined,
  );
});

t.test('reads this machine\'s setting from /proc', async (t) => {
  t.type(tcpMigrateReqEnabled(), process.platform === 'linux' ? 'boolean' : 'undefined');
});
