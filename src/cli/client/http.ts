import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher, type FormData } from 'undici';
import type { ClientOptions } from './options.ts';

/** A refusal by the server (its error body's code, message and request id), or a transport failure (status 0). */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly requestId: string | undefined;
  /** No server at the address (refused, no such host) before it ever answered: nothing was tried. */
  readonly noServer: boolean;

  constructor(status: number, code: string, message: string, requestId: string | undefined, noServer = false) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.noServer = noServer;
  }

  /** One line: `415 UNSUPPORTED_MEDIA_TYPE: … (request id …)`. */
  describe(): string {
    const head = this.status ? `${this.status} ${this.code}` : this.code;
    return `${head}: ${this.message}${this.requestId ? ` (request id ${this.requestId})` : ''}`;
  }

  /**
   * Whether the request itself is wrong rather than one file — no key, a bad key, an unknown
   * model or version — or the server cannot be reached: every further request would get the same
   * answer, so a run stops there.
   */
  get fatal(): boolean {
    if (this.status === 0) return true; // unreachable after every retry: the server is down
    return this.status === 401 || this.status === 403 || this.code === 'MODEL_NOT_FOUND' || this.code === 'BAD_REQUEST';
  }
}

/** The Retry-After the server asks for is honoured up to this long; a longer one counts as this. */
const MAX_WAIT_S = 60;
/** Refusals that a wait may cure: the client's rate or in-flight share (429), a busy or starting server (503). */
const RETRYABLE = new Set([429, 503]);
/** Transport failures that mean "no server there": at the first request they end the run at once, with a hint. */
const NO_SERVER = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** A server that does not accept the connection in this long is not there (or not reachable from here). */
const CONNECT_TIMEOUT_MS = 5_000;

export interface Call {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly query?: Record<string, string | number | undefined>;
  /** Called for each attempt, so a retried upload is read again from its files; a string is sent as JSON. */
  readonly body?: () => FormData | string;
  readonly headers?: Record<string, string>;
}

export interface RetryNotice {
  readonly attempt: number;
  readonly waitS: number;
  readonly reason: string;
}

/**
 * The Loupe API over undici. 429 and 503, and a connection that fails once the server has
 * answered (a reset, a restart mid-run), are retried up to `retries` times, waiting what
 * Retry-After says (1 s, 2 s, 4 s… without one); then the last refusal is thrown as an ApiError
 * like any other. No server at the address before it ever answered (refused, no such host) is
 * not retried: waiting half a minute to say so helps nobody.
 */
export class ApiClient {
  private readonly agent: Dispatcher;
  private readonly headers: Record<string, string>;
  private readonly opts: Pick<ClientOptions, 'url' | 'key' | 'retries'>;
  /** The server has answered once: from then on a failed connection is a hiccup worth a retry. */
  private answered = false;

  constructor(opts: Pick<ClientOptions, 'url' | 'key' | 'retries'>) {
    this.opts = opts;
    this.agent = new Agent({ keepAliveTimeout: 10_000, connect: { timeout: CONNECT_TIMEOUT_MS } });
    this.headers = opts.key ? { authorization: `Bearer ${opts.key}` } : {};
  }

  async json<T>(call: Call, onRetry: (n: RetryNotice) => void = () => undefined): Promise<{ body: T; status: number }> {
    for (let attempt = 1; ; attempt++) {
      let waitS: number;
      let last: ApiError;
      try {
        const res = await this.once(call);
        this.answered = true;
        if (res.statusCode < 400) return { body: (await res.body.json()) as T, status: res.statusCode };
        last = await errorOf(res);
        if (!RETRYABLE.has(res.statusCode)) throw last;
        waitS = retryAfter(res.headers['retry-after']) ?? 2 ** (attempt - 1);
      } catch (err) {
        if (err instanceof ApiError) throw err;
        const reason = transportMessage(err);
        if (!this.answered && NO_SERVER.has(reason))
          throw new ApiError(
            0,
            'UNREACHABLE',
            `${this.opts.url.origin}: ${reason}: ${NO_SERVER_HINT}`,
            undefined,
            true,
          );
        last = new ApiError(0, 'UNREACHABLE', `${this.opts.url.origin}: ${reason}`, undefined);
        waitS = 2 ** (attempt - 1);
      }
      if (attempt > this.opts.retries) throw last;
      onRetry({ attempt, waitS, reason: last.status ? `${last.status} ${last.code}` : last.message });
      await sleep(Math.min(waitS, MAX_WAIT_S) * 1000);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private once(call: Call) {
    const url = new URL(call.path, this.opts.url);
    for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const body = call.body?.() ?? null;
    const type: Record<string, string> = typeof body === 'string' ? { 'content-type': 'application/json' } : {};
    return request(url, {
      method: call.method,
      dispatcher: this.agent,
      headers: { accept: 'application/json', ...type, ...this.headers, ...call.headers },
      body,
    });
  }
}

const NO_SERVER_HINT = 'is `loupe serve` running there? Set --url or LOUPE_URL to where it listens';

type Response = Awaited<ReturnType<typeof request>>;

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.body.text().catch(() => '');
  const header = res.headers['x-request-id'];
  let requestId = typeof header === 'string' ? header : undefined;
  try {
    const { error } = JSON.parse(text) as { error: string | { code: string; message: string; request_id?: string } };
    // The OIP routes' body is {"error": "message"}; their code is in a header.
    if (typeof error === 'string') {
      const code = res.headers['x-loupe-error-code'];
      return new ApiError(res.statusCode, typeof code === 'string' ? code : 'HTTP_ERROR', error, requestId);
    }
    requestId = error.request_id ?? requestId;
    return new ApiError(res.statusCode, error.code, error.message, requestId);
  } catch {
    // Not Loupe's error body (a proxy's page): the status and the first line say what there is.
    return new ApiError(res.statusCode, 'HTTP_ERROR', text.split('\n')[0]!.slice(0, 200) || 'no body', requestId);
  }
}

/** Retry-After as seconds, or as an HTTP date (a past one: 0). */
export function retryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function transportMessage(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  return e.code ?? e.cause?.code ?? e.message ?? String(err);
}
