import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { Busboy, type BusboyFileStream, type BusboyInstance } from '@fastify/busboy';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode, LoupeError, quoted } from '../errors.ts';

export interface MultipartLimits {
  /** Bytes of one file part; a larger one is refused (413) as soon as it passes the limit. */
  readonly fileSize: number;
  readonly files: number;
  readonly fields: number;
  /** Bytes of one text field. */
  readonly fieldSize: number;
  readonly parts: number;
  /** The error for a body with more file parts than `files`, when the route words it (POST /jobs: too many images). */
  readonly tooManyFiles?: () => Error;
}

export type Part =
  | { readonly kind: 'field'; readonly name: string; readonly value: string }
  | { readonly kind: 'file'; readonly name: string; readonly filename: string; readonly stream: BusboyFileStream };
export type FilePart = Extract<Part, { kind: 'file' }>;

/**
 * multipart/form-data is parsed by the route that takes it, part by part as it arrives
 * (multipartParts), not by a body parser that would hold it all first: the parser only hands
 * the route the body stream (already metered by registerBodyLimits).
 */
export function registerMultipart(app: FastifyInstance): void {
  app.addContentTypeParser('multipart/form-data', (_req, payload, done) => done(null, payload));
}

/** The body stream of a multipart request, or undefined when the request is not multipart. */
export function multipartBody(req: FastifyRequest): Readable | undefined {
  const type = req.headers['content-type'] ?? '';
  return /^multipart\/form-data/i.test(type) && req.body instanceof Readable ? req.body : undefined;
}

/**
 * The parts of a multipart body in order, one at a time. A file part must be read (or is
 * dropped when the loop moves on) before the next part is parsed — busboy holds the body back
 * meanwhile — so a route holds at most one file at a time. Errors of the body stream (a limit,
 * the upload budget, a client gone) end the iteration and the file being read with that error.
 */
export async function* multipartParts(
  body: Readable,
  headers: IncomingHttpHeaders,
  limits: MultipartLimits,
): AsyncGenerator<Part, void, undefined> {
  let bb: BusboyInstance;
  try {
    bb = new Busboy({ headers: headers as { 'content-type': string }, limits });
  } catch (err) {
    throw malformed(err as Error);
  }
  const queue: Part[] = [];
  let failure: Error | undefined;
  let finished = false;
  let current: BusboyFileStream | undefined;
  let wake: (() => void) | undefined;
  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const fail = (err: Error) => {
    failure ??= err;
    current?.destroy(failure);
    signal();
  };
  const tooMany = (what: string, n: number) => () =>
    fail(new LoupeError(ErrorCode.BadRequest, `the multipart body has more than ${n} ${what}`));
  bb.on('field', (name, value, _nameTruncated, valueTruncated) => {
    if (valueTruncated)
      return fail(
        new LoupeError(ErrorCode.BadRequest, `the multipart field ${quoted(name)} is over ${limits.fieldSize} bytes`),
      );
    queue.push({ kind: 'field', name, value });
    signal();
  });
  bb.on('file', (name, stream, filename) => {
    stream.on('error', () => undefined); // read by the route, or dropped; a late error has nobody to tell
    queue.push({ kind: 'file', name, filename: filename ?? '', stream });
    signal();
  });
  bb.on('filesLimit', limits.tooManyFiles ? () => fail(limits.tooManyFiles!()) : tooMany('files', limits.files));
  bb.on('fieldsLimit', tooMany('fields', limits.fields));
  bb.on('partsLimit', tooMany('parts', limits.parts));
  bb.on('error', (err: Error) => fail(malformed(err)));
  bb.on('finish', () => {
    finished = true;
    signal();
  });
  // The body may have failed while the caller was busy (the upload budget ran out, the client
  // went away): piping a destroyed stream emits nothing, so say so now instead of waiting.
  if (body.errored) throw body.errored;
  if (body.destroyed) throw malformed(new Error('the request body ended before it was read'));
  body.on('error', fail);
  body.pipe(bb);
  try {
    for (;;) {
      if (failure) throw failure;
      const part = queue.shift();
      if (part) {
        if (part.kind === 'file') current = part.stream;
        yield part;
        // A part the route did not read is dropped, so parsing goes on.
        if (part.kind === 'file' && !part.stream.readableEnded) part.stream.resume();
        continue;
      }
      if (finished) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    body.unpipe(bb);
    body.off('error', fail);
    for (const p of queue) if (p.kind === 'file') p.stream.resume();
  }
}

/**
 * A file part's bytes, refused (413) as soon as it passes `maxBytes` (busboy's fileSize limit).
 * With `sizeHint` (the body's Content-Length, which bounds the file) the bytes are copied into
 * one buffer as they arrive, so the chunks can be collected meanwhile: one copy held, not two.
 */
export async function readFilePart(part: FilePart, maxBytes: number, sizeHint?: number): Promise<Buffer> {
  const into = sizeHint && sizeHint > 0 ? Buffer.allocUnsafe(Math.min(sizeHint, maxBytes)) : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of fileChunks(part, maxBytes)) {
    if (into && size + chunk.length <= into.length) chunk.copy(into, size);
    else chunks.push(chunk);
    size += chunk.length;
  }
  if (!into) return Buffer.concat(chunks, size);
  if (chunks.length) throw new Error('a file part is larger than the body it came in'); // cannot happen: the parser counts
  return into.subarray(0, size);
}

/** A file part's chunks as they arrive, refused (413) as soon as the file passes `maxBytes`. */
export async function* fileChunks(part: FilePart, maxBytes: number): AsyncGenerator<Buffer, void, undefined> {
  const { stream } = part;
  const over = () =>
    new LoupeError(ErrorCode.PayloadTooLarge, `file ${quoted(part.filename)} is over the limit of ${maxBytes} bytes`);
  if (stream.truncated) throw over();
  // busboy goes on reading (and dropping) the rest of a truncated file: stop at once instead.
  const onLimit = () => stream.destroy(over());
  stream.once('limit', onLimit);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (stream.truncated) throw over();
      yield chunk;
    }
  } catch (err) {
    // busboy's own errors on a part ("Part terminated early") are the client's malformed body
    throw err instanceof LoupeError ? err : malformed(err as Error);
  } finally {
    stream.off('limit', onLimit);
  }
  if (stream.truncated) throw over();
}

/** A field name that would write an object's prototype (`__proto__`, `constructor`…) when used as a key. */
export const unsafeName = (name: string) => name in Object.prototype;

function malformed(err: Error): LoupeError {
  return new LoupeError(ErrorCode.BadRequest, `malformed multipart body: ${err.message}`, { cause: err });
}
