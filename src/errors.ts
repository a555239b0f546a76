/** Every error code Loupe answers with. The HTTP and gRPC statuses live in the maps below, applied at the edge. */
export const ErrorCode = {
  BadRequest: 'BAD_REQUEST',
  Unauthorized: 'UNAUTHORIZED',
  Forbidden: 'FORBIDDEN',
  EmptyBody: 'EMPTY_BODY',
  MissingFile: 'MISSING_FILE',
  InvalidImage: 'INVALID_IMAGE',
  UnsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  TooManyImages: 'TOO_MANY_IMAGES',
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
  ModelControlDisabled: 'MODEL_CONTROL_DISABLED',
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
  TOO_MANY_IMAGES: 413,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  MODEL_NOT_FOUND: 404,
  NOT_FOUND: 404,
  OVERLOADED: 503,
  NOT_READY: 503,
  MODEL_CONTROL_DISABLED: 400, // as Triton answers a load/unload its control mode does not allow
  INTERNAL: 500,
};

/**
 * The same codes as gRPC status codes (numbers, so this file needs no gRPC import): what
 * `src/grpc/` answers, mapped as Triton maps its own errors — a full queue or a server not
 * ready is UNAVAILABLE (clients retry it), a client over its limits RESOURCE_EXHAUSTED.
 */
export const grpcStatusOf: Readonly<Record<ErrorCode, number>> = {
  BAD_REQUEST: 3, // INVALID_ARGUMENT
  UNAUTHORIZED: 16, // UNAUTHENTICATED
  FORBIDDEN: 7, // PERMISSION_DENIED
  EMPTY_BODY: 3,
  MISSING_FILE: 3,
  INVALID_TENSOR: 3,
  INVALID_IMAGE: 3,
  IMAGE_TOO_LARGE: 3,
  UNSUPPORTED_MEDIA_TYPE: 3,
  PAYLOAD_TOO_LARGE: 8, // RESOURCE_EXHAUSTED, as gRPC answers a message over its limit
  TOO_MANY_IMAGES: 8,
  HEADERS_TOO_LARGE: 8,
  REQUEST_TIMEOUT: 4, // DEADLINE_EXCEEDED
  IDEMPOTENCY_KEY_REUSED: 3,
  RATE_LIMITED: 8, // RESOURCE_EXHAUSTED
  MODEL_NOT_FOUND: 5, // NOT_FOUND
  NOT_FOUND: 5,
  OVERLOADED: 14, // UNAVAILABLE
  NOT_READY: 14,
  MODEL_CONTROL_DISABLED: 9, // FAILED_PRECONDITION: the server's mode, not the request, is why
  INTERNAL: 13, // INTERNAL
};

/**
 * How loudly a request answered with this code is logged, on every transport: only a fault of
 * the server (INTERNAL) is an error, logged with its stack; a refusal under load (429, 503) is
 * a warn, expected and without a stack; any other client error is info.
 */
export function logLevelOf(code: ErrorCode): 'error' | 'warn' | 'info' {
  if (code === ErrorCode.Internal) return 'error';
  if (code === ErrorCode.Overloaded || code === ErrorCode.NotReady || code === ErrorCode.RateLimited) return 'warn';
  return 'info';
}

/** Invisible or line-breaking characters JSON.stringify leaves as they are. */
const INVISIBLE = /[\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

/**
 * A name a client sent (model, version, tensor, field, file), as an error message quotes it:
 * in double quotes, escaped as JSON escapes it (plus invisible and bidi characters), cut to
 * `max` characters. An error message is shown to people and written to logs; what a client
 * typed must never reach them raw (terminal escapes, fake log lines, a megabyte of name).
 */
export function quoted(text: unknown, max = 64): string {
  const chars = [...String(text)];
  const head = chars.length > max ? chars.slice(0, max).join('') : String(text);
  const q = JSON.stringify(head).replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return chars.length > max ? `${q}… (${chars.length} characters)` : q;
}

/**
 * Why a request was refused before it was served, for the refusal counters each transport
 * moves once when the request ends (loupe_auth_failures_total, loupe_admission_refusals_total):
 * the code alone cannot tell a client's rate limit from its in-flight cap or a locked-out address.
 */
export type Refusal =
  | { readonly kind: 'auth'; readonly reason: AuthFailure }
  | { readonly kind: 'admission'; readonly reason: AdmissionRefusal };
export const AUTH_FAILURES = ['missing', 'invalid', 'forbidden', 'locked_out'] as const;
export type AuthFailure = (typeof AUTH_FAILURES)[number];
export const ADMISSION_REFUSALS = [
  'rate_limit',
  'in_flight',
  'upload_share',
  'upload_budget',
  'rate_floor',
  'queue_full',
] as const;
export type AdmissionRefusal = (typeof ADMISSION_REFUSALS)[number];

export class LoupeError extends Error {
  override name = 'LoupeError';
  readonly code: ErrorCode;
  /** Seconds a client should wait before retrying (sent as Retry-After). */
  readonly retryAfterS: number | undefined;
  /** Set where auth or admission refuses a request; counted by the transport that answers it. */
  readonly refusal: Refusal | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { retryAfterS?: number; cause?: unknown; refusal?: Refusal } = {},
  ) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.retryAfterS = opts.retryAfterS;
    this.refusal = opts.refusal;
  }
}

/**
 * A reason the process cannot start (bad configuration, no GPU where one is required): the
 * CLI prints its message as one line and exits 1, without a stack trace.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** Invalid configuration: the process exits 1 with this one line. */
export class ConfigError extends StartupError {
  override name = 'ConfigError';
}
