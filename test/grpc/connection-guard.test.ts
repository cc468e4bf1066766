import t from 'tap';
import { AbusiveConnectionError, CONNECTION_CLOSE_REASONS, reasonFor } from '../../src/grpc/connection-guard.js';

const nghttp2Error = (errno: number, code = 'ERR_HTTP2_ERROR') => Object.assign(new Error('nghttp2'), { errno, code });

t.test('each way node:http2 ends an abusive session maps to one reason', async (t) => {
  t.equal(reasonFor(nghttp2Error(-904)), 'flood');
  t.equal(reasonFor(nghttp2Error(-905)), 'continuation_flood');
  t.equal(reasonFor(nghttp2Error(-505)), 'protocol_error');
  t.equal(reasonFor(nghttp2Error(-903)), 'protocol_error', 'any other nghttp2 error, such as a bad preface');
  t.equal(reasonFor(Object.assign(new Error('too many'), { code: 'ERR_HTTP2_TOO_MANY_INVALID_FRAMES' })), 'invalid_frames');
  t.equal(reasonFor(new AbusiveConnectionError('rejected_headers')), 'rejected_headers');
});

t.test('a peer that resets its TCP connection is no abuse', async (t) => {
  t.equal(reasonFor(Object.assign(new Error('read ECONNRESET'), { errno: -104, code: 'ECONNRESET' })), undefined);
  t.equal(reasonFor(Object.assign(new Error('write EPIPE'), { errno: -32, code: 'EPIPE' })), undefined);
  t.equal(reasonFor(new Error('no errno')), undefined);
});

t.test('every reason is a metric label of its own', async (t) => {
  t.equal(new Set(CONNECTION_CLOSE_REASONS).size, CONNECTION_CLOSE_REASONS.length);
  for (const reason of CONNECTION_CLOSE_REASONS) t.match(reason, /^[a-z_]+$/);
});
