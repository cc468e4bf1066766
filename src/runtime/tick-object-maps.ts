import { createHook } from 'node:async_hooks';

/**
 * One entry of process.nextTick's queue, kept for the life of the process.
 *
 * Why: nextTick builds each entry with an object literal of computed keys (`{ [async_id_symbol]:
 * ..., [trigger_async_id_symbol]: ..., [async_context_frame]: ..., callback, args }`), and V8
 * links the hidden classes (maps) that literal walks through by weak transitions. A mark-compact
 * that runs while the queue is empty (no entry alive) clears them, and the next entry gets new
 * maps. After four such mark-compacts the literal's feedback is megamorphic for good, and every
 * nextTick (several per call in node:http2) defines its properties in the V8 runtime, with
 * megamorphic loads wherever entries are read. A worker's mark-compacts under load do exactly
 * that: docs/performance.md measured it at about 8% of a worker's CPU. One live entry holds its
 * maps (through their back pointers) and so the transitions to them.
 */
let pinned: object | undefined;

/**
 * Takes one nextTick queue entry and keeps it; call before the first mark-compact under load.
 * Returns whether an entry was kept (false if this Node.js no longer reports its ticks to
 * async_hooks as 'TickObject' resources: nothing breaks, the cost above comes back).
 */
export function pinTickObjectMaps(): boolean {
  if (pinned !== undefined) return true;
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && pinned === undefined) pinned = resource;
    },
  });
  hook.enable();
  try {
    process.nextTick(noop);
  } finally {
    hook.disable();
  }
  return pinned !== undefined;
}

function noop(): void {}
