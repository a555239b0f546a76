// How a selection of images is cut into jobs the server takes. Plain TypeScript without
// imports: the page's Batch tab (web/src/batch.tsx) splits by the same rule as `loupe jobs submit`.

/** What the server says of its job limits (GET /limits); older servers without it: undefined. */
export interface JobLimits {
  readonly max_job_images: number;
  readonly max_upload_bytes: number;
  readonly max_job_bytes: number;
}

export interface SizedFile {
  readonly path: string;
  readonly bytes: number;
}

/** Room in a job's body for the fields and the multipart framing of each file (its part headers). */
const FIELDS_ROOM = 8 * 1024;
const PART_ROOM = (name: string) => 512 + new TextEncoder().encode(name).length;

export interface JobPlan {
  /** Indexes into the files, one list per job, in order. */
  readonly jobs: number[][];
  /** Why there is more than one job, for the line that says so; undefined for one job. */
  readonly why?: string;
}

/**
 * The files in as few jobs as the server's limits allow, in order: at most `max_job_images`
 * each, and bodies under `max_job_bytes`. A file over `max_upload_bytes` is refused here,
 * before anything is sent: the server would refuse the whole job for it.
 */
export function planJobs(files: readonly SizedFile[], limits: JobLimits | undefined): JobPlan {
  if (!limits) return { jobs: [files.map((_, i) => i)] };
  const big = files.find((f) => f.bytes > limits.max_upload_bytes);
  if (big)
    throw new Error(
      `${big.path} is ${big.bytes} bytes, over the server's limit of ${limits.max_upload_bytes} bytes per image (LOUPE_MAX_UPLOAD_BYTES); nothing was sent`,
    );
  const jobs: number[][] = [];
  let current: number[] = [];
  let bytes = FIELDS_ROOM;
  let bytesSplit = false;
  files.forEach((f, i) => {
    const cost = f.bytes + PART_ROOM(f.path);
    if (FIELDS_ROOM + cost > limits.max_job_bytes)
      throw new Error(
        `${f.path} is ${f.bytes} bytes: a job with it would be over the server's limit of ${limits.max_job_bytes} bytes per job (LOUPE_MAX_JOB_BYTES); nothing was sent`,
      );
    const full = current.length === limits.max_job_images;
    const heavy = current.length > 0 && bytes + cost > limits.max_job_bytes;
    if (full || heavy) {
      bytesSplit ||= heavy && !full;
      jobs.push(current);
      current = [];
      bytes = FIELDS_ROOM;
    }
    current.push(i);
    bytes += cost;
  });
  jobs.push(current);
  if (jobs.length === 1) return { jobs };
  const why = bytesSplit
    ? `more than one job may carry on this server (${limits.max_job_images} images, LOUPE_MAX_JOB_IMAGES; ${limits.max_job_bytes} bytes, LOUPE_MAX_JOB_BYTES)`
    : `more than one job may carry on this server (${limits.max_job_images}, LOUPE_MAX_JOB_IMAGES)`;
  return { jobs, why: `${files.length} images are ${why}: sending them as ${jobs.length} jobs` };
}
