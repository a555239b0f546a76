import { availableCpus } from '../config/index.ts';
import { LocalBackend } from '../inference/index.ts';
import type { Metrics } from '../observability/index.ts';
import type { RoleDeps } from './deps.ts';

/** In-process inference (serve, model-server), sized to the CPUs this process may use. */
export function createLocalBackend(deps: RoleDeps, metrics: Metrics): LocalBackend {
  const cpus = availableCpus(deps.config.LOUPE_CPUS);
  return new LocalBackend({ config: deps.config, logger: deps.logger, metrics, cpus });
}
