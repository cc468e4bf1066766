import { status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import { INTERNAL_FAILURE_MESSAGE, RedirectFailures } from '../edge/redirect-failure.js';
import { describeViewer } from '../edge/viewer-address.js';
import type { RedirectRouter } from '../routing/redirect-router.js';
import type { Viewer } from '../routing/viewer.js';
import type { Logger } from '../logging/logger.js';
import { truncateForLog } from '../logging/logger.js';
import { decodeRequestVideo, encodeResponse } from './redirect-codec.js';
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
 * Decodes a request and routes it: the one piece both ways into the service share (grpc-js's
 * handler and the hot path), so that they answer and log alike. A caller's mistake becomes
 * INVALID_ARGUMENT. The outcome object is reused: read it at once. Each way counts and times its
 * calls itself, from their stream's arrival.
 */
export type RedirectResolver = (request: Uint8Array, viewer?: Viewer) => RedirectOutcome;

export function createRedirectResolver(router: Pick<RedirectRouter, 'redirect' | 'rule' | 'lastDecision' | 'lastPool'>, logger: Logger): RedirectResolver {
  const debug = logger.isLevelEnabled('debug');
  const failures = new RedirectFailures(logger);
  const outcome = { code: status.OK, text: '' };
  return function resolveRedirect(request, viewer) {
    let video = '';
    try {
      video = decodeRequestVideo(request);
      outcome.text = router.redirect(video, viewer);
      outcome.code = status.OK;
      if (debug) logger.debug({ video: truncateForLog(video), redirect: truncateForLog(outcome.text), ...describeViewer(router, viewer, outcome.text !== video) }, 'redirect');
    } catch (error) {
      const mistake = failures.callersMistake(error, 'grpc');
      if (mistake !== undefined) {
        if (debug) logger.debug({ video: truncateForLog(video), reason: mistake }, 'invalid request');
        outcome.code = status.INVALID_ARGUMENT;
        outcome.text = mistake;
      } else {
        outcome.code = status.INTERNAL;
        outcome.text = INTERNAL_FAILURE_MESSAGE;
      }
    }
    return outcome;
  };
}

/**
 * The Redirect handler grpc-js calls (HOT_PATH=off, tracing, or a hot path that did not engage).
 * It counts how calls end; GrpcServer times them from their stream's arrival.
 */
export function createRedirectHandler(resolve: RedirectResolver, stats: CallStats | undefined, viewerOfCall: (call: ServerUnaryCall<RawRequest, string>) => Viewer | undefined = () => undefined) {
  return function redirect(call: ServerUnaryCall<RawRequest, string>, callback: sendUnaryData<string>): void {
    const { code, text } = resolve(call.request, viewerOfCall(call));
    stats?.count(code);
    if (code === status.OK) callback(null, text);
    else callback({ code, details: text });
  };
}
