import type { FastifyRequest } from 'fastify';
import type { PgBoss } from 'pg-boss';
import { ErrorCode, LoupeError, quoted } from '../errors.ts';
import { acceptStagedJob, type SubmitOptions } from '../jobs/index.ts';
import type { JobRequest, JobSender, JobStore } from '../storage/index.ts';
import { fileChunks, multipartBody, multipartParts, unsafeName } from './multipart.ts';
import { isDecimal } from './query-integers.ts';
import { MULTIPART_SLACK, givenField, parseMetadata, unsafeField } from './upload.ts';

export interface JobUploadDeps {
  /** Images per job, and bytes per image. */
  readonly limits: { readonly maxImages: number; readonly maxUploadBytes: number };
  readonly store: JobStore;
  readonly boss: PgBoss;
  readonly submit: SubmitOptions;
}

/**
 * POST /jobs, read as it arrives: each image goes to the database as its bytes arrive, in
 * pieces (about one piece in memory, whatever the job's size), the fields are checked once the
 * body is complete, then the job is queued. A request that fails on the way — a limit, a bad field,
 * the client gone — leaves no job behind: what was stored is removed.
 */
export async function receiveJob(
  req: FastifyRequest,
  deps: JobUploadDeps,
  sender: JobSender,
): Promise<{ id: string; created: boolean }> {
  const body = multipartBody(req);
  if (!body)
    throw new LoupeError(ErrorCode.UnsupportedMediaType, 'send multipart/form-data with one or more "file" fields');
  const { maxImages: max, maxUploadBytes } = deps.limits;
  const staged = await deps.store.stage(sender);
  try {
    const fields: Record<string, string> = {};
    const limits = {
      fileSize: maxUploadBytes,
      files: Math.max(4, max + 1),
      fields: 32,
      fieldSize: MULTIPART_SLACK,
      parts: max + 40,
      tooManyFiles: () => tooManyImages(max),
    };
    for await (const part of multipartParts(body, req.headers, limits)) {
      if (unsafeName(part.name)) throw unsafeField(part.name);
      if (part.kind === 'field') {
        // PostgreSQL text cannot hold NUL: refused here rather than failing the INSERT (a 500)
        if (part.value.includes('\0'))
          throw new LoupeError(
            ErrorCode.BadRequest,
            `the multipart field ${quoted(part.name)} contains a NUL character`,
          );
        fields[part.name] = part.value;
        continue;
      }
      if (part.name !== 'file' && part.name !== 'files') continue; // dropped unread
      const n = staged.count;
      if (n >= max) throw tooManyImages(max);
      if (part.filename.includes('\0'))
        throw new LoupeError(ErrorCode.BadRequest, `the name of file ${n} contains a NUL character`);
      const size = await staged.addImage(part.filename || undefined, fileChunks(part, maxUploadBytes));
      if (size === 0) throw new LoupeError(ErrorCode.EmptyBody, `file ${n} (${quoted(part.filename)}) is empty`);
    }
    return await acceptStagedJob(staged, deps.boss, jobRequest(fields, sender), deps.submit);
  } catch (err) {
    await staged.discard().catch((e: unknown) => req.log.warn({ err: e }, 'could not remove a refused job upload'));
    throw err;
  }
}

/**
 * One answer however the count is passed: the parser's file limit (it reads ahead of the
 * route) and the route's own count must not say different things. Clients read the limit
 * beforehand from GET /limits and split a larger selection.
 */
export const tooManyImages = (max: number) =>
  new LoupeError(
    ErrorCode.TooManyImages,
    `a job takes at most ${max} images (LOUPE_MAX_JOB_IMAGES on the server): split them into several jobs (GET /limits tells the limits)`,
  );

/** The job's fields, checked (empty ones are not given); `sender` adds the Idempotency-Key, its scope and the owner. */
function jobRequest(fields: Record<string, string>, sender: JobSender): JobRequest {
  const [model, version, top, webhookUrl] = [fields.model, fields.version, fields.top_k, fields.webhook_url].map(
    givenField,
  );
  // Decimal digits only: Number() would take "0x3", " 3" and "3e0".
  if (top !== undefined && (!isDecimal(top) || Number(top) < 1))
    throw new LoupeError(ErrorCode.BadRequest, 'top_k must be a positive whole number in decimal digits');
  const topK = top === undefined ? undefined : Number(top);
  if (version !== undefined && !/^\d+$/.test(version))
    throw new LoupeError(ErrorCode.BadRequest, 'version must be a number');
  return { ...sender, model, version, topK, webhookUrl, metadata: parseMetadata(fields.metadata) };
}
