import type { Pool } from 'undici';
import { ErrorCode, LoupeError } from '../../errors.ts';
import type { Logger, TraceSpan, Tracing } from '../../observability/index.ts';
import { Endpoints, type Lookup } from './endpoints.ts';

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
 * LoupeError the model server raised. What goes to every replica at once is in every.ts.
 */
export class Replicas {
  private readonly endpoints: Endpoints;
  readonly opts: ReplicasOptions;

  constructor(opts: ReplicasOptions) {
    this.opts = opts;
    this.endpoints = new Endpoints(opts.url, opts.lookup);
  }

  get size(): number {
    return this.endpoints.size;
  }

  close(): Promise<void> {
    return this.endpoints.close();
  }

  /**
   * Every replica, the name re-resolved first: one added since the last poll is asked too (a
   * fan-out must reach all of them). Throws NOT_READY when there is none.
   */
  async all(): Promise<Replica[]> {
    await this.endpoints.resolve().catch(() => undefined);
    const targets = this.endpoints.pick(this.endpoints.size);
    if (targets.length === 0)
      throw new LoupeError(ErrorCode.NotReady, 'no model server is reachable', { retryAfterS: this.opts.retryAfterS });
    return targets.map((t) => ({ ...t, host: new URL(t.origin).host }));
  }

  /**
   * One request to one replica, as a client span with its traceparent when a trace is active.
   * Any answer comes back (check() makes a non-2xx an error); only a failed exchange throws.
   */
  async request(replica: Pick<Replica, 'origin' | 'pool'>, req: ReplicaRequest): Promise<Answer> {
    const { method, path, body, headers = {}, timeoutMs } = req;
    const span = this.clientSpan(method, path, replica.origin);
    try {
      const traced = span ? this.opts.tracing.within(span, () => this.traceHeaders()) : undefined;
      const res = await replica.pool.request({
        method,
        path,
        body: body ?? null,
        headers: { ...headers, ...traced, ...IDENTITY },
        ...(timeoutMs ? { headersTimeout: timeoutMs, bodyTimeout: timeoutMs } : {}),
      });
      const answer = { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
      span?.set({ 'http.response.status_code': answer.status });
      if (answer.status >= 500) span?.fail(new Error(`model server answered ${answer.status}`));
      return answer;
    } catch (err) {
      span?.fail(err);
      throw err;
    } finally {
      span?.end();
    }
  }

  async send(
    method: 'GET' | 'POST',
    path: string,
    body?: Buffer | string,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const { logger, retryAfterS } = this.opts;
    if (this.endpoints.size === 0) await this.endpoints.resolve().catch(() => undefined);
    const targets = this.endpoints.pick(Math.max(3, this.endpoints.size));
    if (targets.length === 0) throw new LoupeError(ErrorCode.NotReady, 'no model server is reachable', { retryAfterS });
    let last: Answer | undefined;
    let lastErr: unknown;
    for (const target of targets) {
      let answer: Answer;
      try {
        answer = await this.request(target, { method, path, body, headers });
      } catch (err) {
        lastErr = err;
        logger.warn(
          { origin: target.origin, err: (err as Error).message, path },
          'model server unreachable; trying another replica',
        );
        continue;
      }
      if (answer.status < 500) return check(answer);
      last = answer;
      logger.warn(
        { origin: target.origin, status: answer.status, path },
        'model server failed; trying another replica',
      );
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
  readonly lookup?: Lookup | undefined;
}

/** One model server: its origin, its pool, and host:port as reports name it. */
export interface Replica {
  readonly origin: string;
  readonly host: string;
  readonly pool: Pool;
}

export interface ReplicaRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: Buffer | string | undefined;
  readonly headers?: Record<string, string>;
  /** For the answer's headers and for its body; the pool's own otherwise. */
  readonly timeoutMs?: number;
}

/** A non-2xx answer becomes the same LoupeError the model server raised. */
export function check(a: Answer): Answer {
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
