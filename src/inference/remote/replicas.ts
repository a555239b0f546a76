import { ErrorCode, LoupeError } from '../../errors.ts';
import type { Logger } from '../../observability/index.ts';
import { Endpoints } from './endpoints.ts';

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/**
 * HTTP to the model service's replicas: each request goes to the next replica, and one that
 * is down or answers 5xx costs the client nothing — the request is retried on another. 4xx
 * answers are the request's own fault (the same on every replica) and come back as the
 * LoupeError the model server raised.
 */
export class Replicas {
  private readonly endpoints: Endpoints;
  private readonly opts: { url: string; retryAfterS: number; logger: Logger };

  constructor(opts: { url: string; retryAfterS: number; logger: Logger }) {
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
      try {
        const res = await pool.request({ method, path, body: body ?? null, headers });
        answer = { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
      } catch (err) {
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
