import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '../auth/index.ts'; // req.principal
import type { Config } from '../config/index.ts';
import { ErrorCode, LoupeError } from '../errors.ts';

/** Routes no client limit applies to: probes, metrics and the docs. */
const UNLIMITED = /^\/(livez|readyz|metrics|openapi\.json|docs(\/.*)?|v2\/health\/(live|ready))$/;

/** Routes that run inference: a client may have only so many of these in flight at once. */
const INFERENCE = new Set([
  '/predict',
  '/jobs',
  '/v2/models/:model/infer',
  '/v2/models/:model/versions/:version/infer',
]);

/** Who a request counts against: its API key when it has one, else its address. */
export const clientOf = (req: FastifyRequest): string =>
  req.principal ? `key:${req.principal.keyId}` : `ip:${req.ip}`;

/**
 * Per-client limits, so one client cannot starve the others: a request rate (429 with
 * Retry-After and RateLimit headers, @fastify/rate-limit) and a cap on concurrent inference
 * requests (429 too). Both are counted in this process: with N gateway replicas a client gets
 * up to N times the rate. Must be registered after the auth hook and before the routes.
 */
export async function registerClientLimits(app: FastifyInstance, config: Config): Promise<void> {
  const retryAfterS = config.LOUPE_RETRY_AFTER_S;
  if (config.LOUPE_RATE_LIMIT_PER_MINUTE > 0) {
    await app.register(rateLimit, {
      global: true,
      max: config.LOUPE_RATE_LIMIT_PER_MINUTE,
      timeWindow: 60_000,
      keyGenerator: clientOf,
      allowList: (req) => UNLIMITED.test(req.routeOptions.url ?? ''),
      errorResponseBuilder: (_req, ctx) =>
        new LoupeError(
          ErrorCode.RateLimited,
          `rate limit of ${ctx.max} requests per minute reached; retry in ${ctx.after}`,
          {
            retryAfterS: Math.max(1, Math.ceil(ctx.ttl / 1000)),
          },
        ),
    });
  }
  const cap = config.LOUPE_MAX_INFLIGHT_PER_CLIENT;
  if (cap <= 0) return;
  const inFlight = new Map<string, number>();
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!INFERENCE.has(req.routeOptions.url ?? '') || req.method !== 'POST') return;
    const client = clientOf(req);
    const n = inFlight.get(client) ?? 0;
    if (n >= cap) {
      throw new LoupeError(ErrorCode.RateLimited, `at most ${cap} inference requests in flight per client`, {
        retryAfterS,
      });
    }
    inFlight.set(client, n + 1);
    // 'close' fires once however the exchange ends: answered, failed or aborted by the client.
    reply.raw.once('close', () => {
      const left = (inFlight.get(client) ?? 1) - 1;
      if (left > 0) inFlight.set(client, left);
      else inFlight.delete(client);
    });
  });
}
