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
 * Failed authentications one address may cause per minute before it gets 429 without a key
 * lookup: requests without a valid key are refused before the per-client limits count them,
 * so this is what stops one client from flooding the key store with made-up keys.
 */
export class FailedAuthLimiter {
  private readonly perMinute: number;
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(perMinute = 120) {
    this.perMinute = perMinute;
  }

  /** Seconds until the address may try again, or 0 when it may now. */
  blockedFor(address: string, now = Date.now()): number {
    const w = this.windows.get(address);
    if (!w || now - w.start >= 60_000 || w.count < this.perMinute) return 0;
    return Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000));
  }

  failed(address: string, now = Date.now()): void {
    const w = this.windows.get(address);
    if (w && now - w.start < 60_000) {
      w.count++;
      return;
    }
    // Bounded: past 10,000 addresses, windows that have ended are dropped, then all of them.
    if (this.windows.size >= 10_000) {
      for (const [a, x] of this.windows) if (now - x.start >= 60_000) this.windows.delete(a);
      if (this.windows.size >= 10_000) this.windows.clear();
    }
    this.windows.set(address, { start: now, count: 1 });
  }
}

/**
 * Decorates requests with `principal` and, when `keys` is given (auth on), checks the API key
 * of every request to a route that needs one: 401 without a valid key, 403 without the scope.
 * It runs in onRequest, before the body is read, so a refused upload costs nothing.
 */
export function registerAuth(app: FastifyInstance, keys: KeyVerifier | undefined): void {
  app.decorateRequest('principal', undefined);
  if (keys) app.addHook('onRequest', authHook(keys));
}

export function authHook(keys: KeyVerifier, failures = new FailedAuthLimiter()) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const route = req.routeOptions.url;
    const access = accessFor(req.method, route);
    if (access === 'open') return;
    const wait = failures.blockedFor(req.ip);
    if (wait > 0) {
      throw new LoupeError(ErrorCode.RateLimited, 'too many requests without a valid API key from this address', {
        retryAfterS: wait,
      });
    }
    const presented = presentedKey(req);
    if (presented === undefined) {
      failures.failed(req.ip);
      reply.header('www-authenticate', 'Bearer realm="loupe"');
      throw new LoupeError(
        ErrorCode.Unauthorized,
        'an API key is required: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>"',
      );
    }
    const principal = presented.length <= MAX_KEY_LENGTH ? await verify(keys, presented) : undefined;
    if (!principal) {
      failures.failed(req.ip);
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
