import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Dispatcher } from 'undici';
import { formatBytes, PullError } from './errors.ts';
import type { ProgressSink } from '../../terminal/index.ts';

export interface Saved {
  readonly bytes: number;
  /** Hex SHA-256 of what was written. */
  readonly sha256: string;
}

export interface SaveOptions {
  readonly maxBytes: number;
  /** The size the source announced (Content-Length, the Hub's X-Linked-Size, a file's size). */
  readonly expected?: number | undefined;
  readonly label: string;
  readonly progress?: ProgressSink | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Streams `source` into `dest` (created, never overwritten), hashing and counting as it goes:
 * refused before the first byte when the announced size is over the limit, and as soon as
 * the bytes pass it when the size was not announced or was a lie. A transfer that ends
 * short of the announced size is an error, not a smaller model.
 */
export async function saveStream(source: AsyncIterable<Uint8Array>, dest: string, opts: SaveOptions): Promise<Saved> {
  const { maxBytes, expected, label, progress } = opts;
  if (expected !== undefined && expected > maxBytes)
    throw new PullError(`${label} is ${formatBytes(expected)}, over the ${formatBytes(maxBytes)} limit`);
  const hash = createHash('sha256');
  let bytes = 0;
  progress?.({ label, done: 0, total: expected });
  const count = async function* (chunks: AsyncIterable<Uint8Array>) {
    for await (const chunk of chunks) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw new PullError(`${label} is over the ${formatBytes(maxBytes)} limit`);
      hash.update(chunk);
      progress?.({ label, done: bytes, total: expected });
      yield chunk;
    }
  };
  try {
    await pipeline(source, count, createWriteStream(dest, { flags: 'wx' }), { signal: opts.signal });
  } catch (err) {
    if (err instanceof PullError || opts.signal?.aborted) throw err;
    const so = expected !== undefined ? ` after ${formatBytes(bytes)} of ${formatBytes(expected)}` : '';
    throw new PullError(`${label}: the transfer broke off${so} (${(err as Error).message})`);
  }
  if (expected !== undefined && bytes !== expected)
    throw new PullError(`${label}: the transfer ended after ${formatBytes(bytes)} of ${formatBytes(expected)}`);
  progress?.({ label, done: bytes, total: expected ?? bytes, end: true });
  return { bytes, sha256: hash.digest('hex') };
}

/** Content-Length, when the server sent one. */
export function contentLength(res: Dispatcher.ResponseData): number | undefined {
  const v = res.headers['content-length'];
  return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** A non-2xx answer as one line; the body is dropped. */
export async function statusError(what: string, res: Dispatcher.ResponseData): Promise<PullError> {
  await res.body.dump().catch(() => undefined);
  return new PullError(`${what}: the server answered ${res.statusCode}`);
}

/** A small file (a JSON config), read whole up to `max` bytes; undefined on 404. */
export async function readSmall(
  res: Dispatcher.ResponseData,
  what: string,
  max = 1024 * 1024,
): Promise<Buffer | undefined> {
  if (res.statusCode === 404) {
    await res.body.dump();
    return undefined;
  }
  if (res.statusCode < 200 || res.statusCode >= 300) throw await statusError(what, res);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) {
      res.body.destroy();
      throw new PullError(`${what} is over ${formatBytes(max)}`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
