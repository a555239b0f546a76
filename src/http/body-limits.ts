import { Transform, finished, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, LoupeError } from '../errors.ts';
import { LINGER_MS } from './client-errors.ts';
import { bodyEncoding, decodeBody, type BodyEncoding } from './body-decoding.ts';
import type { UploadBudget } from './upload-budget.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A route's body limits, counted as the bytes arrive (chunked or not): `max` for the whole
     * body (413 past it), `resident` for what of it the route holds in memory at once, which is
     * what it reserves from the upload budget (default: `max`).
     */
    bodyLimits?: { max: number; resident?: number };
  }
}

export interface BodyLimitOptions {
  /** The limit of routes that name none (Fastify's bodyLimit). */
  readonly maxBytes: number;
  readonly budget: UploadBudget;
  readonly retryAfterS: number;
}

/**
 * Every request body goes through a meter before any parser (raw, JSON or multipart) reads it:
 * it counts the bytes as they arrive and refuses — before they are buffered — a body over its
 * route's limit (413) or one the upload budget has no room for (503 + Retry-After). A declared
 * Content-Length is checked and reserved up front; a chunked body reserves as its chunks arrive.
 * The reservation is given back when the response ends, however it ends.
 *
 * A gzip- or deflate-encoded body (Content-Encoding) is decoded on its way to the parser, and
 * the limits then apply to the decoded bytes too: the route limit to what it decodes to, the
 * budget to the larger of the bytes received and the bytes decoded.
 */
export function registerBodyLimits(app: FastifyInstance, opts: BodyLimitOptions): void {
  app.addHook('preParsing', async (req, reply, payload) => {
    const declared = req.headers['content-length'];
    if (declared === undefined && req.headers['transfer-encoding'] === undefined) return payload;
    const limits = req.routeOptions.config.bodyLimits;
    const max = limits?.max ?? opts.maxBytes;
    const meter = new BodyMeter(max, Math.min(max, limits?.resident ?? max), opts);
    meter.on('error', () => undefined); // its reader (a parser or a route) handles it; unread, it must not crash
    reply.raw.once('close', () => meter.release());
    afterAnswer(req, reply);
    const encoding = declared === '0' ? 'identity' : requestEncoding(req, reply);
    const length = declared === undefined ? undefined : Number(declared);
    if (length !== undefined) {
      if (length > max) throw tooLarge(length, max);
      if (!meter.reserve(length)) throw overloaded(opts);
    }
    payload.pipe(meter);
    // A client that goes away mid-body: the parser reading the meter must hear of it.
    finished(req.raw, (err) => {
      if (err) meter.destroy(err);
    });
    if (encoding === 'identity') return meter;
    return decodeBody(meter, encoding, (decoded) => {
      if (decoded > max) throw tooLarge(decoded, max, 'at least ', 'decoded ');
      if (!meter.reserve(decoded)) throw overloaded(opts);
    });
  });
}

/** Counts a body's bytes on their way to the parser and reserves them from the budget. */
class BodyMeter extends Transform {
  private bytes = 0;
  private reserved = 0;
  private readonly max: number;
  private readonly resident: number;
  private readonly opts: BodyLimitOptions;

  constructor(max: number, resident: number, opts: BodyLimitOptions) {
    super();
    this.max = max;
    this.resident = resident;
    this.opts = opts;
  }

  /** Bytes received so far (encoded, when the body is). */
  get received(): number {
    return this.bytes;
  }

  /** Reserves up to `bytes` (never more than the route holds at once); false when the budget has no room. */
  reserve(bytes: number): boolean {
    const want = Math.min(bytes, this.resident) - this.reserved;
    if (want <= 0) return true;
    if (!this.opts.budget.tryReserve(want, this.reserved)) return false;
    this.reserved += want;
    return true;
  }

  release(): void {
    this.opts.budget.release(this.reserved);
    this.reserved = 0;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) return done(tooLarge(this.bytes, this.max, 'at least '));
    if (!this.reserve(this.bytes)) return done(overloaded(this.opts));
    done(null, chunk);
  }
}

/**
 * A body the answer came before (refused, or not needed): what is left of it is read and
 * dropped, never kept, for up to LINGER_MS after the answer — so a client still sending reads
 * the answer rather than a connection reset, and one that finishes in time keeps its
 * connection — then the connection is cut (as clientErrorHandler does for parser errors).
 */
function afterAnswer(req: FastifyRequest, reply: FastifyReply): void {
  const raw = req.raw;
  reply.raw.once('finish', () => {
    if (raw.complete) return;
    raw.unpipe();
    raw.resume();
    const cut = setTimeout(() => raw.socket?.destroy(), LINGER_MS);
    cut.unref();
    raw.once('end', () => clearTimeout(cut));
  });
}

/** The body's Content-Encoding; a 415 names the codings Loupe decodes (Accept-Encoding, as RFC 9110 asks). */
function requestEncoding(req: FastifyRequest, reply: FastifyReply): BodyEncoding {
  try {
    return bodyEncoding(req.headers['content-encoding']);
  } catch (err) {
    reply.header('accept-encoding', 'gzip, deflate');
    throw err;
  }
}

const tooLarge = (bytes: number, max: number, atLeast = '', decoded = '') =>
  new LoupeError(
    ErrorCode.PayloadTooLarge,
    `the ${decoded}request body is ${atLeast}${bytes} bytes; the limit is ${max}`,
  );

const overloaded = (opts: BodyLimitOptions) =>
  new LoupeError(ErrorCode.Overloaded, 'too many uploads are being received at once; retry shortly', {
    retryAfterS: opts.retryAfterS,
  });
