/**
 * The process-wide budget of upload bytes held in memory (LOUPE_MAX_INFLIGHT_UPLOAD_BYTES).
 * Requests reserve what they may hold before they read it and give it back when they end, so
 * many concurrent uploads cannot add up to more memory than the budget, whatever each one's size.
 */
export class UploadBudget {
  readonly limit: number;
  private used = 0;

  /** `limit` 0: no budget (every reservation succeeds). */
  constructor(limit: number) {
    this.limit = limit;
  }

  get inUse(): number {
    return this.used;
  }

  /**
   * Reserves `bytes` more for a request that holds `held` already, if they fit. A request is let
   * through when it is the only one holding anything, even past the limit: a budget below one
   * upload must not refuse that upload forever.
   */
  tryReserve(bytes: number, held = 0): boolean {
    if (this.limit > 0 && this.used > held && this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
