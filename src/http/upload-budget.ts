/**
 * The process-wide budget of upload bytes held in memory (LOUPE_MAX_INFLIGHT_UPLOAD_BYTES).
 * Requests reserve what they may hold before they read it and give it back when they end, so
 * many concurrent uploads cannot add up to more memory than the budget, whatever each one's size.
 */
export class UploadBudget {
  readonly limit: number;
  private used = 0;
  /** Reservations waiting for room, first come first served. */
  private readonly waiting: Waiter[] = [];

  /** `limit` 0: no budget (every reservation succeeds). */
  constructor(limit: number) {
    this.limit = limit;
  }

  get inUse(): number {
    return this.used;
  }

  /** How many reservations wait for room (`reserveWithin`). */
  get waiters(): number {
    return this.waiting.length;
  }

  /**
   * Reserves `bytes` more for a request that holds `held` already, if they fit. A request is let
   * through when it is the only one holding anything, even past the limit: a budget below one
   * upload must not refuse that upload forever.
   */
  tryReserve(bytes: number, held = 0): boolean {
    if (!this.fits(bytes, held)) return false;
    this.used += bytes;
    return true;
  }

  /**
   * Reserves `bytes`, waiting up to `ms` for room behind the reservations already waiting (the
   * gRPC API waits here: it has no Content-Length to refuse by). Resolves true once reserved,
   * false at the timeout or when `signal` aborts — then nothing is reserved.
   */
  reserveWithin(bytes: number, ms: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.waiting.length === 0 && this.tryReserve(bytes)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = { bytes, settle: (ok) => settle(ok) };
      const give = () => this.dequeue(waiter, false);
      const timer = setTimeout(give, ms);
      timer.unref();
      signal?.addEventListener('abort', give, { once: true });
      const settle = (ok: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', give);
        resolve(ok);
      };
      this.waiting.push(waiter);
    });
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    this.wake();
  }

  private fits(bytes: number, held: number): boolean {
    return this.limit <= 0 || this.used <= held || this.used + bytes <= this.limit;
  }

  /** Grants the waiters at the head of the line, as many as now fit. */
  private wake(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes, 0)) {
      const next = this.waiting.shift()!;
      this.used += next.bytes;
      next.settle(true);
    }
  }

  private dequeue(waiter: Waiter, ok: boolean): void {
    const i = this.waiting.indexOf(waiter);
    if (i < 0) return; // already granted
    this.waiting.splice(i, 1);
    waiter.settle(ok);
    // The one that gave up may have been all that held back those behind it.
    if (i === 0) this.wake();
  }
}

interface Waiter {
  readonly bytes: number;
  readonly settle: (ok: boolean) => void;
}
