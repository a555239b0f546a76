import { ErrorCode, LoupeError } from '../errors.ts';
import { allows, type Access } from './policy.ts';
import type { Principal } from './principal.ts';

/** What a key check needs of the key store. */
export interface KeyVerifier {
  verify(key: string): Promise<Principal | undefined>;
}

/** Longer than any key: a header this long is not one, and is not hashed or looked up. */
const MAX_KEY_LENGTH = 256;

/**
 * Failed authentications one address may cause per minute before it gets 429 without a key
 * lookup: requests without a valid key are refused before the per-client limits count them,
 * so this is what stops one client from flooding the key store with made-up keys. One per
 * process, shared by the HTTP and gRPC APIs.
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

/** A request's credentials, whichever API carried them (HTTP headers, gRPC metadata). */
export interface Presented {
  readonly address: string;
  readonly authorization?: string | undefined;
  readonly apiKey?: string | undefined;
}

/**
 * The key check of every API (HTTP hook, gRPC): the principal of the key a request carries, or
 * a LoupeError — 429 when its address failed too often (before any lookup), 401 without a
 * valid key (then `challenge` gets the WWW-Authenticate value), 503 when the key store cannot
 * be reached (a restart: the key may be fine). `authorize` then checks its scope.
 */
export async function authenticate(
  keys: KeyVerifier,
  failures: FailedAuthLimiter,
  req: Presented,
  challenge: (value: string) => void = () => undefined,
): Promise<Principal> {
  const wait = failures.blockedFor(req.address);
  if (wait > 0) {
    throw new LoupeError(ErrorCode.RateLimited, 'too many requests without a valid API key from this address', {
      retryAfterS: wait,
    });
  }
  const presented = presentedKey(req);
  if (presented === undefined) {
    failures.failed(req.address);
    challenge('Bearer realm="loupe"');
    throw new LoupeError(
      ErrorCode.Unauthorized,
      'an API key is required: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>"',
    );
  }
  const principal = presented.length <= MAX_KEY_LENGTH ? await verify(keys, presented) : undefined;
  if (!principal) {
    failures.failed(req.address);
    challenge('Bearer realm="loupe", error="invalid_token"');
    // Never quote the key: error messages are logged.
    throw new LoupeError(ErrorCode.Unauthorized, 'the API key is not valid (malformed, unknown or revoked)');
  }
  return principal;
}

/** 403 unless the key has a scope `access` accepts; `action` names what it tried (`POST /predict`, `gRPC ModelInfer`). */
export function authorize(principal: Principal, access: Exclude<Access, 'open'>, action: string): void {
  if (!allows(principal.scopes, access))
    throw new LoupeError(
      ErrorCode.Forbidden,
      `API key ${principal.keyId} may not ${action}: it needs the scope ${typeof access === 'string' ? access : access.join(' or ')}`,
    );
}

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
function presentedKey(req: Presented): string | undefined {
  if (req.authorization !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.authorization);
    if (m) return m[1];
  }
  return req.apiKey?.trim() || undefined;
}
