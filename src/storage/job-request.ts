import { createHash } from 'node:crypto';

export interface NewJob {
  readonly images: ReadonlyArray<{ filename?: string | undefined; bytes: Uint8Array }>;
  readonly model?: string | undefined;
  readonly version?: string | undefined;
  readonly topK?: number | undefined;
  readonly webhookUrl?: string | undefined;
  readonly idempotencyKey?: string | undefined;
  /** Whose Idempotency-Key it is: the API key's id ('' for everyone when auth is off). */
  readonly idempotencyScope?: string | undefined;
  /** The API key that made the job (null when auth is off); its items' predictions get the same owner. */
  readonly owner?: string | null | undefined;
  readonly metadata: Record<string, string>;
}

/** What JobStore.create did: made the job, or found the job its Idempotency-Key made before. */
export type CreatedJob =
  | { readonly id: string; readonly created: true }
  /** sameRequest: the request fingerprints match (or the job predates fingerprints). */
  | { readonly id: string; readonly created: false; readonly sameRequest: boolean };

/** What defines a job besides its images; known only once a streamed request has been read to the end. */
export type JobRequest = Omit<NewJob, 'images'>;

/**
 * The SHA-256 fingerprint of what defines a job: model, version, top_k, webhook_url, metadata
 * (key order does not matter) and each image's bytes, in order (the SHA-256 of each, hashed
 * off the main thread: a job may carry a gigabyte). File names are not part of it. An
 * Idempotency-Key may only be sent again with the same fingerprint.
 */
export async function jobFingerprint(job: NewJob): Promise<string> {
  return requestFingerprint(job, await Promise.all(job.images.map(({ bytes }) => imageDigest(bytes))));
}

/** One image's part of the fingerprint: its SHA-256, hex (a streamed job hashes each image as it arrives). */
async function imageDigest(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex');
}

/** The fingerprint (as jobFingerprint) from the request and its images' digests, in order. */
export function requestFingerprint(job: JobRequest, images: readonly string[]): string {
  const canonical = JSON.stringify({
    v: 1,
    model: job.model ?? null,
    version: job.version ?? null,
    top_k: job.topK ?? null,
    webhook_url: job.webhookUrl ?? null,
    metadata: Object.entries(job.metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    images,
  });
  return createHash('sha256').update(canonical).digest('hex');
}
