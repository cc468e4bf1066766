import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { pinTickObjectMaps } from '../../src/runtime/tick-object-maps.js';
import { PROJECT_ROOT, withoutCoverage } from '../helpers/service-process.js';

const run = promisify(execFile);
const MODULE_URL = pathToFileURL(join(PROJECT_ROOT, 'dist/src/runtime/tick-object-maps.js')).href;

/**
 * What a worker under load does to nextTick: batches of ticks, each drained before a
 * mark-compact runs with the queue empty. Then V8's own description of nextTick's feedback:
 * the state of each property definition of its object literal.
 */
async function literalFeedbackAfterMarkCompacts(pin: boolean): Promise<string[]> {
  const script = `
    ${pin ? `const { pinTickObjectMaps } = await import(${JSON.stringify(MODULE_URL)}); if (!pinTickObjectMaps()) throw new Error('no tick kept');` : ''}
    const { setImmediate: turn } = await import('node:timers/promises');
    const noop = () => {};
    for (let gc = 0; gc < 20; gc++) {
      for (let i = 0; i < 2000; i++) process.nextTick(noop, i);
      await turn();
      globalThis.gc();
    }
    new Function('f', '%DebugPrint(f)')(process.nextTick);`;
  // Without V8's coverage, which tap starts in every child it spawns: in coverage mode this
  // literal goes megamorphic by itself, with no mark-compact at all, kept entry or not. Workers
  // in production run without it.
  const [command, args] = withoutCoverage(['--expose-gc', '--allow-natives-syntax', '--input-type=module', '-e', script]);
  const { stdout } = await run(command, args, { maxBuffer: 16 << 20 });
  return [...stdout.matchAll(/slot #\d+ DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((match) => match[1] as string);
}

t.test('a kept nextTick entry keeps the literal of nextTick monomorphic through mark-compacts', async (t) => {
  for (let run = 1; run <= 3; run++) {
    const pinned = await literalFeedbackAfterMarkCompacts(true);
    t.ok(pinned.length >= 4, `V8 printed the literal's property definitions (${pinned.length})`);
    t.notOk(pinned.includes('MEGAMORPHIC'), `run ${run}, with an entry kept: ${pinned.join(' ')}`);
  }
  // The premise: without it, this Node.js goes megamorphic (in most runs: a mark-compact that
  // finds an entry alive keeps the maps). If no run does, Node.js (or V8) no longer loses the
  // maps, and tick-object-maps.ts can go.
  const unpinned: string[][] = [];
  for (let run = 1; run <= 3 && !unpinned.some((states) => states.includes('MEGAMORPHIC')); run++) unpinned.push(await literalFeedbackAfterMarkCompacts(false));
  t.ok(unpinned.some((states) => states.includes('MEGAMORPHIC')), `without: ${unpinned.map((states) => states.join(' ')).join(' / ')}`);
});

t.test('pinTickObjectMaps keeps an entry, once', async (t) => {
  t.equal(pinTickObjectMaps(), true);
  t.equal(pinTickObjectMaps(), true, 'a second call keeps the entry it has');
});
