import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { hostOf } from '../net/index.ts';
import { WebhookPolicy } from './egress.ts';

export const SIGNATURE_HEADER = 'x-loupe-signature';

/** How much of a receiver's answer is read; the rest is discarded with the connection. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, as Stripe-style receivers verify it. */
export function sign(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Why a webhook was not delivered. `refused`: the egress policy forbids the address (final:
 * retrying cannot help). `failed`: the network or the receiver (the queue retries). The message
 * has the details for the log; it is never shown to the client.
 */
export class WebhookError extends Error {
  override name = 'WebhookError';
  readonly kind: 'refused' | 'failed';

  constructor(kind: 'refused' | 'failed', message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}

export interface DeliverOptions {
  /** For the whole attempt: resolution, connection, answer and body. */
  readonly timeoutMs?: number | undefined;
  /** Which addresses may be reached, and how names resolve; public addresses only by default. */
  readonly policy?: WebhookPolicy | undefined;
  readonly maxResponseBytes?: number | undefined;
  /** More headers (the W3C trace context of the delivery); the signature's own win. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * One delivery attempt; returns the receiver's 2xx status. The host name is resolved once,
 * every address it resolves to must pass the policy, and the connection goes to the address
 * that was checked (a second, different DNS answer cannot redirect it); Host and TLS server
 * name stay the URL's. Redirects are not followed. Throws WebhookError.
 */
export async function deliver(
  url: string,
  secret: string,
  event: string,
  payload: unknown,
  opts: DeliverOptions = {},
): Promise<number> {
  const { timeoutMs = 10_000, policy = WebhookPolicy.publicOnly, maxResponseBytes = MAX_RESPONSE_BYTES } = opts;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new WebhookError('refused', 'webhook URL is not a valid URL');
  }
  // Only the origin goes to the log: a path or query string may carry the receiver's token.
  const where = `webhook ${u.protocol}//${u.host}`;
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username !== '' || u.password !== '')
    throw new WebhookError('refused', `${where}: only http(s) URLs without credentials are allowed`);

  const signal = AbortSignal.timeout(timeoutMs);
  const host = hostOf(u);
  let addresses: ReadonlyArray<{ address: string }>;
  if (isIP(host)) addresses = [{ address: host }];
  else {
    try {
      addresses = await untilAborted(policy.resolve(host), signal);
    } catch (err) {
      throw new WebhookError('failed', `${where}: cannot resolve ${host}: ${(err as Error).message}`, { cause: err });
    }
    if (addresses.length === 0) throw new WebhookError('failed', `${where}: ${host} has no address`);
  }
  for (const { address } of addresses) {
    const refusal = policy.refusal(host, address);
    if (refusal !== undefined) throw new WebhookError('refused', `${where}: ${refusal}`);
  }
  const pinned = addresses[0]!.address;

  const body = JSON.stringify({ event, data: payload });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const connector = buildConnector({ timeout: timeoutMs });
  // Connects to the checked address only; undici still derives Host and SNI from the URL.
  const agent = new Agent({ connect: (options, callback) => connector({ ...options, hostname: pinned }, callback) });
  try {
    const res = await request(u, {
      method: 'POST',
      body,
      headers: {
        ...opts.headers,
        'content-type': 'application/json',
        'user-agent': 'loupe-webhooks',
        'x-loupe-event': event,
        'x-loupe-timestamp': timestamp,
        [SIGNATURE_HEADER]: sign(secret, timestamp, body),
      },
      signal,
      dispatcher: agent,
    });
    let read = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      read += chunk.length;
      if (read >= maxResponseBytes) break; // the rest is dropped with the connection
    }
    if (res.statusCode >= 300 && res.statusCode < 400)
      throw new WebhookError('failed', `${where} answered ${res.statusCode} (redirects are not followed)`);
    if (res.statusCode < 200 || res.statusCode >= 300)
      throw new WebhookError('failed', `${where} answered ${res.statusCode}`);
    return res.statusCode;
  } catch (err) {
    if (err instanceof WebhookError) throw err;
    const e = signal.aborted ? new Error(`timed out after ${timeoutMs} ms`) : (err as Error);
    throw new WebhookError('failed', `${where} (${pinned}): ${e.message}`, { cause: err });
  } finally {
    await agent.destroy().catch(() => undefined);
  }
}

function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
