import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FailedAuthLimiter } from '../admission/index.ts';
import { authenticate, authorize, type KeyVerifier } from './check.ts';
import { accessFor } from './policy.ts';

export { type KeyVerifier } from './check.ts';

/**
 * Decorates requests with `principal` and, when `keys` is given (auth on), checks the API key
 * of every request to a route that needs one: 401 without a valid key, 403 without the scope.
 * It runs in onRequest, before the body is read, so a refused upload costs nothing.
 */
export function registerAuth(
  app: FastifyInstance,
  keys: KeyVerifier | undefined,
  failures: FailedAuthLimiter = new FailedAuthLimiter(),
): void {
  app.decorateRequest('principal', undefined);
  if (keys) app.addHook('onRequest', authHook(keys, failures));
}

export function authHook(keys: KeyVerifier, failures = new FailedAuthLimiter()) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const route = req.routeOptions.url;
    const access = accessFor(req.method, route);
    if (access === 'open') return;
    const header = req.headers['x-api-key'];
    const presented = {
      address: req.ip,
      authorization: req.headers.authorization,
      apiKey: Array.isArray(header) ? header[0] : header,
    };
    // Set before the scope check, so a 403's log line names the key.
    req.principal = await authenticate(keys, failures, presented, (value) => reply.header('www-authenticate', value));
    authorize(req.principal, access, `${req.method} ${route}`);
  };
}
