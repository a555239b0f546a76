import { ApiError, type ApiClient } from './http.ts';
import type { JobLimits } from './job-plan.ts';

export { planJobs, type JobLimits, type JobPlan, type SizedFile } from './job-plan.ts';

/** The server's job limits (GET /limits), or undefined from a server without that route (it then takes one job as sent). */
export async function fetchLimits(client: ApiClient): Promise<JobLimits | undefined> {
  try {
    return (await client.json<JobLimits>({ method: 'GET', path: 'limits' })).body;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}
