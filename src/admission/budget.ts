import { ErrorCode, LoupeError } from '../errors.ts';

/** What the role fills from LOUPE_MAX_INFLIGHT_UPLOAD_BYTES and LOUPE_MAX_INFLIGHT_UPLOAD_BYTES_PER_CLIENT. */
export interface BudgetOptions {
  /** Upload bytes all requests together may hold; 0: no limit. */
  readonly maxBytes: number;
  /** What one client (API key, else address) may hold of it; 0: no per-client share. */
  readonly perClientBytes: number;
  readonly retryAfterS: number;
}

/** Which limit refused a charge: the client's own share (its fault: 429) or the whole budget (503). */
export type Shortfall = 'client' | 'global';

/**
 * The process-wide budget of upload bytes held in memory, shared by the HTTP and gRPC APIs.
 * Bytes are charged as they arrive — never for bytes announced (Content-Length) or possible
 * (a gRPC stream's largest message) but not yet received — so a client that announces much and
 * sends little holds little. Each client may hold at most its share, so one key's uploads
 * cannot take the room every other key needs: what its share refuses is that client's 429,
 * and only a budget that honest clients fill together is a 503 for all.
 */
export class UploadBudget {
  readonly limit: number;
  readonly perClient: number;
  readonly retryAfterS: number;
  private used = 0;
  /** Bytes held per client; a client holding nothing has no entry, so the map stays as small as what is in flight. */
  private readonly clients = new Map<string, number>();

  constructor(opts: BudgetOptions) {
    this.limit = opts.maxBytes;
    this.perClient = opts.perClientBytes;
    this.retryAfterS = opts.retryAfterS;
  }

  get inUse(): number {
    return this.used;
  }

  heldBy(client: string): number {
    return this.clients.get(client) ?? 0;
  }

  /** One upload's account: charge it as its bytes arrive, release it once when the request ends. */
  open(client: string): UploadCharge {
    return new UploadCharge(this, client);
  }

  /**
   * Charges `bytes` more to an upload of `client` that holds `held` already, or says which limit
   * refuses. An upload that is alone in holding anything (of its client, of everyone) may pass
   * the limit: a share or budget below one upload must not refuse that upload forever.
   */
  charge(client: string, bytes: number, held: number): Shortfall | undefined {
    const mine = this.heldBy(client);
    if (this.perClient > 0 && mine + bytes > this.perClient && mine > held) return 'client';
    if (this.limit > 0 && this.used + bytes > this.limit && this.used > held) return 'global';
    this.used += bytes;
    this.clients.set(client, mine + bytes);
    return undefined;
  }

  uncharge(client: string, bytes: number): void {
    if (bytes <= 0) return;
    this.used = Math.max(0, this.used - bytes);
    const left = this.heldBy(client) - bytes;
    if (left > 0) this.clients.set(client, left);
    else this.clients.delete(client);
  }

  /** The error a refused charge is answered with (the same on both APIs). */
  refusal(shortfall: Shortfall): LoupeError {
    const retryAfterS = this.retryAfterS;
    if (shortfall === 'client')
      return new LoupeError(
        ErrorCode.RateLimited,
        `this client's uploads in flight hold its share of the upload budget (${this.perClient} bytes); retry when one ends`,
        { retryAfterS, refusal: { kind: 'admission', reason: 'upload_share' } },
      );
    return new LoupeError(ErrorCode.Overloaded, 'too many uploads are being received at once; retry shortly', {
      retryAfterS,
      refusal: { kind: 'admission', reason: 'upload_budget' },
    });
  }
}

/** The bytes one upload holds from the budget. */
export class UploadCharge {
  private readonly budget: UploadBudget;
  readonly client: string;
  private bytes = 0;
  private closed = false;

  constructor(budget: UploadBudget, client: string) {
    this.budget = budget;
    this.client = client;
  }

  get held(): number {
    return this.bytes;
  }

  /** Grows what this upload holds to `total` bytes (never shrinks it); a LoupeError (429/503) when it cannot. */
  growTo(total: number): LoupeError | undefined {
    const more = total - this.bytes;
    if (more <= 0 || this.closed) return undefined;
    const shortfall = this.budget.charge(this.client, more, this.bytes);
    if (shortfall) return this.budget.refusal(shortfall);
    this.bytes = total;
    return undefined;
  }

  /** Gives back what is held beyond `total` (a gRPC message smaller than the bytes that carried it). */
  shrinkTo(total: number): void {
    if (total >= this.bytes) return;
    this.budget.uncharge(this.client, this.bytes - total);
    this.bytes = total;
  }

  /** Gives everything back; later charges are ignored. Idempotent. */
  release(): void {
    this.budget.uncharge(this.client, this.bytes);
    this.bytes = 0;
    this.closed = true;
  }
}
