import { readFileSync } from 'node:fs';
import os from 'node:os';

/** CPUs this process may really use: the cgroup v2/v1 CPU quota in a container, else the core count. */
export function availableCpus(override = 0): number {
  if (override > 0) return override;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const quota = cgroupQuota();
  return quota ? Math.max(1, Math.min(cores, Math.floor(quota))) : cores;
}

function cgroupQuota(): number | undefined {
  try {
    const [max, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (max && max !== 'max' && period) return Number(max) / Number(period);
    return undefined;
  } catch {
    /* not cgroup v2 */
  }
  try {
    const quota = Number(readFileSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us', 'utf8'));
    const period = Number(readFileSync('/sys/fs/cgroup/cpu/cpu.cfs_period_us', 'utf8'));
    return quota > 0 && period > 0 ? quota / period : undefined;
  } catch {
    return undefined;
  }
}
