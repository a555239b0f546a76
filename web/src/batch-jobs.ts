import { planJobs, type JobLimits, type JobPlan } from '../../src/cli/client/job-plan.ts';
import { ApiError, api, type Job } from './api.ts';

export const finished = (j: Job) => j.status === 'completed' || j.status === 'failed';

/**
 * The chosen files cut into jobs the server takes, by its GET /limits (a server without that
 * route: one job, as chosen). A file over the per-image limit is refused here, before any upload,
 * as the server would refuse it: 413, naming the variable.
 */
export async function planBatch(key: string, files: readonly File[]): Promise<JobPlan> {
  let limits: JobLimits | undefined;
  try {
    limits = await api<JobLimits>(key, '/limits');
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  try {
    return planJobs(
      files.map((f) => ({ path: f.name, bytes: f.size })),
      limits,
    );
  } catch (e) {
    throw new ApiError(413, 'PAYLOAD_TOO_LARGE', (e as Error).message);
  }
}

/**
 * Several jobs shown (and downloaded) as one: items in the order chosen, progress summed;
 * finished when all are, failed when any failed.
 */
export function mergeJobs(jobs: readonly Job[], groups: readonly number[][]): Job {
  if (jobs.length === 1) return jobs[0]!;
  const items = jobs
    .flatMap((j, n) => j.items.map((it) => ({ ...it, index: groups[n]?.[it.index] ?? it.index })))
    .sort((a, b) => a.index - b.index);
  const sum = (k: keyof Job['progress']) => jobs.reduce((s, j) => s + j.progress[k], 0);
  const status: Job['status'] = jobs.every(finished)
    ? jobs.some((j) => j.status === 'failed')
      ? 'failed'
      : 'completed'
    : jobs.some((j) => j.status !== 'queued')
      ? 'running'
      : 'queued';
  return {
    id: `${jobs[0]!.id}+${jobs.length - 1}`,
    status,
    progress: { total: sum('total'), done: sum('done'), failed: sum('failed') },
    items,
  };
}
