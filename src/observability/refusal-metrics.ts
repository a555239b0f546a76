import { Counter, type Registry } from 'prom-client';
import { ADMISSION_REFUSALS, AUTH_FAILURES, type LoupeError } from '../errors.ts';

/** The transports that answer requests; each counts a refusal once, when the request ends. */
export type Transport = 'http' | 'grpc';
const TRANSPORTS: readonly Transport[] = ['http', 'grpc'];

/** Auth failures and admission refusals, by transport and reason, made with a role's metrics. */
export function refusalMetrics(registry: Registry) {
  const m = {
    authFailures: new Counter({
      name: 'loupe_auth_failures_total',
      help: 'Requests refused by API-key auth: missing or invalid key (401), forbidden scope (403), locked_out: too many failures from the address (429)',
      labelNames: ['transport', 'reason'],
      registers: [registry],
    }),
    admissionRefusals: new Counter({
      name: 'loupe_admission_refusals_total',
      help: "Requests refused by this process's admission rules: client rate limit, in-flight cap, upload share or budget, upload rate floor, a full batch queue",
      labelNames: ['transport', 'reason'],
      registers: [registry],
    }),
  };
  // Every series exists from the start at 0, so rate() and alerts see the first refusal.
  for (const transport of TRANSPORTS) {
    for (const reason of AUTH_FAILURES) m.authFailures.inc({ transport, reason }, 0);
    for (const reason of ADMISSION_REFUSALS) m.admissionRefusals.inc({ transport, reason }, 0);
  }
  return m;
}

/** Counts the refusal a request was answered with, if it was one; called once per request by its transport. */
export function countRefusal(
  metrics: ReturnType<typeof refusalMetrics>,
  transport: Transport,
  error: LoupeError | undefined,
): void {
  const refusal = error?.refusal;
  if (!refusal) return;
  const counter = refusal.kind === 'auth' ? metrics.authFailures : metrics.admissionRefusals;
  counter.inc({ transport, reason: refusal.reason });
}
