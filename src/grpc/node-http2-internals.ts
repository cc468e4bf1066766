import type { Http2SecureServer, Http2Server, Http2Session } from 'node:http2';
import { Socket } from 'node:net';
import { isMap } from 'node:util/types';
import { StreamTable } from './stream-table.js';

/**
 * The one place that reaches into node:http2's private members (lib/internal/http2/core.js of
 * Node.js 22 and 24). test/grpc/node-http2-internals.test.ts fails when a Node.js release moves
 * what is used here.
 *
 * Each session keeps its open streams in `session[kState].streams`, a Map node:http2 only calls
 * get, set, delete, size and forEach on. Replaced by a StreamTable, a finished stream is no
 * longer kept alive by a stale Map table in the old generation (see stream-table.ts).
 *
 * `session.socket` is a Proxy whose every property read runs a trap and, for the socket's
 * counters, a getter behind it: about 0.5 µs, paid for every open connection on every sweep of
 * the connection guard. `session[kSocket]` is the socket itself.
 */

/** The part of a session's private state used here. */
interface SessionState {
  streams?: unknown;
}

/** The session's private symbols used here, by description (`Symbol('state')`, `Symbol('socket')` in core.js), found once each. */
const symbols = new Map<string, symbol | undefined>();

/** The session's own property under the symbol described `description`, or undefined. */
function privateMember(session: Http2Session, description: string): unknown {
  if (!symbols.has(description)) symbols.set(description, Object.getOwnPropertySymbols(session).find((symbol) => symbol.description === description));
  const symbol = symbols.get(description);
  return symbol === undefined ? undefined : (session as unknown as Record<symbol, unknown>)[symbol];
}

function stateOf(session: Http2Session): SessionState | undefined {
  const state = privateMember(session, 'state');
  return typeof state === 'object' && state !== null ? (state as SessionState) : undefined;
}

/**
 * The socket `session` reads from, not the Proxy `session.socket` returns; undefined when this
 * Node.js keeps it elsewhere (then use `session.socket`).
 */
export function socketOf(session: Http2Session): Socket | undefined {
  const socket = privateMember(session, 'socket');
  return socket instanceof Socket ? socket : undefined;
}

/**
 * Gives `session` a StreamTable for its streams, before it has any. Returns false, changing
 * nothing, when the session has no empty Map there (another Node.js layout, or streams already
 * open). core.js's SafeMap is a Map but no `instanceof Map`, hence `isMap`.
 */
export function useStreamTable(session: Http2Session): boolean {
  const state = stateOf(session);
  if (state === undefined || !isMap(state.streams) || state.streams.size !== 0) return false;
  state.streams = new StreamTable();
  return true;
}

/** Whether `session` keeps its streams in a StreamTable. */
export function usesStreamTable(session: Http2Session): boolean {
  return stateOf(session)?.streams instanceof StreamTable;
}

/**
 * Every session `server` accepts from now on keeps its streams in a StreamTable. Calls
 * `onUnsupported` once if a session could not be given one (the node:http2 layout moved).
 */
export function useStreamTables(server: Http2Server | Http2SecureServer, onUnsupported: () => void): void {
  let warned = false;
  server.on('session', (session: Http2Session) => {
    if (useStreamTable(session) || warned) return;
    warned = true;
    onUnsupported();
  });
}
