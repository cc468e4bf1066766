import t from 'tap';
import { unsupportedNodeReason } from '../../src/runtime/node-version.js';

t.test('Node 24 and 22.15+ run the service', async (t) => {
  for (const version of ['v24.21.0', 'v22.15.0', 'v22.20.1', 'v26.0.0']) t.equal(unsupportedNodeReason(version), undefined, version);
});

t.test('Node 20 and 22 before 22.15 are refused with a reason naming the version and the way out', async (t) => {
  for (const version of ['v20.20.2', 'v22.14.0', 'v18.0.0']) {
    const reason = unsupportedNodeReason(version);
    t.match(reason, new RegExp(`^Node\\.js ${version.replace(/\./g, '\\.')} is not supported: 22\\.15\\.0 or newer`), version);
    t.match(reason, /node_modules\/\.bin/);
  }
});

t.test('the Node running the tests is a supported one', async (t) => {
  t.equal(unsupportedNodeReason(process.version), undefined, process.version);
});
