import { ErrorCode, LoupeError } from '../errors.ts';
import { MinuteWindows } from './windows.ts';

/** What @fastify/rate-limit asks of a store; `limits.rateStore` is one, so HTTP counts here too. */
export interface RateStore {
  incr(key: string, cb: (err: Error | null, res: { current: number; ttl: number }) => void): void;
  child(): RateStore;
}

/** What the role fills from LOUPE_RATE_LIMIT_PER_MINUTE, LOUPE_MAX_INFLIGHT_PER_CLIENT, LOUPE_RETRY_AFTER_S. */
export interface ClientLimitOptions {
  /** Requests per one-minute window; 0: no rate limit. */
  readonly perMinute: number;
  /** Inference requests in flight at once; 0: no cap. */
  readonly maxInFlight: number;
  readonly retryAfterS: number;
}

/** Clients remembered at once; past it, ended windows are dropped, then all (memory stays bounded). */
const MAX_CLIENTS = 10_000;

/**
 * Per-client limits of one process, shared by its HTTP and gRPC APIs so a client gets one
 * allowance whichever it calls: LOUPE_RATE_LIMIT_PER_MINUTE requests per fixed one-minute
 * window, and LOUPE_MAX_INFLIGHT_PER_CLIENT inference requests in flight at once. A client is
 * its API key when it has one, else its address (`clientKey`). With N gateway replicas a
 * client gets up to N times the rate.
 */
export class ClientLimits {
  readonly perMinute: number;
  readonly maxInFlight: number;
  readonly retryAfterS: number;
  private readonly windows = new MinuteWindows(MAX_CLIENTS);
  private readonly inFlight = new Map<string, number>();
  readonly rateStore: RateStore;

  constructor(opts: ClientLimitOptions) {
    this.perMinute = opts.perMinute;
    this.maxInFlight = opts.maxInFlight;
    this.retryAfterS = opts.retryAfterS;
    const store: RateStore = {
      incr: (key, cb) => cb(null, this.hit(key)),
      child: () => store,
    };
    this.rateStore = store;
  }

  /** Counts one request of `client`: how many it has made in this window, and ms until the window ends. */
  hit(client: string, now = Date.now()): { current: number; ttl: number } {
    const { count, ttl } = this.windows.hit(client, now);
    return { current: count, ttl };
  }

  /** Counts one request and throws RATE_LIMITED (with Retry-After) when it is over the rate. */
  count(client: string, now = Date.now()): void {
    if (this.perMinute <= 0) return;
    const { current, ttl } = this.hit(client, now);
    if (current > this.perMinute) throw rateLimited(this.perMinute, ttl);
  }

  /** The client's inference requests in flight now (what `enter` has handed out and not had back). */
  inFlightOf(client: string): number {
    return this.inFlight.get(client) ?? 0;
  }

  /** Takes one of the client's in-flight places (RATE_LIMITED when none is free); call the result once it ends. */
  enter(client: string): () => void {
    const cap = this.maxInFlight;
    if (cap <= 0) return () => undefined;
    const n = this.inFlight.get(client) ?? 0;
    if (n >= cap) {
      throw new LoupeError(ErrorCode.RateLimited, `at most ${cap} inference requests in flight per client`, {
        retryAfterS: this.retryAfterS,
        refusal: { kind: 'admission', reason: 'in_flight' },
      });
    }
    this.inFlight.set(client, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(client) ?? 1) - 1;
      if (left > 0) this.inFlight.set(client, left);
      else this.inFlight.delete(client);
    };
  }
}

/** The refusal of a client over its rate, the same on both APIs. */
export function rateLimited(max: number, ttlMs: number): LoupeError {
  const s = Math.max(1, Math.ceil(ttlMs / 1000));
  return new LoupeError(ErrorCode.RateLimited, `rate limit of ${max} requests per minute reached; retry in ${s} s`, {
    retryAfterS: s,
    refusal: { kind: 'admission', reason: 'rate_limit' },
  });
}

/** Who a request counts against: its API key when it has one, else its address. */
export const clientKey = (keyId: string | undefined, address: string): string =>
  keyId !== undefined ? `key:${keyId}` : `ip:${address}`;
