import { Transform, finished, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, LoupeError } from '../errors.ts';
import { LINGER_MS } from './client-errors.ts';
import { bodyEncoding, decodeBody, type BodyEncoding } from './body-decoding.ts';
import type { RateFloor, RateWatch, UploadBudget, UploadCharge } from '../admission/index.ts';
import { clientOf } from './rate-limit.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A route's body limits, counted as the bytes arrive (chunked or not): `max` for the whole
     * body (413 past it), `resident` for what of it the route holds in memory at once, which is
     * the most it is charged from the upload budget (default: `max`).
     */
    bodyLimits?: { max: number; resident?: number };
  }
}

export interface BodyLimitOptions {
  /** The limit of routes that name none (Fastify's bodyLimit). */
  readonly maxBytes: number;
  readonly budget: UploadBudget;
  readonly rateFloor: RateFloor;
}

/**
 * Every request body goes through a meter before any parser (raw, JSON or multipart) reads it,
 * the HTTP translation of the admission rules (src/admission/): it counts the bytes as they
 * arrive and refuses — before they are buffered — a body over its route's limit (413), one its
 * client's share of the upload budget has no room for (429 + Retry-After) or the whole budget
 * (503 + Retry-After), and one that arrives below the minimum data rate (408). A declared
 * Content-Length over the limit is refused at once; within it, nothing is charged for bytes not
 * yet received. What a body holds is given back when it is cut or the response ends.
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
    const length = declared === undefined ? undefined : Number(declared);
    if (length !== undefined && length > max) throw tooLarge(length, max);
    const resident = Math.min(max, limits?.resident ?? max);
    const meter = new BodyMeter(max, resident, opts.budget.open(clientOf(req)));
    meter.on('error', () => undefined); // its reader (a parser or a route) handles it; unread, it must not crash
    const watch = length === 0 ? undefined : opts.rateFloor.watch((err) => meter.cut(err));
    meter.once('finish', () => watch?.stop()); // every byte is in
    meter.watch = watch;
    reply.raw.once('close', () => {
      watch?.stop();
      meter.charge.release();
    });
    afterAnswer(req, reply);
    const encoding = declared === '0' ? 'identity' : requestEncoding(req, reply);
    payload.pipe(meter);
    // A client that goes away mid-body: the parser reading the meter must hear of it.
    finished(req.raw, (err) => {
      if (err) meter.destroy(err);
    });
    if (encoding === 'identity') return meter;
    return decodeBody(meter, encoding, (decoded) => {
      if (decoded > max) throw tooLarge(decoded, max, 'at least ', 'decoded ');
      const refused = meter.charge.growTo(Math.min(decoded, resident));
      if (refused) throw refused;
    });
  });
}

/** Counts a body's bytes on their way to the parser, charges them to its client, feeds the rate floor. */
class BodyMeter extends Transform {
  readonly charge: UploadCharge;
  watch: RateWatch | undefined;
  private bytes = 0;
  private readonly max: number;
  private readonly resident: number;

  constructor(max: number, resident: number, charge: UploadCharge) {
    super();
    this.max = max;
    this.resident = resident;
    this.charge = charge;
  }

  /** Bytes received so far (encoded, when the body is). */
  get received(): number {
    return this.bytes;
  }

  /** Ends the body with `err` (too slow): what it held is given back now, not when the answer is sent. */
  cut(err: Error): void {
    this.charge.release();
    this.destroy(err);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.watch?.arrived(chunk.length);
    if (this.bytes > this.max) return done(tooLarge(this.bytes, this.max, 'at least '));
    const refused = this.charge.growTo(Math.min(this.bytes, this.resident));
    if (refused) return done(refused);
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
