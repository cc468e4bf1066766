import t from 'tap';
import { loadConfig } from '../../src/config/config.js';
import { describeRouting } from '../../src/config/routing-config.js';

const file = (text: string) => loadConfig({ CONFIG_FILE: '/etc/vb/routing.yaml' }, text).routing;

t.test('least-loaded with load readings, from the file and from the environment', async (t) => {
  const routing = file(`cdn:
  pools:
    default:
      policy: least-loaded
      load: { format: nginx-stub-status, path: /nginx_status, intervalMs: 500 }
      hosts:
        - host: a.test
          weight: 2
          maxLoad: 300
        - b.test
`);
  const [pool] = routing.pools;
  t.same(pool?.load, { format: 'nginx-stub-status', path: '/nginx_status', intervalMs: 500 });
  t.equal(pool?.policy, 'least-loaded');
  t.same(pool?.hosts.map((h) => h.maxLoad), [300, undefined]);
  t.match(describeRouting(routing), { cdn: { pools: undefined, policy: 'least-loaded', load: { format: 'nginx-stub-status' }, hosts: [{ maxLoad: 300 }, {}] } }, 'check-config shows the load settings');
  const fromEnv = loadConfig({ CDN_HOSTS: 'a.test,b.test', CDN_POLICY: 'least-loaded', CDN_LOAD_FORMAT: 'ats-stats-over-http', CDN_LOAD_PATH: '/_stats' }).routing;
  t.same(fromEnv.pools[0]?.load, { format: 'ats-stats-over-http', path: '/_stats', intervalMs: undefined }, 'the interval defaults to the health checks\'');
  t.equal(file('cdn:\n  hosts: [a.test]\n').id, file('cdn:\n  hosts: [a.test]\n').id, 'stable identifiers');
});

t.test('load settings that cannot work are refused naming the key or variable', async (t) => {
  const rows: Array<[() => unknown, RegExp]> = [
    [() => file('cdn:\n  policy: least-loaded\n  hosts: [a.test, b.test]\n'), /cdn\.policy: least-loaded needs cdn\.load/],
    [() => file('cdn:\n  pools:\n    default:\n      policy: least-loaded\n      hosts: [a.test]\n'), /cdn\.pools\.default\.policy: least-loaded needs cdn\.pools\.default\.load/],
    [() => file('cdn:\n  pools:\n    default:\n      hosts:\n        - host: a.test\n          maxLoad: 10\n'), /cdn\.pools\.default\.hosts\[0\]\.maxLoad: needs cdn\.pools\.default\.load/],
    [() => file('cdn:\n  hosts:\n    - host: a.test\n      maxLoad: -1\n'), /cdn\.hosts\[0\]\.maxLoad: must be a whole number from 0 to/],
    [() => file('cdn:\n  hosts:\n    - host: a.test\n      maxLoad: 5\n'), /cdn\.hosts\[0\]\.maxLoad: needs cdn\.load/],
    [() => file('cdn:\n  hosts: [a.test]\n  load: { format: varnish, path: /x }\n'), /cdn\.load\.format: expected nginx-stub-status or ats-stats-over-http/],
    [() => file('cdn:\n  hosts: [a.test]\n  load: { format: nginx-stub-status, path: status }\n'), /cdn\.load\.path: expected a path starting with \//],
    [() => file('cdn:\n  hosts: [a.test]\n  load: { format: nginx-stub-status, path: /s, intervalMs: 5 }\n'), /cdn\.load\.intervalMs: must be a whole number from 100/],
    [() => loadConfig({ CDN_POLICY: 'least-loaded' }), /CDN_POLICY="least-loaded" is invalid: least-loaded needs CDN_LOAD_FORMAT and CDN_LOAD_PATH/],
    [() => loadConfig({ CDN_LOAD_FORMAT: 'nginx-stub-status' }), /CDN_LOAD_FORMAT="nginx-stub-status" is invalid: needs CDN_LOAD_PATH/],
    [() => loadConfig({ CDN_LOAD_PATH: '/s' }), /CDN_LOAD_PATH="\/s" is invalid: is set without CDN_LOAD_FORMAT/],
    [() => loadConfig({ CONFIG_FILE: 'r.yaml', CDN_LOAD_FORMAT: 'nginx-stub-status', CDN_LOAD_PATH: '/s' }, 'cdn:\n  hosts: [a.test]\n  load: { format: nginx-stub-status, path: /s }\n'), /CDN_LOAD_FORMAT.*by cdn\.load\.format in CONFIG_FILE/],
  ];
  for (const [load, expected] of rows) t.throws(load, { message: expected }, expected.source.slice(0, 60));
});
