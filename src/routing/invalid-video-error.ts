import { InvalidRequestError } from './invalid-request-error.js';

/**
 * A caller sent a `video` value the rule refuses. The message is meant for the caller: it starts
 * with the field name and says what is wrong, e.g. `video: scheme must be http or https`.
 */
export class InvalidVideoError extends InvalidRequestError {
  readonly code = 'ERR_INVALID_VIDEO';

  constructor(reason: string) {
    super(`video: ${reason}`);
    this.name = 'InvalidVideoError';
  }
}
