import * as grpc from '@grpc/grpc-js';
import { ErrorCode, LoupeError, grpcStatusOf } from '../errors.ts';

/** Loupe's error for anything a handler throws: a bug becomes INTERNAL, its details masked. */
export function toLoupeError(err: unknown): LoupeError {
  return err instanceof LoupeError ? err : new LoupeError(ErrorCode.Internal, 'internal error', { cause: err });
}

/**
 * The one place where an error becomes a gRPC status: the code from `grpcStatusOf` (next to
 * the HTTP map in src/errors.ts), Loupe's message and the request id in the details, and in
 * the trailers the request id, Loupe's own code (`x-loupe-error-code`, as on HTTP) and, for a
 * refusal to retry, `retry-after` (seconds) and gRPC's `grpc-retry-pushback-ms`.
 */
export function statusOf(e: LoupeError, requestId: string): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  metadata.set('x-loupe-error-code', e.code);
  if (e.retryAfterS !== undefined) {
    metadata.set('retry-after', String(e.retryAfterS));
    metadata.set('grpc-retry-pushback-ms', String(Math.round(e.retryAfterS * 1000)));
  }
  // 5xx-like failures keep their details in the log (under the request id), never on the wire.
  const message = e.code === ErrorCode.Internal ? 'internal error' : e.message;
  return { code: grpcStatusOf[e.code], details: `${message} (request id ${requestId})`, metadata };
}

/** gRPC's name of a status code, for metrics and logs: `OK`, `INVALID_ARGUMENT`, … */
export function codeName(code: number): string {
  return grpc.status[code] ?? String(code);
}
