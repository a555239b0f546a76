/** Every error code Loupe answers with. The HTTP status lives in one map, applied at the edge. */
export const ErrorCode = {
  BadRequest: 'BAD_REQUEST',
  Unauthorized: 'UNAUTHORIZED',
  Forbidden: 'FORBIDDEN',
  EmptyBody: 'EMPTY_BODY',
  MissingFile: 'MISSING_FILE',
  InvalidImage: 'INVALID_IMAGE',
  UnsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  HeadersTooLarge: 'HEADERS_TOO_LARGE',
  RequestTimeout: 'REQUEST_TIMEOUT',
  IdempotencyKeyReused: 'IDEMPOTENCY_KEY_REUSED',
  RateLimited: 'RATE_LIMITED',
  ImageTooLarge: 'IMAGE_TOO_LARGE',
  ModelNotFound: 'MODEL_NOT_FOUND',
  NotFound: 'NOT_FOUND',
  InvalidTensor: 'INVALID_TENSOR',
  Overloaded: 'OVERLOADED',
  NotReady: 'NOT_READY',
  Internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const httpStatusOf: Readonly<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  EMPTY_BODY: 400,
  MISSING_FILE: 400,
  INVALID_TENSOR: 400,
  INVALID_IMAGE: 422,
  IMAGE_TOO_LARGE: 422,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  MODEL_NOT_FOUND: 404,
  NOT_FOUND: 404,
  OVERLOADED: 503,
  NOT_READY: 503,
  INTERNAL: 500,
};

export class LoupeError extends Error {
  override name = 'LoupeError';
  readonly code: ErrorCode;
  /** Seconds a client should wait before retrying (sent as Retry-After). */
  readonly retryAfterS: number | undefined;

  constructor(code: ErrorCode, message: string, opts: { retryAfterS?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.retryAfterS = opts.retryAfterS;
  }
}

/**
 * A reason the process cannot start (bad configuration, no GPU where one is required): the
 * CLI prints its message as one line and exits 1, without a stack trace.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
