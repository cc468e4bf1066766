import t from 'tap';
import { StreamTable } from '../../src/grpc/stream-table.js';

t.test('get, set, delete and size behave as a Map for client stream ids', async (t) => {
  const table = new StreamTable<string>();
  const map = new Map<number, string>();
  // Streams open and close out of order, some live long: a pattern a Map answers the same way.
  let mismatches = 0;
  let seed = 7;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (let id = 1; id < 20000; id += 2) {
    table.set(id, `s${id}`);
    map.set(id, `s${id}`);
    for (const open of [...map.keys()]) {
      if (random() < (open % 97 === 0 ? 0.001 : 0.3)) {
        if (table.delete(open) !== map.delete(open)) mismatches++;
      }
    }
    if (id % 999 === 0) {
      for (let probe = 1; probe <= id + 4; probe += 2) if (table.get(probe) !== map.get(probe)) mismatches++;
    }
    if (table.size !== map.size) mismatches++;
  }
  t.equal(mismatches, 0, 'every delete, get and size along the way answered as the Map did');
  t.equal(table.size, map.size, `same size at the end (${map.size} open, long-lived ones among them)`);
  t.equal(table.delete(3), map.delete(3), 'deleting an id twice answers as a Map');
  t.equal(table.get(400001), undefined, 'an id never set is not found');
});

t.test('set on an open id replaces its value without growing the size', async (t) => {
  const table = new StreamTable<string>();
  table.set(5, 'a').set(5, 'b');
  t.equal(table.get(5), 'b');
  t.equal(table.size, 1);
});

t.test('colliding ids that stay open grow the table, then overflow, and are all found', async (t) => {
  const table = new StreamTable<number>();
  // Ids 32 apart share a slot of a 16-slot table; 2,048 apart share one of the largest.
  const ids = Array.from({ length: 40 }, (_, k) => 1 + k * 2 * StreamTable.MAX_SLOTS);
  for (const id of ids) table.set(id, id);
  t.equal(table.size, ids.length);
  t.same(ids.map((id) => table.get(id)), ids, 'every one found');
  for (const id of ids.slice(0, 20)) t.ok(table.delete(id));
  t.equal(table.size, 20);
  t.same(ids.slice(20).map((id) => table.get(id)), ids.slice(20), 'the rest still found');
});

t.test('forEach visits what is open, and skips an entry an earlier callback deleted, as Map#forEach', async (t) => {
  const table = new StreamTable<string>();
  for (const id of [1, 3, 5, 7, 1 + 2 * StreamTable.MAX_SLOTS * 3]) table.set(id, `s${id}`);
  const seen: number[] = [];
  table.forEach((value, id) => {
    seen.push(id);
    t.equal(value, `s${id}`);
    if (id === 1) table.delete(5);
    table.delete(id);
  });
  t.same(seen.sort((a, b) => a - b), [1, 3, 7, 1 + 2 * StreamTable.MAX_SLOTS * 3], '5 was deleted before its turn');
  t.equal(table.size, 0, 'callbacks that delete as they go empty it, as node:http2 does on destroy');
});
