import { status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import { InvalidVideoError } from '../routing/invalid-video-error.js';
import type { RedirectRouter } from '../routing/redirect-router.js';
import type { Logger } from '../logging/logger.js';
import { truncateForLog } from '../logging/logger.js';
import { decodeRequestVideo, encodeResponse } from './redirect-codec.js';
import { MalformedRequestError } from './malformed-request-error.js';
import type { CallStats } from './call-stats.js';

export const REDIRECT_SERVICE_NAME = 'loadBalancer.loadBalancer';
export const REDIRECT_METHOD_PATH = `/${REDIRECT_SERVICE_NAME}/Redirect`;

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

/** How one Redirect call ends: `text` is the answer when `code` is OK, else the message for the caller. */
export interface RedirectOutcome {
  readonly code: status;
  readonly text: string;
}

/**
 * Decodes a request, routes it and counts the call: the one piece both ways into the service
 * share (grpc-js's handler and the hot path), so that they answer, log and count alike. A
 * caller's mistake becomes INVALID_ARGUMENT. The outcome object is reused: read it at once.
 */
export type RedirectResolver = (request: Uint8Array, startedAt: number) => RedirectOutcome;

export function createRedirectResolver(router: RedirectRouter, logger: Logger, stats: CallStats | undefined): RedirectResolver {
  const debug = logger.isLevelEnabled('debug');
  const outcome = { code: status.OK, text: '' };
  return function resolveRedirect(request, startedAt) {
    if (stats) stats.started++;
    let video = '';
    try {
      video = decodeRequestVideo(request);
      outcome.text = router.redirect(video);
      outcome.code = status.OK;
      if (debug) logger.debug({ video: truncateForLog(video), redirect: truncateForLog(outcome.text) }, 'redirect');
    } catch (error) {
      if (error instanceof InvalidVideoError || error instanceof MalformedRequestError) {
        if (debug) logger.debug({ video: truncateForLog(video), reason: error.message }, 'invalid request');
        outcome.code = status.INVALID_ARGUMENT;
        outcome.text = error.message;
      } else {
        logger.error({ err: error }, 'redirect failed');
        outcome.code = status.INTERNAL;
        outcome.text = 'internal error';
      }
    }
    stats?.finish(outcome.code, (performance.now() - startedAt) / 1000);
    return outcome;
  };
}

/** The Redirect handler grpc-js calls (HOT_PATH=off, tracing, or a hot path that did not engage). */
export function createRedirectHandler(resolve: RedirectResolver, stats: CallStats | undefined) {
  return function redirect(call: ServerUnaryCall<RawRequest, string>, callback: sendUnaryData<string>): void {
    const { code, text } = resolve(call.request, stats ? performance.now() : 0);
    if (code === status.OK) callback(null, text);
    else callback({ code, details: text });
  };
}
