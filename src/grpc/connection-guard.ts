import type { Http2SecureServer, Http2Server, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import { constants as http2 } from 'node:http2';

/** Why the server closed a connection: a limit of ours, or abuse that node:http2 or we detected. */
export const CONNECTION_CLOSE_REASONS = [
  /** MAX_CONNECTIONS was reached: closed at accept, before any HTTP/2. */
  'max_connections',
  /** Header blocks rejected (too large, too many fields) faster than MAX_REJECTED_STREAMS_PER_SECOND: the HPACK bomb. */
  'rejected_headers',
  /** nghttp2: control frames (PING, SETTINGS, RST_STREAM answers) queued faster than they are read. */
  'flood',
  /** nghttp2: a header block continued by too many CONTINUATION frames. */
  'continuation_flood',
  /** node:http2: more invalid frames than maxSessionInvalidFrames (empty DATA, frames on closed streams). */
  'invalid_frames',
  /** nghttp2: any other protocol violation that ends the session (rapid reset, a bad preface, ...). */
  'protocol_error',
] as const;
export type ConnectionCloseReason = (typeof CONNECTION_CLOSE_REASONS)[number];

/** Plain counters, read by metrics when scraped. */
export class ConnectionStats {
  open = 0;
  /** Connections closed by the server, by index of CONNECTION_CLOSE_REASONS. */
  readonly closed = new Float64Array(CONNECTION_CLOSE_REASONS.length);
}

export interface ConnectionGuardOptions {
  /** Connections one process holds at most; past it, new ones are closed at accept. */
  readonly maxConnections: number;
  /** Header blocks one connection may have rejected per second (and at once) before it is closed. */
  readonly maxRejectedStreamsPerSecond: number;
  /** Called for every connection the server closes, with the peer's address. */
  readonly onClose: (reason: ConnectionCloseReason, peer: string) => void;
}

/** How often connections that sent bytes are checked for rejected header blocks. */
export const SWEEP_MS = 10;

/** The error a connection guarded here is destroyed with; node:http2 hands it to 'sessionError'. */
export class AbusiveConnectionError extends Error {
  constructor(readonly reason: ConnectionCloseReason) {
    super(`connection closed: ${reason}`);
  }
}

interface Tally {
  readonly peer: string;
  /** Streams node:http2 handed to JS: the ones it did not reject. */
  streams: number;
  bytesRead: number;
  rejected: number;
  /** Rejections still allowed: a token bucket, refilled at maxRejectedStreamsPerSecond. */
  rejectionAllowance: number;
  checkedAt: number;
}

/**
 * Limits and watches the HTTP/2 connections of one process, so that an abusive peer costs a few
 * milliseconds and shows up in metrics and logs:
 *
 * - at most `maxConnections`, enforced by Node at accept (net.Server#maxConnections);
 * - a connection whose header blocks node:http2 keeps rejecting is closed with GOAWAY
 *   ENHANCE_YOUR_CALM. Node resets such a stream in C++ and tells JS nothing, while nghttp2 must
 *   still decode every byte to keep the HPACK state: a bomb of 16 KiB blocks took a whole core.
 *   The streams a peer opened (`lastProcStreamID`) less the streams JS received are the ones
 *   rejected; a sweep every SWEEP_MS compares them for connections that sent bytes;
 * - what node:http2 itself cuts off (floods, CONTINUATION, invalid frames) is counted by reason.
 */
export class ConnectionGuard {
  private readonly tallies = new Map<ServerHttp2Session, Tally>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: ConnectionGuardOptions,
    readonly stats: ConnectionStats = new ConnectionStats(),
  ) {}

  attach(server: Http2Server | Http2SecureServer): void {
    server.maxConnections = this.options.maxConnections;
    server.on('drop', (peer?: { remoteAddress?: string; remotePort?: number }) =>
      this.count('max_connections', `${peer?.remoteAddress}:${peer?.remotePort}`),
    );
    server.on('session', (session: ServerHttp2Session) => this.track(session));
    server.on('stream', (stream: ServerHttp2Stream) => {
      const tally = this.tallies.get(stream.session as ServerHttp2Session);
      if (tally) tally.streams++;
    });
    server.on('sessionError', (error: Error, session: ServerHttp2Session) => {
      const reason = reasonFor(error);
      // The tally outlives the error ('close' comes after it), and knows the peer's address.
      if (reason) this.count(reason, this.tallies.get(session)?.peer ?? 'unknown');
    });
  }

  /** Stops the sweep (the server is closing). */
  stop(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private track(session: ServerHttp2Session): void {
    this.stats.open++;
    const { maxRejectedStreamsPerSecond } = this.options;
    this.tallies.set(session, {
      peer: peerOf(session),
      streams: 0,
      bytesRead: 0,
      rejected: 0,
      rejectionAllowance: maxRejectedStreamsPerSecond,
      checkedAt: performance.now(),
    });
    session.once('close', () => {
      this.stats.open--;
      this.tallies.delete(session);
    });
    if (this.sweepTimer === undefined) {
      this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
      this.sweepTimer.unref();
    }
  }

  private sweep(): void {
    if (this.tallies.size === 0) {
      this.stop();
      return;
    }
    const now = performance.now();
    const rate = this.options.maxRejectedStreamsPerSecond;
    for (const [session, tally] of this.tallies) {
      // A destroyed session's socket proxy throws; its 'close' (which drops the tally) is pending.
      if (session.destroyed) continue;
      const bytesRead = session.socket.bytesRead;
      if (bytesRead === tally.bytesRead) continue;
      tally.bytesRead = bytesRead;
      const lastStreamId = session.state.lastProcStreamID ?? 0;
      // Client streams are odd: 1, 3, 5, ... A block still arriving counts once, too early.
      const rejected = Math.max(0, (lastStreamId + 1) / 2 - tally.streams);
      tally.rejectionAllowance = Math.min(rate, tally.rejectionAllowance + ((now - tally.checkedAt) / 1000) * rate) - (rejected - tally.rejected);
      tally.rejected = rejected;
      tally.checkedAt = now;
      if (tally.rejectionAllowance < 0) this.close(session, 'rejected_headers');
    }
  }

  /** GOAWAY ENHANCE_YOUR_CALM, then the socket closes; 'sessionError' counts it. */
  private close(session: ServerHttp2Session, reason: ConnectionCloseReason): void {
    session.destroy(new AbusiveConnectionError(reason), http2.NGHTTP2_ENHANCE_YOUR_CALM);
  }

  private count(reason: ConnectionCloseReason, peer: string): void {
    const index = CONNECTION_CLOSE_REASONS.indexOf(reason);
    this.stats.closed[index] = (this.stats.closed[index] as number) + 1;
    this.options.onClose(reason, peer);
  }
}

/** nghttp2's error codes (nghttp2.h) for what it detects as abuse. */
const NGHTTP2_ERR_FLOODED = -904;
const NGHTTP2_ERR_TOO_MANY_CONTINUATIONS = -905;

/**
 * The reason a session error closed a connection, or undefined for what is no abuse: a peer that
 * reset its TCP connection (ECONNRESET, EPIPE) is counted nowhere.
 */
export function reasonFor(error: Error & { code?: string; errno?: number }): ConnectionCloseReason | undefined {
  if (error instanceof AbusiveConnectionError) return error.reason;
  if (error.code === 'ERR_HTTP2_TOO_MANY_INVALID_FRAMES') return 'invalid_frames';
  // nghttp2's own errors are -500 to -999; system errors (-104 ECONNRESET) are above.
  if (typeof error.errno !== 'number' || error.errno > -500) return undefined;
  if (error.errno === NGHTTP2_ERR_FLOODED) return 'flood';
  if (error.errno === NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) return 'continuation_flood';
  return 'protocol_error';
}

function peerOf(session: ServerHttp2Session): string {
  const socket = session.socket;
  return socket ? `${socket.remoteAddress}:${socket.remotePort}` : 'unknown';
}
