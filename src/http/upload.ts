import type { FastifyRequest } from 'fastify';
import { ErrorCode, LoupeError, quoted } from '../errors.ts';
import { multipartBody, multipartParts, readFilePart, unsafeName } from './multipart.ts';

export interface Upload {
  readonly bytes: Buffer;
  /** Text fields sent beside the file in a multipart body. */
  readonly fields: Record<string, string>;
}

/** Bytes multipart adds around a file (boundaries, part headers, small fields). */
export const MULTIPART_SLACK = 64 * 1024;

/**
 * The image of a request: multipart field `file`, or a raw image/* (or octet-stream) body.
 * Size limits are enforced while streaming (the body meter, busboy's per-file limit, Fastify's
 * body limit), so an oversized upload is refused without being held in memory.
 */
export async function readUpload(req: FastifyRequest, maxBytes: number): Promise<Upload> {
  const multipart = multipartBody(req);
  if (multipart) {
    let bytes: Buffer | undefined;
    const fields: Record<string, string> = {};
    const limits = { fileSize: maxBytes, files: 8, fields: 32, fieldSize: MULTIPART_SLACK, parts: 40 };
    for await (const part of multipartParts(multipart, req.headers, limits)) {
      if (unsafeName(part.name)) throw unsafeField(part.name);
      // a second or misnamed file is dropped unread, never kept
      if (part.kind === 'file' && part.name === 'file' && !bytes)
        bytes = await readFilePart(part, maxBytes, Number(req.headers['content-length'] ?? 0));
      else if (part.kind === 'field') fields[part.name] = part.value;
    }
    if (!bytes)
      throw new LoupeError(
        ErrorCode.MissingFile,
        'the multipart body has no "file" field; send the image as -F file=@photo.jpg',
      );
    if (bytes.length === 0) throw new LoupeError(ErrorCode.EmptyBody, 'the uploaded file is empty (0 bytes)');
    return { bytes, fields };
  }
  const body = req.body;
  if (Buffer.isBuffer(body)) {
    if (body.length === 0) throw new LoupeError(ErrorCode.EmptyBody, 'the request body is empty; send an image');
    return { bytes: body, fields: {} };
  }
  if (body === undefined || body === null || req.headers['content-length'] === '0') {
    throw new LoupeError(
      ErrorCode.EmptyBody,
      'the request body is empty; send multipart/form-data with a "file" field or a raw image body',
    );
  }
  throw new LoupeError(
    ErrorCode.UnsupportedMediaType,
    `content type ${req.headers['content-type'] ?? '(none)'} is not accepted; send multipart/form-data or image/*`,
  );
}

/** A multipart field named like an object's own machinery (`__proto__`…), refused rather than used as a key. */
export const unsafeField = (name: string) =>
  new LoupeError(ErrorCode.BadRequest, `the multipart field name ${quoted(name)} is not allowed`);

/**
 * A multipart text field as the request means it: an empty (or blank) field is one the user
 * left, as HTML forms and Swagger UI's "Try it out" send them, so it counts as not given.
 */
export const givenField = (raw: string | undefined): string | undefined =>
  raw === undefined || raw.trim() === '' ? undefined : raw;

/** The multipart `metadata` field: a JSON object of strings, stored with the prediction or job. */
export function parseMetadata(field: string | undefined): Record<string, string> {
  const raw = givenField(field);
  if (raw === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new LoupeError(ErrorCode.BadRequest, 'metadata must be a JSON object of strings');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new LoupeError(ErrorCode.BadRequest, 'metadata must be a JSON object of strings');
  }
  // PostgreSQL's jsonb cannot hold \u0000: refused here rather than failing the INSERT (a 500)
  if (Object.entries(v).some(([k, x]) => k.includes('\0') || (x as string).includes('\0'))) {
    throw new LoupeError(ErrorCode.BadRequest, 'metadata must not contain NUL characters (\\u0000)');
  }
  return v as Record<string, string>;
}
