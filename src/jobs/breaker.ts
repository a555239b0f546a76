export interface BreakerOptions {
  /** Consecutive failed deliveries to one receiver that open its circuit. */
  readonly failures: number;
  /** How long an opened circuit stays open before one probe may go. */
  readonly cooldownMs: number;
  /** The cool-down doubles with each failed probe, up to this. */
  readonly maxCooldownMs: number;
  /** Receivers remembered at most (the oldest is forgotten first): URLs are the clients' choice. */
  readonly maxReceivers?: number;
  /** Milliseconds since the epoch; tests pass a clock of their own. */
  readonly now?: () => number;
}

/** May a delivery go now: yes (`probe` when it is the one trial of a half-open circuit), or not before `until`. */
export type Admission = { readonly go: true; readonly probe: boolean } | { readonly go: false; readonly until: number };

interface Circuit {
  failures: number;
  /** 0 while closed; otherwise until when it is open (then half-open). */
  openUntil: number;
  cooldownMs: number;
  /** While half-open: until when the probe that went holds the only slot (a lost probe frees it). */
  probeUntil: number;
}

/**
 * One circuit breaker per webhook receiver (host:port), in this process. Closed: deliveries go,
 * failures are counted. After `failures` in a row it opens: deliveries are deferred, not tried,
 * so a dead receiver stops taking delivery slots and time. After the cool-down it is half-open:
 * one probe goes; success closes it, failure opens it again for twice as long (up to the cap).
 *
 * Hand-written rather than a library: breaker libraries wrap a function call and only say "open";
 * deferring a queued job needs to know until when, per receiver, without a wrapper per job.
 */
export class CircuitBreakers {
  private readonly circuits = new Map<string, Circuit>();
  private readonly opts: BreakerOptions;
  private readonly now: () => number;

  constructor(opts: BreakerOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  admit(receiver: string): Admission {
    const c = this.circuits.get(receiver);
    if (!c || c.openUntil === 0) return { go: true, probe: false };
    const now = this.now();
    if (now < c.openUntil) return { go: false, until: c.openUntil };
    if (now < c.probeUntil) return { go: false, until: c.probeUntil };
    // Half-open: this delivery is the probe. Should its outcome never be reported (the process
    // is stopping, the job expired), another may go after one more cool-down.
    c.probeUntil = now + c.cooldownMs;
    return { go: true, probe: true };
  }

  /** Returns whether this closed an open (or half-open) circuit. */
  success(receiver: string): boolean {
    const wasOpen = (this.circuits.get(receiver)?.openUntil ?? 0) !== 0;
    this.circuits.delete(receiver);
    return wasOpen;
  }

  /** Returns until when the circuit is open when this failure opened it (or opened it again), else undefined. */
  failure(receiver: string): number | undefined {
    let c = this.circuits.get(receiver);
    if (!c) {
      if (this.circuits.size >= (this.opts.maxReceivers ?? 10_000))
        this.circuits.delete(this.circuits.keys().next().value!);
      c = { failures: 0, openUntil: 0, cooldownMs: 0, probeUntil: 0 };
      this.circuits.set(receiver, c);
    }
    c.failures++;
    const now = this.now();
    if (c.openUntil !== 0) {
      // A failed probe (or a delivery that started before the circuit opened): open again, longer.
      if (now < c.openUntil) return undefined;
      c.cooldownMs = Math.min(c.cooldownMs * 2, this.opts.maxCooldownMs);
      c.probeUntil = 0;
    } else if (c.failures >= this.opts.failures) {
      c.cooldownMs = Math.min(this.opts.cooldownMs, this.opts.maxCooldownMs);
    } else return undefined;
    c.openUntil = now + c.cooldownMs;
    return c.openUntil;
  }

  /** Circuits open or half-open now (for the metrics). */
  openCount(): number {
    let n = 0;
    for (const c of this.circuits.values()) if (c.openUntil !== 0) n++;
    return n;
  }
}

/**
 * The receiver a webhook URL names, as breakers and per-receiver limits count it: lower-case
 * host and port, the scheme's default port filled in. Undefined for a URL that does not parse.
 */
export function receiverOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    return `${u.hostname.toLowerCase()}:${port}`;
  } catch {
    return undefined;
  }
}
