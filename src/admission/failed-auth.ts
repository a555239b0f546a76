import { createHash } from 'node:crypto';
import { MinuteWindows } from './windows.ts';

/** Tunables of the failed-auth limiter; the defaults are what the roles use. */
export interface FailedAuthOptions {
  /** Failed authentications per address and minute before its failures get 429 instead of 401. */
  readonly perMinute?: number;
  /** Key lookups one blocked address may have running at once. */
  readonly lookupsPerAddress?: number;
  /** Key lookups all blocked addresses together may have running at once. */
  readonly lookups?: number;
}

/** Addresses and keys remembered at once; past it the oldest are dropped (memory stays bounded). */
const MAX_ENTRIES = 10_000;
/** How long a key that verified may skip the lookup queue of a blocked address. */
const RECENT_KEY_MS = 10 * 60_000;

/**
 * Failed authentications counted per address, one per process, shared by the HTTP and gRPC
 * APIs. Past `perMinute` failures an address's requests that FAIL authentication get 429
 * instead of 401; a request from that address with a valid key is still let through (and then
 * counts against its key's own limits), so one party behind a NAT or an untrusted proxy cannot
 * lock everyone else at that address out.
 *
 * Key-store flooding stays bounded without blocking anyone: while an address is over its
 * limit, its key lookups go through a gate of `lookupsPerAddress` at a time per address and
 * `lookups` at a time for all such addresses (a lookup is one indexed query by key id; a
 * string that is not a key's format never reaches the store), and a request that finds the
 * gate full is refused (429) without a lookup. A key that verified in this process within
 * RECENT_KEY_MS (remembered by its SHA-256, never the key) skips the gate — it is still looked
 * up, so a revocation applies at once — so a flood from its address cannot crowd it out.
 */
export class FailedAuthLimiter {
  private readonly perMinute: number;
  private readonly perAddress: number;
  private readonly total: number;
  private readonly windows = new MinuteWindows(MAX_ENTRIES);
  private readonly running = new Map<string, number>();
  private runningTotal = 0;
  private readonly recent = new Map<string, number>();

  constructor(opts: FailedAuthOptions = {}) {
    this.perMinute = opts.perMinute ?? 120;
    this.perAddress = opts.lookupsPerAddress ?? 1;
    this.total = opts.lookups ?? 8;
  }

  /** Seconds until the address's failures are answered 401 again, or 0 when they are now. */
  blockedFor(address: string, now = Date.now()): number {
    const { count, ttl } = this.windows.peek(address, now);
    return count < this.perMinute ? 0 : Math.max(1, Math.ceil(ttl / 1000));
  }

  failed(address: string, now = Date.now()): void {
    this.windows.hit(address, now);
  }

  /** Remembers a key that verified, so it skips the gate of a blocked address. */
  verified(key: string, now = Date.now()): void {
    const h = digest(key);
    this.recent.delete(h); // re-inserted last: the map's order is its age
    if (this.recent.size >= MAX_ENTRIES) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(h, now + RECENT_KEY_MS);
  }

  /**
   * For an address over its limit: a place to look `key` up, to be released when the lookup
   * ends, or undefined when the gate is full (refuse without a lookup).
   */
  lookupSlot(address: string, key: string, now = Date.now()): (() => void) | undefined {
    const h = digest(key);
    const until = this.recent.get(h);
    if (until !== undefined && until > now) return () => undefined;
    if (until !== undefined) this.recent.delete(h);
    const n = this.running.get(address) ?? 0;
    if (n >= this.perAddress || this.runningTotal >= this.total) return undefined;
    this.running.set(address, n + 1);
    this.runningTotal++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.runningTotal--;
      const left = (this.running.get(address) ?? 1) - 1;
      if (left > 0) this.running.set(address, left);
      else this.running.delete(address);
    };
  }
}

const digest = (key: string) => createHash('sha256').update(key, 'utf8').digest('base64');
