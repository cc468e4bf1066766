import { status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import { InvalidVideoError } from '../routing/invalid-video-error.js';
import type { RedirectRouter } from '../routing/redirect-router.js';
import type { Logger } from '../logging/logger.js';
import { truncateForLog } from '../logging/logger.js';
import { decodeRequestVideo, encodeResponse } from './redirect-codec.js';
import { MalformedRequestError } from './malformed-request-error.js';
import type { CallStats } from './call-stats.js';

export const REDIRECT_SERVICE_NAME = 'loadBalancer.loadBalancer';
const REDIRECT_METHOD_PATH = `/${REDIRECT_SERVICE_NAME}/Redirect`;

/**
 * The request reaches the handler as its raw bytes: grpc-js answers INTERNAL when a
 * deserializer throws, and UNIMPLEMENTED when it returns a falsy value (the empty message), but
 * a malformed or empty request is the caller's mistake and must get INVALID_ARGUMENT.
 */
type RawRequest = Buffer;

export const redirectServiceDefinition: ServiceDefinition = {
  Redirect: {
    path: REDIRECT_METHOD_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (request: RawRequest) => request,
    requestDeserialize: (bytes: Buffer): RawRequest => bytes,
    responseSerialize: encodeResponse,
    responseDeserialize: (bytes: Buffer) => bytes,
    originalName: 'redirect',
  },
};

/** The Redirect handler: decodes, routes, answers; a caller's mistake becomes INVALID_ARGUMENT. */
export function createRedirectHandler(router: RedirectRouter, logger: Logger, stats: CallStats | undefined) {
  const debug = logger.isLevelEnabled('debug');
  return function redirect(call: ServerUnaryCall<RawRequest, string>, callback: sendUnaryData<string>): void {
    const startedAt = stats ? performance.now() : 0;
    if (stats) stats.started++;
    let video = '';
    try {
      video = decodeRequestVideo(call.request);
      const answer = router.redirect(video);
      if (debug) logger.debug({ video: truncateForLog(video), redirect: truncateForLog(answer) }, 'redirect');
      stats?.finish(status.OK, (performance.now() - startedAt) / 1000);
      callback(null, answer);
    } catch (error) {
      if (error instanceof InvalidVideoError || error instanceof MalformedRequestError) {
        if (debug) logger.debug({ video: truncateForLog(video), reason: error.message }, 'invalid request');
        stats?.finish(status.INVALID_ARGUMENT, (performance.now() - startedAt) / 1000);
        callback({ code: status.INVALID_ARGUMENT, details: error.message });
        return;
      }
      logger.error({ err: error }, 'redirect failed');
      stats?.finish(status.INTERNAL, (performance.now() - startedAt) / 1000);
      callback({ code: status.INTERNAL, details: 'internal error' });
    }
  };
}
