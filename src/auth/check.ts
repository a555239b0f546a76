import type { FailedAuthLimiter } from '../admission/index.ts';
import { ErrorCode, LoupeError } from '../errors.ts';
import { allows, type Access } from './policy.ts';
import type { Principal } from './principal.ts';

/** What a key check needs of the key store. */
export interface KeyVerifier {
  verify(key: string): Promise<Principal | undefined>;
}

/** Longer than any key: a header this long is not one, and is not hashed or looked up. */
const MAX_KEY_LENGTH = 256;

/** A request's credentials, whichever API carried them (HTTP headers, gRPC metadata). */
export interface Presented {
  readonly address: string;
  readonly authorization?: string | undefined;
  readonly apiKey?: string | undefined;
}

/**
 * The key check of every API (HTTP hook, gRPC): the principal of the key a request carries, or
 * a LoupeError — 401 without a valid key (then `challenge` gets the WWW-Authenticate value),
 * 429 instead once its address has failed too often, 503 when the key store cannot be reached
 * (a restart: the key may be fine). A valid key is let through whatever its address did: the
 * limiter slows only what fails (see FailedAuthLimiter for how lookups stay bounded meanwhile).
 * `authorize` then checks its scope.
 */
export async function authenticate(
  keys: KeyVerifier,
  failures: FailedAuthLimiter,
  req: Presented,
  challenge: (value: string) => void = () => undefined,
): Promise<Principal> {
  const blocked = failures.blockedFor(req.address);
  const refuse = (error: LoupeError, header: string) => {
    failures.failed(req.address);
    if (blocked === 0) challenge(header);
    return blocked > 0 ? tooManyFailures(blocked) : error;
  };
  const presented = presentedKey(req);
  if (presented === undefined)
    throw refuse(
      new LoupeError(
        ErrorCode.Unauthorized,
        'an API key is required: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>"',
        { refusal: { kind: 'auth', reason: 'missing' } },
      ),
      'Bearer realm="loupe"',
    );
  const invalid = () =>
    // Never quote the key: error messages are logged.
    refuse(
      new LoupeError(ErrorCode.Unauthorized, 'the API key is not valid (malformed, unknown or revoked)', {
        refusal: { kind: 'auth', reason: 'invalid' },
      }),
      'Bearer realm="loupe", error="invalid_token"',
    );
  if (presented.length > MAX_KEY_LENGTH) throw invalid();
  const slot = blocked > 0 ? failures.lookupSlot(req.address, presented) : () => undefined;
  if (!slot) throw invalid();
  let principal: Principal | undefined;
  try {
    principal = await verify(keys, presented);
  } finally {
    slot();
  }
  if (!principal) throw invalid();
  failures.verified(presented);
  return principal;
}

const tooManyFailures = (retryAfterS: number) =>
  new LoupeError(ErrorCode.RateLimited, 'too many requests without a valid API key from this address', {
    retryAfterS,
    refusal: { kind: 'auth', reason: 'locked_out' },
  });

/** 403 unless the key has a scope `access` accepts; `action` names what it tried (`POST /predict`, `gRPC ModelInfer`). */
export function authorize(principal: Principal, access: Exclude<Access, 'open'>, action: string): void {
  if (!allows(principal.scopes, access))
    throw new LoupeError(
      ErrorCode.Forbidden,
      `API key ${principal.keyId} may not ${action}: it needs the scope ${typeof access === 'string' ? access : access.join(' or ')}`,
      { refusal: { kind: 'auth', reason: 'forbidden' } },
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
