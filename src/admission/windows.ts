const WINDOW_MS = 60_000;

/**
 * Counters in fixed one-minute windows, one per key (a client, an address), shared by the rate
 * limits and the failed-auth limits. At most `max` keys are remembered: past it, windows that
 * have ended are dropped, then all of them, so memory stays bounded whatever the keys.
 */
export class MinuteWindows {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly max: number;

  constructor(max = 10_000) {
    this.max = max;
  }

  /** Keys remembered now. */
  get size(): number {
    return this.windows.size;
  }

  /** Counts one for `key`: its count in the current window, and ms until that window ends. */
  hit(key: string, now = Date.now()): { count: number; ttl: number } {
    let w = this.windows.get(key);
    if (!w || now - w.start >= WINDOW_MS) {
      if (!w && this.windows.size >= this.max) {
        for (const [k, x] of this.windows) if (now - x.start >= WINDOW_MS) this.windows.delete(k);
        if (this.windows.size >= this.max) this.windows.clear();
      }
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    return { count: w.count, ttl: w.start + WINDOW_MS - now };
  }

  /** `key`'s count in the current window without counting (0 when it has none), and ms until it ends. */
  peek(key: string, now = Date.now()): { count: number; ttl: number } {
    const w = this.windows.get(key);
    if (!w || now - w.start >= WINDOW_MS) return { count: 0, ttl: 0 };
    return { count: w.count, ttl: w.start + WINDOW_MS - now };
  }
}
