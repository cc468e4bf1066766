import { status } from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { decodeResponseRedirect, encodeRequest } from '../../src/grpc/redirect-codec.js';
import { BAD_VIDEOS } from '../helpers/bad-videos.js';
import { RawClient } from '../helpers/raw-client.js';
import { startService, type ServiceProcess } from '../helpers/service-process.js';

const REDIRECT = '/loadBalancer.loadBalancer/Redirect';
const VALID = 'http://s1.origin-cluster/video/123/xcg2djHckad.m3u8';
const VALID_CDN = 'http://cdn.test/s1/video/123/xcg2djHckad.m3u8';

/** A request message with `video` set to these bytes, which need not be UTF-8. */
function videoBytes(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

interface BadRow {
  readonly name: string;
  readonly message: Buffer;
  readonly code: status;
  readonly details: string | RegExp;
  readonly path?: string;
}

const BAD_ROWS: BadRow[] = [
  ...BAD_VIDEOS.map(([name, video, details]) => ({ name, message: encodeRequest(video), code: status.INVALID_ARGUMENT, details })),
  {
    name: 'invalid UTF-8 in the string',
    message: videoBytes(Buffer.from([0x68, 0x74, 0xff, 0xfe, 0x2f])),
    code: status.INVALID_ARGUMENT,
    details: 'request: field 1 "video" is not valid UTF-8',
  },
  {
    name: 'overlong UTF-8 encoding of "/"',
    message: videoBytes(Buffer.from('http://s1.origin-cluster/a\xc0\xafb', 'latin1')),
    code: status.INVALID_ARGUMENT,
    details: 'request: field 1 "video" is not valid UTF-8',
  },
  {
    name: 'truncated protobuf',
    message: Buffer.from([0x0a, 0x30, 0x68, 0x74]),
    code: status.INVALID_ARGUMENT,
    details: 'request: malformed protobuf (truncated field)',
  },
  {
    name: 'garbage bytes',
    message: Buffer.from([0xff, 0xff, 0xff]),
    code: status.INVALID_ARGUMENT,
    details: 'request: malformed protobuf (truncated varint)',
  },
  {
    name: 'video sent as a number',
    message: Buffer.from([0x08, 0x2a]),
    code: status.INVALID_ARGUMENT,
    details: 'request: malformed protobuf (field 1 "video" must be a string)',
  },
  {
    name: 'message over the 64 KiB limit',
    message: encodeRequest(`http://s1.origin-cluster/${'a'.repeat(65 * 1024)}`),
    code: status.RESOURCE_EXHAUSTED,
    details: /larger than max \(\d+ vs 65536\)/,
  },
  {
    name: 'unknown method',
    path: '/loadBalancer.loadBalancer/Steal',
    message: encodeRequest(VALID),
    code: status.UNIMPLEMENTED,
    details: /Steal/,
  },
  {
    name: 'unknown service',
    path: '/evil.Service/Redirect',
    message: encodeRequest(VALID),
    code: status.UNIMPLEMENTED,
    details: /evil\.Service/,
  },
];

/** Valid but unusual: the exact CDN answer; the origin answer is always the input itself. */
const UNUSUAL_ROWS: Array<[name: string, video: string, cdnAnswer: string]> = [
  ['https', 'https://s1.origin-cluster/v/1.ts', 'http://cdn.test/s1/v/1.ts'],
  ['a port', 'http://s1.origin-cluster:8080/v/1.ts', 'http://cdn.test/s1/v/1.ts'],
  ['upper-case scheme and host', 'HTTP://S1.ORIGIN-CLUSTER/Video/1.TS', 'http://cdn.test/s1/Video/1.TS'],
  ['a query string', 'http://s1.origin-cluster/v/1.m3u8?token=abc%3D&exp=99', 'http://cdn.test/s1/v/1.m3u8?token=abc%3D&exp=99'],
  [';param=', 'http://s1.origin-cluster/v;session=42/1.ts;v=2', 'http://cdn.test/s1/v;session=42/1.ts;v=2'],
  ['%2F in the path', 'http://s1.origin-cluster/v/a%2Fb/1.ts', 'http://cdn.test/s1/v/a%2Fb/1.ts'],
  ['a fragment', 'http://s1.origin-cluster/v/1.ts#t=30', 'http://cdn.test/s1/v/1.ts#t=30'],
  ['percent-encoded CR LF in the path', 'http://s1.origin-cluster/v/%0d%0a1.ts', 'http://cdn.test/s1/v/%0d%0a1.ts'],
  ['unknown extra fields', 'EXTRA', VALID_CDN],
];

/** The same table against both ways Redirect is answered: the hot path and grpc-js's handler. */
for (const hotPath of ['on', 'off'] as const) {
  await t.test(`HOT_PATH=${hotPath}`, async (t) => {
    const service = await startService({ WORKERS: '1', CDN_HOST: 'cdn.test', ORIGIN_EVERY: '2', HOT_PATH: hotPath });
    t.teardown(() => service.stop());
    const client = new RawClient(service.port);
    t.teardown(() => client.close());
    const expectedPath = hotPath === 'on' ? 'hot path' : 'grpc-js';
    t.equal(service.logs.find((l) => l.msg === 'worker listening')?.['redirectPath'], expectedPath, `Redirect is served by ${expectedPath === "grpc-js" ? "grpc-js" : "the hot path"}`);
    await runTable(t, service, client);
  });
}

async function runTable(t: Test, service: ServiceProcess, client: RawClient): Promise<void> {
  /**
   * With ORIGIN_EVERY=2 on one worker, valid calls alternate CDN, origin, CDN, ... A rejected call
   * that used up a slot would break the alternation.
   */
  let validCalls = 0;
  async function expectValid(t: Test, video: string, cdnAnswer: string, message = encodeRequest(video)): Promise<void> {
    validCalls++;
    const expected = validCalls % 2 === 0 ? video : cdnAnswer;
    const result = await client.call(REDIRECT, message);
    t.equal(result.code, status.OK, `valid call ${validCalls} succeeds`);
    t.equal(result.bytes && decodeResponseRedirect(result.bytes), expected, `valid call ${validCalls}: ${validCalls % 2 === 0 ? 'origin' : 'CDN'}`);
  }

  t.test(`${BAD_ROWS.length} kinds of bad input: a clear status, the server keeps serving, the rotation does not move`, async (t) => {
    t.ok(BAD_ROWS.length >= 40, `${BAD_ROWS.length} rows`);
    for (const row of BAD_ROWS) {
      const result = await client.call(row.path ?? REDIRECT, row.message);
      t.equal(status[result.code], status[row.code], `${row.name}: ${status[row.code]}`);
      t.match(result.details, row.details, `${row.name}: says what is wrong`);
      await expectValid(t, VALID, VALID_CDN);
    }
  });

  t.test('valid but unusual input gets the exact answer', async (t) => {
    for (const [name, video, cdnAnswer] of UNUSUAL_ROWS) {
      t.comment(name);
      if (video === 'EXTRA') {
        // Fields 2 (varint) and 15 (bytes) before and after field 1: ignored, as proto3 requires.
        const extra = Buffer.concat([Buffer.from([0x10, 0x07]), encodeRequest(VALID), Buffer.from([0x7a, 0x02, 0x68, 0x69])]);
        await expectValid(t, VALID, cdnAnswer, extra);
      } else {
        await expectValid(t, video, cdnAnswer);
        await expectValid(t, video, cdnAnswer);
      }
    }
  });

  t.test('the worker never crashed', async (t) => {
    t.equal(service.logs.filter((l) => l.msg === 'worker listening').length, 1, 'one worker start only');
    t.notOk(service.logs.some((l) => (l['level'] as number) >= 50), 'no error was logged');
  });
}
