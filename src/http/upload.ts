import type { FastifyRequest } from 'fastify';
import { ErrorCode, LoupeError } from '../errors.ts';

export interface Upload {
  readonly bytes: Buffer;
  /** Text fields sent beside the file in a multipart body. */
  readonly fields: Record<string, string>;
}

/**
 * The image of a request: multipart field `file`, or a raw image/* (or octet-stream) body.
 * Size limits are enforced while streaming (multipart) or by the body parser (raw), so an
 * oversized upload is refused without being held in memory.
 */
export async function readUpload(req: FastifyRequest): Promise<Upload> {
  if (req.isMultipart()) {
    let bytes: Buffer | undefined;
    const fields: Record<string, string> = {};
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        if (part.fieldname === 'file' && !bytes) bytes = await part.toBuffer();
        else part.file.resume(); // a second or misnamed file: drain it, never keep it
      } else if (typeof part.value === 'string') {
        fields[part.fieldname] = part.value;
      }
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

/** Every `file` part of a multipart body (POST /jobs), each within the per-file limit. */
export async function readUploads(
  req: FastifyRequest,
  maxFiles: number,
): Promise<{ files: Array<{ filename: string; bytes: Buffer }>; fields: Record<string, string> }> {
  if (!req.isMultipart())
    throw new LoupeError(ErrorCode.UnsupportedMediaType, 'send multipart/form-data with one or more "file" fields');
  const files: Array<{ filename: string; bytes: Buffer }> = [];
  const fields: Record<string, string> = {};
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      if (part.fieldname !== 'file' && part.fieldname !== 'files') {
        part.file.resume();
        continue;
      }
      if (files.length >= maxFiles)
        throw new LoupeError(ErrorCode.BadRequest, `a job takes at most ${maxFiles} images`);
      const bytes = await part.toBuffer();
      if (bytes.length === 0)
        throw new LoupeError(ErrorCode.EmptyBody, `file ${files.length} ("${part.filename}") is empty`);
      if (part.filename.includes('\0'))
        throw new LoupeError(ErrorCode.BadRequest, `the name of file ${files.length} contains a NUL character`);
      files.push({ filename: part.filename, bytes });
    } else if (typeof part.value === 'string') {
      // PostgreSQL text cannot hold NUL: refused here rather than failing the INSERT (a 500)
      if (part.value.includes('\0'))
        throw new LoupeError(ErrorCode.BadRequest, `the multipart field "${part.fieldname}" contains a NUL character`);
      fields[part.fieldname] = part.value;
    }
  }
  return { files, fields };
}

/** Refuses a declared Content-Length over the limit before a byte of the body is read. */
export function checkDeclaredLength(req: FastifyRequest, maxBytes: number): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  // multipart adds boundaries and part headers around the file
  if (declared > maxBytes + 64 * 1024) {
    throw new LoupeError(ErrorCode.PayloadTooLarge, `the upload is ${declared} bytes; the limit is ${maxBytes}`);
  }
}

/** The multipart `metadata` field: a JSON object of strings, stored with the prediction or job. */
export function parseMetadata(raw: string | undefined): Record<string, string> {
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
