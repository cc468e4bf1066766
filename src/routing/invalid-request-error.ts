/**
 * The caller's mistake: what it sent cannot be answered. The message is meant for the caller and
 * says what is wrong; each edge answers it with its own "bad request" (gRPC INVALID_ARGUMENT,
 * HTTP 400). Anything else thrown while answering is the service's own failure.
 */
export class InvalidRequestError extends Error {}
