import t from 'tap';
import { decodeRequestVideo, decodeResponseRedirect, encodeRequest, encodeResponse } from '../../src/grpc/redirect-codec.js';
import { MalformedRequestError } from '../../src/grpc/malformed-request-error.js';

const bytes = (...values: number[]) => Buffer.from(values);

t.test('encodes the one string field like protobuf does', async (t) => {
  t.same([...encodeResponse('ab')], [0x0a, 0x02, 0x61, 0x62]);
  t.equal(encodeResponse('').length, 0, 'the empty string is the empty message');
  const long = 'x'.repeat(300);
  t.same([...encodeResponse(long).subarray(0, 3)], [0x0a, 0xac, 0x02], 'a two-byte length varint');
  t.equal(decodeResponseRedirect(encodeResponse(long)), long);
  t.equal(decodeRequestVideo(encodeRequest('é/ü')), 'é/ü', 'UTF-8 survives the round trip');
});

t.test('decodes requests', async (t) => {
  t.equal(decodeRequestVideo(bytes()), '', 'empty message: empty video');
  t.equal(decodeRequestVideo(bytes(0x0a, 0x01, 0x41)), 'A');
  t.equal(decodeRequestVideo(Uint8Array.of(0x0a, 0x01, 0x42)), 'B', 'accepts a plain Uint8Array');
  t.equal(decodeRequestVideo(bytes(0x0a, 0x01, 0x41, 0x0a, 0x01, 0x42)), 'B', 'the last occurrence wins');
});

t.test('skips unknown fields of every wire type', async (t) => {
  const message = bytes(
    0x10, 0x96, 0x01, // field 2 varint 150
    0x19, 1, 2, 3, 4, 5, 6, 7, 8, // field 3 fixed64
    0x25, 1, 2, 3, 4, // field 4 fixed32
    0x2a, 0x02, 0x68, 0x69, // field 5 bytes
    0x0a, 0x01, 0x5a, // field 1
  );
  t.equal(decodeRequestVideo(message), 'Z');
});

t.test('refuses malformed messages', async (t) => {
  const rows: Array<[string, Buffer, RegExp]> = [
    ['truncated length', bytes(0x0a, 0x05, 0x41), /truncated field/],
    ['truncated varint', bytes(0x0a, 0x80), /truncated varint/],
    ['varint tag never ends', bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), /truncated varint/],
    ['field number 0', bytes(0x02, 0x00), /field number 0/],
    ['video as a varint', bytes(0x08, 0x01), /must be a string/],
    ['group wire type', bytes(0x13), /unsupported wire type 3/],
    ['truncated fixed64', bytes(0x19, 1, 2), /truncated field/],
    ['invalid UTF-8', bytes(0x0a, 0x02, 0xc3, 0x28), /not valid UTF-8/],
  ];
  for (const [name, message, expected] of rows) {
    t.throws(() => decodeRequestVideo(message), MalformedRequestError, name);
    t.throws(() => decodeRequestVideo(message), expected, `${name}: message`);
  }
});

t.test('caps absurd varints instead of overflowing', async (t) => {
  const hugeLength = bytes(0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
  t.throws(() => decodeRequestVideo(hugeLength), /truncated field/);
});
