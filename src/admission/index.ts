import { UploadBudget, type BudgetOptions } from './budget.ts';
import { ClientLimits, type ClientLimitOptions } from './client-limits.ts';
import { FailedAuthLimiter, type FailedAuthOptions } from './failed-auth.ts';
import { RateFloor, type RateFloorOptions } from './rate-floor.ts';

export { UploadBudget, UploadCharge, type BudgetOptions, type Shortfall } from './budget.ts';
export { ClientLimits, clientKey, rateLimited, type ClientLimitOptions, type RateStore } from './client-limits.ts';
export { FailedAuthLimiter, type FailedAuthOptions } from './failed-auth.ts';
export { RateFloor, RateWatch, type RateFloorOptions } from './rate-floor.ts';

/**
 * The admission rules of one process, the same whichever transport a request came by: the
 * HTTP hooks and the gRPC edge only translate the wire into these calls and the refusals back
 * into their statuses. One instance per role, shared by its HTTP and gRPC APIs, so a client has
 * one allowance whichever it calls.
 */
export interface Admission {
  /** Upload bytes in memory, charged as they arrive, with a share per client. */
  readonly budget: UploadBudget;
  /** The minimum data rate of an upload. */
  readonly rateFloor: RateFloor;
  /** Failed authentications per address. */
  readonly failures: FailedAuthLimiter;
  /** Per-client rate and in-flight limits; undefined where the one client is the gateway (model servers). */
  readonly clientLimits: ClientLimits | undefined;
}

export interface AdmissionOptions {
  readonly budget: BudgetOptions;
  readonly rateFloor: RateFloorOptions;
  readonly clientLimits: ClientLimitOptions | undefined;
  readonly failedAuth?: FailedAuthOptions;
}

export function createAdmission(opts: AdmissionOptions): Admission {
  return {
    budget: new UploadBudget(opts.budget),
    rateFloor: new RateFloor(opts.rateFloor),
    failures: new FailedAuthLimiter(opts.failedAuth),
    clientLimits: opts.clientLimits ? new ClientLimits(opts.clientLimits) : undefined,
  };
}
