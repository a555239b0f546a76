import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, LoupeError, httpStatusOf } from '../errors.ts';
import { NAME_TOO_LONG } from '../inference/index.ts';

/** Fastify's and its plugins' error codes, in Loupe's vocabulary. */
const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ErrorCode.PayloadTooLarge,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ErrorCode.UnsupportedMediaType,
  FST_ERR_CTP_EMPTY_JSON_BODY: ErrorCode.EmptyBody,
  FST_ERR_CTP_INVALID_JSON_BODY: ErrorCode.BadRequest,
};

const URL_ERRORS: Record<string, string> = {
  // Past MAX_PARAM_LENGTH (app.ts), which only a name longer than any model's can reach.
  FST_ERR_MAX_PARAM_LENGTH: NAME_TOO_LONG,
  FST_ERR_BAD_URL: 'the URL path holds an invalid %-escape',
};

export function toLoupeError(err: FastifyError | Error): LoupeError {
  if (err instanceof LoupeError) return err;
  const fe = err as FastifyError;
  if (fe.validation)
    return new LoupeError(
      ErrorCode.BadRequest,
      `${fe.validationContext ?? 'request'}${fe.validation[0]?.instancePath ?? ''} ${fe.validation[0]?.message ?? 'is invalid'}`.trim(),
      { cause: err },
    );
  // Fastify's text quotes the whole decoded path, raw bytes included: say what is wrong instead.
  const path = URL_ERRORS[fe.code ?? ''];
  if (path) return new LoupeError(ErrorCode.BadRequest, path, { cause: err });
  const mapped = fe.code ? FRAMEWORK_CODES[fe.code] : undefined;
  if (mapped) return new LoupeError(mapped, fe.message, { cause: err });
  // busboy reports malformed multipart bodies as plain errors
  if (/multipart|boundary|unexpected end of form|malformed part header/i.test(fe.message))
    return new LoupeError(ErrorCode.BadRequest, `malformed multipart body: ${fe.message}`, { cause: err });
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500)
    return new LoupeError(ErrorCode.BadRequest, fe.message, { cause: err });
  return new LoupeError(ErrorCode.Internal, 'internal error', { cause: err });
}

/**
 * The one place where an error becomes an HTTP answer; 5xx details are logged, never sent.
 * `extra` adds fields to the body (a gateway's per-replica report of a failed model control).
 */
export function sendError(
  err: FastifyError | Error,
  req: FastifyRequest,
  reply: FastifyReply,
  extra: Readonly<Record<string, unknown>> = {},
): FastifyReply {
  const e = toLoupeError(err);
  const status = httpStatusOf[e.code];
  req.loupeError = { error: e, original: err }; // logged once, with the response
  if (e.retryAfterS !== undefined) reply.header('retry-after', String(e.retryAfterS));
  // Lets a gateway re-raise a model server's error with its exact code (OIP bodies carry none).
  reply.header('x-loupe-error-code', e.code);
  reply.code(status);
  if (isOipRoute(req)) return reply.send({ ...extra, error: e.message });
  return reply.send({ ...extra, error: { code: e.code, message: e.message, request_id: req.id } });
}

function isOipRoute(req: FastifyRequest): boolean {
  return req.url === '/v2' || req.url.startsWith('/v2/') || req.url.startsWith('/v2?');
}
