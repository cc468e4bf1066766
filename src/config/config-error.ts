/** An operator's mistake in the environment. Start-up prints the message as one line and exits 1. */
export class ConfigError extends Error {
  readonly code = 'ERR_INVALID_CONFIG';

  constructor(
    readonly variable: string,
    readonly value: string,
    readonly expected: string,
  ) {
    super(`${variable}=${JSON.stringify(value)} is invalid: ${expected}`);
    this.name = 'ConfigError';
  }
}
