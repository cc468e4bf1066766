import { InvalidRequestError } from '../routing/invalid-request-error.js';

/** The request bytes are not a valid `loadBalancer.Request` message. */
export class MalformedRequestError extends InvalidRequestError {
  readonly code = 'ERR_MALFORMED_REQUEST';

  constructor(reason: string) {
    super(`request: ${reason}`);
    this.name = 'MalformedRequestError';
  }
}
