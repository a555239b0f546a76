import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-loupe-signature';

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, as Stripe-style receivers verify it. */
export function sign(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** One delivery attempt; throws on a network error or a non-2xx answer (the queue retries). */
export async function deliver(
  url: string,
  secret: string,
  event: string,
  payload: unknown,
  timeoutMs = 10_000,
): Promise<number> {
  const body = JSON.stringify({ event, data: payload });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'loupe-webhooks',
      'x-loupe-event': event,
      'x-loupe-timestamp': timestamp,
      [SIGNATURE_HEADER]: sign(secret, timestamp, body),
    },
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'manual',
  });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status >= 300) throw new Error(`webhook ${url} answered ${res.status}`);
  return res.status;
}
