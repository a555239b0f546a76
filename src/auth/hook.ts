import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, LoupeError } from '../errors.ts';
import { accessFor, allows } from './policy.ts';
import type { Principal } from './principal.ts';

/** What the hook needs of the key store. */
export interface KeyVerifier {
  verify(key: string): Promise<Principal | undefined>;
}

/** Longer than any key: a header this long is not one, and is not hashed or looked up. */
const MAX_KEY_LENGTH = 256;

/**
 * Decorates requests with `principal` and, when `keys` is given (auth on), checks the API key
 * of every request to a route that needs one: 401 without a valid key, 403 without the scope.
 * It runs in onRequest, before the body is read, so a refused upload costs nothing.
 */
export function registerAuth(app: FastifyInstance, keys: KeyVerifier | undefined): void {
  app.decorateRequest('principal', undefined);
  if (keys) app.addHook('onRequest', authHook(keys));
}

export function authHook(keys: KeyVerifier) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const route = req.routeOptions.url;
    const access = accessFor(req.method, route);
    if (access === 'open') return;
    const presented = presentedKey(req);
    if (presented === undefined) {
      reply.header('www-authenticate', 'Bearer realm="loupe"');
      throw new LoupeError(
        ErrorCode.Unauthorized,
        'an API key is required: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>"',
      );
    }
    const principal = presented.length <= MAX_KEY_LENGTH ? await verify(keys, presented) : undefined;
    if (!principal) {
      reply.header('www-authenticate', 'Bearer realm="loupe", error="invalid_token"');
      // Never quote the key: error messages are logged.
      throw new LoupeError(ErrorCode.Unauthorized, 'the API key is not valid (malformed, unknown or revoked)');
    }
    req.principal = principal;
    if (!allows(principal.scopes, access))
      throw new LoupeError(
        ErrorCode.Forbidden,
        `API key ${principal.keyId} may not ${req.method} ${route}: it needs the scope ${typeof access === 'string' ? access : access.join(' or ')}`,
      );
  };
}

/** A database that cannot be reached (a restart) is a 503 to retry, not a 500: the key may be fine. */
async function verify(keys: KeyVerifier, key: string): Promise<Principal | undefined> {
  try {
    return await keys.verify(key);
  } catch (err) {
    throw new LoupeError(ErrorCode.NotReady, 'API keys cannot be checked right now; try again', {
      retryAfterS: 1,
      cause: err,
    });
  }
}

/** The key from `Authorization: Bearer <key>` or, failing that, `X-API-Key: <key>`. */
function presentedKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const header = req.headers['x-api-key'];
  const key = Array.isArray(header) ? header[0] : header;
  return key?.trim() || undefined;
}
