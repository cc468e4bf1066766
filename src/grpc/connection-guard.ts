import type { Http2SecureServer, Http2Server, IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import { constants as http2 } from 'node:http2';
import type { Socket } from 'node:net';
import { socketOf } from './node-http2-internals.js';

/** Why the server closed a connection: a limit of ours, or abuse that node:http2 or we detected. */
export const CONNECTION_CLOSE_REASONS = [
  /** MAX_CONNECTIONS was reached: closed at accept, before any HTTP/2. */
  'max_connections',
  /** Header blocks rejected (too large, too many fields) faster than MAX_REJECTED_STREAMS_PER_SECOND: the HPACK bomb. */
  'rejected_headers',
  /**
   * Streams the client reset before they were answered, faster than MAX_PEER_RESETS_PER_SECOND
   * (Rapid Reset, CVE-2023-44487): nghttp2's own limit lets 1,000 through first.
   */
  'rapid_reset',
  /**
   * Far more bytes than the headers and data they delivered: zero-length header fields
   * (CVE-2019-9516), which node:http2 drops uncounted, HPACK bombs, floods of small frames.
   */
  'excess_bytes',
  /** nghttp2: control frames (PING, SETTINGS, RST_STREAM answers) queued faster than they are read. */
  'flood',
  /** nghttp2: a header block continued by too many CONTINUATION frames. */
  'continuation_flood',
  /** node:http2: more invalid frames than maxSessionInvalidFrames (empty DATA, frames on closed streams). */
  'invalid_frames',
  /** nghttp2: any other protocol violation that ends the session (rapid reset, a bad preface, ...). */
  'protocol_error',
  /** The front door: request headers (or a TLS handshake) not complete within HTTP_HEADERS_TIMEOUT_MS. */
  'headers_timeout',
  /** The front door: a request's headers larger than MAX_HEADER_LIST_BYTES. */
  'headers_too_large',
  /** The front door: a TLS handshake that failed (not TLS, no shared protocol or cipher). */
  'tls_handshake',
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
  /** Streams one connection may reset before their answer per second (and at once) before it is closed. */
  readonly maxPeerResetsPerSecond: number;
  /**
   * Bytes one connection may send beyond what its headers and data account for, at once (the
   * bucket's size, to which the guard adds one stream window: BYTES_AFTER_EARLY_CLOSE).
   */
  readonly unexplainedBytesBurst: number;
  /** ... and per second, refilling the bucket. */
  readonly unexplainedBytesPerSecond: number;
  /** Called for every connection the server closes, with the peer's address. */
  readonly onClose: (reason: ConnectionCloseReason, peer: string) => void;
  /** Called for a client's close that nghttp2 took for a protocol error (see isClientsClose). */
  readonly onClientClose?: (peer: string) => void;
  /**
   * A connection with no stream open for this long is closed gracefully (GOAWAY NO_ERROR; the
   * client reconnects for its next call); 0 or unset: never. Kept here rather than by grpc-js,
   * whose idle timer costs every call a `once('close')` closure and a timer refresh.
   */
  readonly maxIdleMs?: number;
}

/** How often connections that sent bytes lately are checked for rejected header blocks. */
export const SWEEP_MS = 10;
/**
 * A connection that sent nothing for QUIET_AFTER_SWEEPS sweeps is checked only every
 * QUIET_CHECK_EVERY sweeps (50 ms), a fifth of the quiet connections at each sweep. Reading a
 * socket's byte count costs about 0.4 µs (--cpu-prof): read every 10 ms, a worker holding 2,000
 * idle connections used 18-20% of its core, mostly on this (7% now). A connection that wakes up
 * is seen within 50 ms, and checked every sweep from then on.
 */
const QUIET_AFTER_SWEEPS = 10;
const QUIET_CHECK_EVERY = 5;

/** The error a connection guarded here is destroyed with; node:http2 hands it to 'sessionError'. */
export class AbusiveConnectionError extends Error {
  constructor(readonly reason: ConnectionCloseReason) {
    super(`connection closed: ${reason}`);
  }
}

/**
 * What a stream's header block may take on the wire beyond its decoded names and values: HPACK
 * spends at most a few bytes per field on lengths and indexes; the frame headers, the DATA frame
 * that ends the request, a PING or WINDOW_UPDATE of the client's and the like get the rest.
 */
const BYTES_PER_FIELD = 8;
const BYTES_PER_STREAM = 256;
/** A DATA frame's 9-byte frame header, credited with each chunk of data (one per frame). */
const BYTES_PER_DATA_CHUNK = 9;
/**
 * A stream answered before its request ended (a message over the limit, a bad header) is reset,
 * and what the client already sent arrives for a closed stream, out of JS's sight, often after
 * the sweep that saw the close: a stream's flow-control window (node:http2's default, 65,535
 * bytes) bounds it. Held apart from the bucket and spent first, at most this much at once, so
 * that closing streams early buys an attacker little; and the bucket holds this much more, for
 * the data that arrives before the sweep has seen its stream close.
 */
const BYTES_AFTER_EARLY_CLOSE = 65_535;

/** Where a session's tally hangs, and each of its streams' (no Map lookup per stream or chunk). */
const kTally = Symbol('connection tally');

interface Tally {
  readonly session: ServerHttp2Session;
  /** The socket itself, read on every sweep (`session.socket` is a Proxy that costs far more). */
  readonly socket: Socket | undefined;
  readonly peer: string;
  /** Closes the connection for `reason` (GOAWAY ENHANCE_YOUR_CALM), at once. */
  readonly cut: (reason: ConnectionCloseReason) => void;
  /** Streams node:http2 handed to JS: the ones it did not reject. */
  streams: number;
  /** Of those, the ones not closed yet. */
  openStreams: number;
  /** Bytes the streams' headers and data account for since the last sweep (see BYTES_PER_FIELD). */
  explainedBytes: number;
  /** Unexplained bytes still allowed: a token bucket, refilled at unexplainedBytesPerSecond. */
  bytesAllowance: number;
  /** Bytes expected for streams closed before their request ended (BYTES_AFTER_EARLY_CLOSE). */
  earlyCloseCredit: number;
  /** Streams the peer reset before they were answered, since the last sweep. */
  peerResets: number;
  /** Peer resets still allowed: a token bucket, refilled at maxPeerResetsPerSecond. */
  resetAllowance: number;
  bytesRead: number;
  rejected: number;
  /** Rejections still allowed: a token bucket, refilled at maxRejectedStreamsPerSecond. */
  rejectionAllowance: number;
  checkedAt: number;
  /** The connections this one is checked with: the busy ones, or a group of quiet ones. */
  group: Set<Tally>;
  /** Sweeps in a row that found it silent. */
  silentSweeps: number;
  /** Since when (performance.now()) no stream has been open; Infinity once closed for it. */
  idleSince: number;
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
 *   rejected; a sweep every SWEEP_MS compares them for connections that sent bytes (for a quiet
 *   connection, every fifth sweep);
 * - a connection that sends far more bytes than its headers and data account for is closed the
 *   same way: node:http2 drops zero-length header fields without counting them against any limit,
 *   while decoding each costs about 2 µs. Every stream JS receives credits its decoded headers
 *   (plus BYTES_PER_FIELD and BYTES_PER_STREAM), every chunk of data its length; bytes read beyond
 *   the credit drain a token bucket;
 * - so is a connection whose client resets more than maxPeerResetsPerSecond streams a second
 *   before they are answered (Rapid Reset): nghttp2's own limit lets a burst of 1,000 through, and
 *   every one of them is a stream JS sets up;
 * - what node:http2 itself cuts off (floods, CONTINUATION, invalid frames) is counted by reason.
 */
export class ConnectionGuard {
  /** Connections checked at every sweep. */
  private readonly busy = new Set<Tally>();
  /** Quiet connections, in groups checked one per sweep in turn. */
  private readonly quiet = Array.from({ length: QUIET_CHECK_EVERY }, () => new Set<Tally>());
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeps = 0;

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
    server.on('sessionError', (error: Error, session: ServerHttp2Session) => {
      const reason = reasonFor(error);
      // The tally outlives the error ('close' comes after it), and knows the peer's address.
      const tally = (session as TalliedSession)[kTally];
      if (reason === 'protocol_error' && tally && isClientsClose(tally)) this.options.onClientClose?.(tally.peer);
      else if (reason) this.count(reason, tally?.peer ?? 'unknown');
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
    const socket = socketOf(session);
    const tally: Tally = {
      session,
      socket,
      peer: peerOf(socket ?? session.socket),
      cut: (reason) => this.close(session, reason),
      streams: 0,
      openStreams: 0,
      explainedBytes: 0,
      bytesAllowance: this.options.unexplainedBytesBurst + BYTES_AFTER_EARLY_CLOSE,
      earlyCloseCredit: 0,
      peerResets: 0,
      resetAllowance: this.options.maxPeerResetsPerSecond,
      bytesRead: 0,
      rejected: 0,
      rejectionAllowance: maxRejectedStreamsPerSecond,
      checkedAt: performance.now(),
      group: this.busy,
      silentSweeps: 0,
      idleSince: performance.now(),
    };
    this.busy.add(tally);
    (session as TalliedSession)[kTally] = tally;
    // On the session rather than the server: a stream whose session is destroyed in the read that
    // opened it still reaches the session's listeners, but no longer knows its session.
    session.on('stream', onSessionStream);
    session.once('close', () => {
      this.stats.open--;
      tally.group.delete(tally);
    });
    if (this.sweepTimer === undefined) {
      this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
      this.sweepTimer.unref();
    }
  }

  private sweep(): void {
    if (this.busy.size === 0 && this.quiet.every((group) => group.size === 0)) {
      this.stop();
      return;
    }
    const now = performance.now();
    const rate = this.options.maxRejectedStreamsPerSecond;
    const { unexplainedBytesPerSecond, maxPeerResetsPerSecond } = this.options;
    const unexplainedBytesBurst = this.options.unexplainedBytesBurst + BYTES_AFTER_EARLY_CLOSE;
    const maxIdleMs = this.options.maxIdleMs || Infinity;
    // The quiet group first: a connection that falls quiet below joins it and waits its turn.
    const quiet = this.quiet[++this.sweeps % QUIET_CHECK_EVERY] as Set<Tally>;
    for (const group of [quiet, this.busy]) {
      for (const tally of group) {
        const session = tally.session;
        // A destroyed session's socket proxy throws; its 'close' (which drops the tally) is pending.
        if (session.destroyed) continue;
        if (tally.openStreams === 0 && now - tally.idleSince >= maxIdleMs) {
          tally.idleSince = Infinity;
          // As grpc-js closes an idle session: GOAWAY, then the socket once nothing is left.
          session.close();
          continue;
        }
        const bytesRead = (tally.socket ?? session.socket).bytesRead;
        if (bytesRead === tally.bytesRead) {
          if (++tally.silentSweeps === QUIET_AFTER_SWEEPS) this.move(tally, quiet);
          continue;
        }
        tally.silentSweeps = 0;
        if (tally.group !== this.busy) this.move(tally, this.busy);
        const seconds = (now - tally.checkedAt) / 1000;
        tally.resetAllowance = Math.min(maxPeerResetsPerSecond, tally.resetAllowance + seconds * maxPeerResetsPerSecond) - tally.peerResets;
        tally.peerResets = 0;
        let unexplained = bytesRead - tally.bytesRead;
        const expected = Math.min(unexplained, tally.earlyCloseCredit);
        tally.earlyCloseCredit -= expected;
        unexplained -= expected;
        // Credit beyond the bucket's size is not kept: a quiet connection cannot save up for a burst.
        tally.bytesAllowance =
          Math.min(unexplainedBytesBurst, tally.bytesAllowance + seconds * unexplainedBytesPerSecond + tally.explainedBytes) - unexplained;
        tally.explainedBytes = 0;
        tally.bytesRead = bytesRead;
        const lastStreamId = session.state.lastProcStreamID ?? 0;
        // Client streams are odd: 1, 3, 5, ... A block still arriving counts once, too early.
        const rejected = Math.max(0, (lastStreamId + 1) / 2 - tally.streams);
        tally.rejectionAllowance = Math.min(rate, tally.rejectionAllowance + seconds * rate) - (rejected - tally.rejected);
        tally.rejected = rejected;
        tally.checkedAt = now;
        if (tally.rejectionAllowance < 0) this.close(session, 'rejected_headers');
        else if (tally.resetAllowance < 0) this.close(session, 'rapid_reset');
        else if (tally.bytesAllowance < 0) this.close(session, 'excess_bytes');
      }
    }
  }

  private move(tally: Tally, group: Set<Tally>): void {
    tally.group.delete(tally);
    group.add(tally);
    tally.group = group;
  }

  /** GOAWAY ENHANCE_YOUR_CALM, then the socket closes; 'sessionError' counts it. */
  private close(session: ServerHttp2Session, reason: ConnectionCloseReason): void {
    if (session.destroyed) return;
    session.destroy(new AbusiveConnectionError(reason), http2.NGHTTP2_ENHANCE_YOUR_CALM);
  }

  private count(reason: ConnectionCloseReason, peer: string): void {
    const index = CONNECTION_CLOSE_REASONS.indexOf(reason);
    this.stats.closed[index] = (this.stats.closed[index] as number) + 1;
    this.options.onClose(reason, peer);
  }
}

/**
 * Whether a protocol error is how a grpc-go client (1.6x: the kubelet's gRPC probes, most Go
 * services) ends a connection: after its calls it sends GOAWAY(NO_ERROR) whose last-stream-id
 * names its own last stream; in a client's GOAWAY that field names a server-initiated (even)
 * stream, so nghttp2 answers GOAWAY(PROTOCOL_ERROR, "invalid last_stream_id") and node:http2
 * reports NGHTTP2_ERR_PROTO. node:http2 tells JS neither which frame it was nor its code, so this
 * is judged from the connection: at least one call answered and none still open. A GOAWAY that
 * names no stream (a client that closes before any call) is valid and never gets here. What a
 * peer could pass off this way costs the server one connection, which it loses.
 */
export function isClientsClose(tally: { readonly streams: number; readonly openStreams: number }): boolean {
  return tally.streams > 0 && tally.openStreams === 0;
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

type TalliedSession = ServerHttp2Session & { [kTally]?: Tally };
type TalliedStream = ServerHttp2Stream & { [kTally]?: Tally };

/** Each stream node:http2 hands to JS, after the server's handler (grpc-js's) has attached its readers. */
function onSessionStream(this: TalliedSession, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders?: readonly string[]): void {
  const tally = this[kTally];
  if (!tally) return;
  tally.streams++;
  tally.openStreams++;
  // The flat list node:http2 passes beside the object: a loop over an array, where the object
  // (a dictionary) costs an enumeration and a megamorphic load per field, on every call.
  tally.explainedBytes += BYTES_PER_STREAM + (Array.isArray(rawHeaders) ? rawHeaderBytes(rawHeaders) : headerBytes(headers));
  (stream as TalliedStream)[kTally] = tally;
  // Only beside a reader already there: a 'data' listener of ours on a stream whose handler
  // attaches its own later (grpc-js's) would start the flow and lose the first chunks. Such
  // streams' small bodies fit in BYTES_PER_STREAM.
  if (stream.readableFlowing) stream.on('data', countData);
  stream.on('close', onStreamClose);
}

/** On 'close' (the session is already gone from the stream then, hence the stream's own tally). */
function onStreamClose(this: TalliedStream): void {
  const tally = this[kTally];
  if (!tally) return;
  this[kTally] = undefined;
  // A stream closed by its session's end was still open when the session ended.
  if (!tally.session.destroyed && --tally.openStreams === 0) tally.idleSince = performance.now();
  if (!this.readableEnded) tally.earlyCloseCredit = Math.min(BYTES_AFTER_EARLY_CLOSE, tally.earlyCloseCredit + BYTES_AFTER_EARLY_CLOSE);
  // Aborted: closed while the answer was still to be written, by a reset (ours set no code).
  if (!this.aborted || this.rstCode === http2.NGHTTP2_NO_ERROR) return;
  tally.peerResets++;
  // Not left to the sweep: one read of 64 KiB holds some 1,500 reset streams, all set up in a row.
  if (tally.peerResets > tally.resetAllowance) tally.cut('rapid_reset');
}

function countData(this: TalliedStream, chunk: Buffer): void {
  const tally = this[kTally];
  if (tally) tally.explainedBytes += chunk.length + BYTES_PER_DATA_CHUNK;
}

/** The decoded size of a header block from node:http2's flat [name, value, ...] list, with BYTES_PER_FIELD for each field. */
export function rawHeaderBytes(rawHeaders: readonly string[]): number {
  let bytes = (rawHeaders.length >> 1) * BYTES_PER_FIELD;
  for (let i = 0; i < rawHeaders.length; i++) bytes += (rawHeaders[i] as string).length;
  return bytes;
}

/** The decoded size of a header block as JS received it, with BYTES_PER_FIELD for each field. */
export function headerBytes(headers: IncomingHttpHeaders): number {
  let bytes = 0;
  for (const name in headers) {
    const value = headers[name];
    if (typeof value === 'string') bytes += name.length + value.length + BYTES_PER_FIELD;
    else if (Array.isArray(value)) for (const item of value) bytes += name.length + item.length + BYTES_PER_FIELD;
  }
  return bytes;
}

function peerOf(socket: Socket | undefined): string {
  return socket ? `${socket.remoteAddress}:${socket.remotePort}` : 'unknown';
}
