import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '../auth/index.ts'; // req.principal
import { clientKey, rateLimited, type ClientLimits } from '../admission/index.ts';

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
export const clientOf = (req: FastifyRequest): string => clientKey(req.principal?.keyId, req.ip);

/**
 * Per-client limits, so one client cannot starve the others: a request rate (429 with
 * Retry-After and RateLimit headers, @fastify/rate-limit counting in `limits`) and a cap on
 * concurrent inference requests (429 too). `limits` may be shared with the gRPC API, so a
 * client has one allowance whichever it calls. Must be registered after the auth hook and
 * before the routes.
 */
export async function registerClientLimits(app: FastifyInstance, limits: ClientLimits): Promise<void> {
  if (limits.perMinute > 0) {
    await app.register(rateLimit, {
      global: true,
      max: limits.perMinute,
      timeWindow: 60_000,
      // A constructor that returns the shared store: the plugin counts where gRPC does.
      store: function SharedStore() {
        return limits.rateStore;
      } as unknown as FastifyRateLimitStoreCtor,
      keyGenerator: clientOf,
      allowList: (req) => UNLIMITED.test(req.routeOptions.url ?? ''),
      errorResponseBuilder: (_req, ctx) => rateLimited(ctx.max, ctx.ttl),
    });
  }
  if (limits.maxInFlight <= 0) return;
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!INFERENCE.has(req.routeOptions.url ?? '') || req.method !== 'POST') return;
    const release = limits.enter(clientOf(req));
    // 'close' fires once however the exchange ends: answered, failed or aborted by the client.
    reply.raw.once('close', release);
  });
}
