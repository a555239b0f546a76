import { randomUUID } from 'node:crypto';

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id a request is logged and answered under: the client's own (X-Request-Id header, gRPC
 * metadata `x-request-id`) when it is a sane token, so one id follows a request through
 * proxies and gateways; otherwise a new UUID. Both APIs take it from here.
 */
export function requestIdFrom(given: unknown): string {
  const value = Array.isArray(given) ? given[0] : given;
  return typeof value === 'string' && REQUEST_ID_RE.test(value) ? value : randomUUID();
}
