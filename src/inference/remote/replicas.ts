import { ErrorCode, LoupeError } from '../../errors.ts';
import type { ReplicaOutcome } from '../control.ts';
import type { Logger, TraceSpan, Tracing } from '../../observability/index.ts';
import { Endpoints } from './endpoints.ts';

/** How long one replica may take to answer a question put to all of them (statistics). */
const EVERY_REPLICA_TIMEOUT_MS = 5000;
/** A load builds sessions (a large model takes a while) and an unload drains the queue first. */
const CONTROL_TIMEOUT_MS = 120_000;

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** undici's request() does not decompress, so answers must come as they are (model servers compress for clients that ask). */
const IDENTITY = { 'accept-encoding': 'identity' } as const;

/**
 * HTTP to the model service's replicas: each request goes to the next replica, and one that
 * is down or answers 5xx costs the client nothing — the request is retried on another. 4xx
 * answers are the request's own fault (the same on every replica) and come back as the
 * LoupeError the model server raised.
 */
export class Replicas {
  private readonly endpoints: Endpoints;
  private readonly opts: ReplicasOptions;

  constructor(opts: ReplicasOptions) {
    this.opts = opts;
    this.endpoints = new Endpoints(opts.url);
  }

  get size(): number {
    return this.endpoints.size;
  }

  resolve(): Promise<void> {
    return this.endpoints.resolve();
  }

  close(): Promise<void> {
    return this.endpoints.close();
  }

  async json<T>(path: string): Promise<T> {
    const a = await this.send('GET', path);
    return JSON.parse(a.body.toString('utf8')) as T;
  }

  /**
   * GET `path` from every replica at once, for what each knows of itself alone (statistics):
   * the 2xx answers' JSON; a replica that is down or fails is logged and left out. Throws
   * NOT_READY when none answers, and a replica's 4xx as its LoupeError.
   */
  async everyReplica<T>(path: string): Promise<T[]> {
    const { logger, retryAfterS } = this.opts;
    if (this.endpoints.size === 0) await this.endpoints.resolve().catch(() => undefined);
    const targets = this.endpoints.pick(this.endpoints.size);
    const answers = await Promise.all(
      targets.map(async ({ origin, pool }) => {
        try {
          // A hung model server must not hold the whole answer: it is left out like a failed one.
          const res = await pool.request({
            method: 'GET',
            path,
            headers: IDENTITY,
            headersTimeout: EVERY_REPLICA_TIMEOUT_MS,
            bodyTimeout: EVERY_REPLICA_TIMEOUT_MS,
          });
          const answer = {
            status: res.statusCode,
            headers: res.headers,
            body: Buffer.from(await res.body.arrayBuffer()),
          };
          if (answer.status < 500) return check(answer);
          logger.warn({ origin, status: answer.status, path }, 'model server failed; its part is left out');
        } catch (err) {
          if (err instanceof LoupeError) throw err;
          logger.warn({ origin, err: (err as Error).message, path }, 'model server unreachable; its part is left out');
        }
        return undefined;
      }),
    );
    const ok = answers.filter((a): a is Answer => a !== undefined);
    if (ok.length === 0) throw new LoupeError(ErrorCode.NotReady, 'no model server answered', { retryAfterS });
    return ok.map((a) => JSON.parse(a.body.toString('utf8')) as T);
  }

  /**
   * POST `body` to every replica at once and report each one's outcome (model control: every
   * replica must change, not just one). Never retried elsewhere: a failed replica is reported.
   */
  async postToEvery(path: string, body: string): Promise<{ outcomes: ReplicaOutcome[]; first?: LoupeError }> {
    const { retryAfterS } = this.opts;
    if (this.endpoints.size === 0) await this.endpoints.resolve().catch(() => undefined);
    const targets = this.endpoints.pick(this.endpoints.size);
    if (targets.length === 0) throw new LoupeError(ErrorCode.NotReady, 'no model server is reachable', { retryAfterS });
    const errors = new Map<string, LoupeError>();
    const outcomes = await Promise.all(
      targets.map(async ({ origin, pool }): Promise<ReplicaOutcome> => {
        const replica = new URL(origin).host;
        try {
          const res = await pool.request({
            method: 'POST',
            path,
            body,
            headers: { 'content-type': 'application/json', ...IDENTITY },
            headersTimeout: CONTROL_TIMEOUT_MS,
            bodyTimeout: CONTROL_TIMEOUT_MS,
          });
          check({ status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) });
          return { replica, status: 'ok' };
        } catch (err) {
          const e =
            err instanceof LoupeError
              ? err
              : new LoupeError(ErrorCode.NotReady, `model server unreachable: ${(err as Error).message}`, {
                  retryAfterS,
                });
          errors.set(replica, e);
          this.opts.logger.warn({ origin, path, err: e.message }, 'model control failed on a model server');
          return { replica, error: { code: e.code, message: e.message } };
        }
      }),
    );
    // In address order, whichever replica the round-robin started with: a report reads the same each time.
    outcomes.sort((a, b) => (a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0));
    const failed = outcomes.find((o) => errors.has(o.replica));
    return { outcomes, ...(failed ? { first: errors.get(failed.replica)! } : {}) };
  }

  async send(
    method: 'GET' | 'POST',
    path: string,
    body?: Buffer,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const { logger, retryAfterS } = this.opts;
    if (this.endpoints.size === 0) await this.endpoints.resolve().catch(() => undefined);
    const targets = this.endpoints.pick(Math.max(3, this.endpoints.size));
    if (targets.length === 0) throw new LoupeError(ErrorCode.NotReady, 'no model server is reachable', { retryAfterS });
    let last: Answer | undefined;
    let lastErr: unknown;
    for (const { origin, pool } of targets) {
      let answer: Answer;
      const span = this.clientSpan(method, path, origin);
      try {
        const traced = span ? this.opts.tracing.within(span, () => this.traceHeaders()) : undefined;
        const res = await pool.request({
          method,
          path,
          body: body ?? null,
          headers: { ...headers, ...traced, ...IDENTITY },
        });
        answer = { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
        span?.set({ 'http.response.status_code': answer.status });
        if (answer.status >= 500) span?.fail(new Error(`model server answered ${answer.status}`));
        span?.end();
      } catch (err) {
        span?.fail(err);
        span?.end();
        lastErr = err;
        logger.warn({ origin, err: (err as Error).message, path }, 'model server unreachable; trying another replica');
        continue;
      }
      if (answer.status < 500) return check(answer);
      last = answer;
      logger.warn({ origin, status: answer.status, path }, 'model server failed; trying another replica');
    }
    void this.endpoints.resolve().catch(() => undefined);
    if (last) return check(last);
    const why = (lastErr as Error | undefined)?.message ?? 'unknown error';
    throw new LoupeError(ErrorCode.NotReady, `no model server answered (${why})`, { retryAfterS, cause: lastErr });
  }

  /**
   * One attempt on one replica as a client span, only inside a request's trace (the model
   * poll makes none): retries on another replica are sibling spans of the same trace.
   */
  private clientSpan(method: string, path: string, origin: string): TraceSpan | undefined {
    const { tracing } = this.opts;
    if (!tracing.enabled || !tracing.active()) return undefined;
    const url = new URL(path, origin);
    return tracing.start(`${method}`, {
      kind: 'client',
      attributes: {
        'http.request.method': method,
        'server.address': url.hostname,
        'server.port': Number(url.port) || undefined,
        'url.full': url.toString(),
      },
    });
  }

  /** traceparent/tracestate of the active span, for the model server to continue the trace. */
  private traceHeaders(): Record<string, string> {
    const carrier: Record<string, string> = {};
    this.opts.tracing.inject(carrier);
    return carrier;
  }
}

export interface ReplicasOptions {
  readonly url: string;
  readonly retryAfterS: number;
  readonly logger: Logger;
  readonly tracing: Tracing;
}

/** A non-2xx answer becomes the same LoupeError the model server raised. */
function check(a: Answer): Answer {
  if (a.status >= 200 && a.status < 300) return a;
  const code = String(a.headers['x-loupe-error-code'] ?? '');
  let message = `model server answered ${a.status}`;
  try {
    const body = JSON.parse(a.body.toString('utf8')) as { error?: string | { message?: string } };
    message = typeof body.error === 'string' ? body.error : (body.error?.message ?? message);
  } catch {
    /* not JSON */
  }
  // Model servers send seconds; a date or anything else is left out rather than passed on as NaN.
  const retry = Number(a.headers['retry-after']);
  const known = KNOWN_CODES.has(code) ? (code as ErrorCode) : undefined;
  throw new LoupeError(
    known ?? fallbackCode(a.status),
    message,
    Number.isFinite(retry) && retry > 0 ? { retryAfterS: retry } : {},
  );
}

function fallbackCode(status: number): ErrorCode {
  if (status === 404) return ErrorCode.ModelNotFound;
  if (status === 503) return ErrorCode.Overloaded;
  return status < 500 ? ErrorCode.BadRequest : ErrorCode.Internal;
}
