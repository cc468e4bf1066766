import t from 'tap';
import { OriginRotation } from '../../src/routing/origin-rotation.js';

function originCalls(every: number, calls: number): number[] {
  const rotation = new OriginRotation(every);
  const origin: number[] = [];
  for (let call = 1; call <= calls; call++) if (rotation.nextGoesToOrigin()) origin.push(call);
  return origin;
}

t.test('every Nth call goes to the origin', async (t) => {
  t.same(originCalls(10, 35), [10, 20, 30]);
  t.same(originCalls(3, 10), [3, 6, 9]);
});

t.test('1 sends every call to the origin, 0 none', async (t) => {
  t.same(originCalls(1, 4), [1, 2, 3, 4]);
  t.same(originCalls(0, 100), []);
});

t.test('refuses a negative or fractional period', async (t) => {
  t.throws(() => new OriginRotation(-1), RangeError);
  t.throws(() => new OriginRotation(1.5), RangeError);
});
