import { Transform, type Readable, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { ErrorCode, LoupeError, quoted } from '../errors.ts';

/** A request body's Content-Encoding, among those Loupe decodes (Triton's: gzip, deflate). */
export type BodyEncoding = 'identity' | 'gzip' | 'deflate';

/** The request's Content-Encoding; 415 for one Loupe cannot decode (before a byte is read). */
export function bodyEncoding(header: string | undefined): BodyEncoding {
  const e = (header ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity') return 'identity';
  if (e === 'gzip' || e === 'x-gzip') return 'gzip';
  if (e === 'deflate') return 'deflate';
  throw new LoupeError(
    ErrorCode.UnsupportedMediaType,
    `Content-Encoding ${quoted(header)} is not supported; send the body as it is, or gzip- or deflate-encoded`,
  );
}

/**
 * The decoded body of a gzip- or deflate-encoded request, read as the parser (or route) reads
 * it, so a compression bomb is stopped after at most its limit of decoded bytes: `count` sees
 * the running total of decoded bytes after each chunk and throws to refuse the body (413,
 * 503). Corrupt data is a 400. `receivedEncodedLength` tells Fastify how many bytes came over
 * the wire, which is what Content-Length counts.
 */
export function decodeBody(
  encoded: Readable & { readonly received: number },
  encoding: Exclude<BodyEncoding, 'identity'>,
  count: (decodedBytes: number) => void,
): Readable {
  const inflate = encoding === 'gzip' ? zlib.createGunzip() : zlib.createInflate();
  const decoded = new DecodedCounter(encoded, count);
  decoded.on('error', () => undefined); // its reader handles it; unread, it must not crash
  encoded.on('error', (err) => decoded.destroy(err));
  inflate.on('error', (err) => decoded.destroy(corrupt(encoding, err)));
  // Once the reader has all it takes (or failed), nothing more is inflated.
  decoded.once('close', () => inflate.destroy());
  encoded.pipe(inflate).pipe(decoded);
  return decoded;
}

class DecodedCounter extends Transform {
  private decoded = 0;
  private readonly encoded: { readonly received: number };
  private readonly count: (decodedBytes: number) => void;

  constructor(encoded: { readonly received: number }, count: (decodedBytes: number) => void) {
    super();
    this.encoded = encoded;
    this.count = count;
  }

  /** Read by Fastify's body reader: compared with Content-Length and the body limit. */
  get receivedEncodedLength(): number {
    return this.encoded.received;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.decoded += chunk.length;
    try {
      this.count(this.decoded);
    } catch (err) {
      return done(err as Error);
    }
    done(null, chunk);
  }
}

function corrupt(encoding: string, err: Error): LoupeError {
  const why = err.message.replace(/\.$/, '');
  return new LoupeError(ErrorCode.BadRequest, `the ${encoding}-encoded request body could not be decoded (${why})`, {
    cause: err,
  });
}
