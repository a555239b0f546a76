import sharp from 'sharp';
import { availableCpus } from '../config/index.ts';
import { LocalBackend } from '../inference/local/index.ts';
import type { Metrics } from '../observability/index.ts';
import type { RoleDeps } from './deps.ts';

/** In-process inference (serve, model-server), sized to the CPUs this process may use. */
export function createLocalBackend(deps: RoleDeps, metrics: Metrics): LocalBackend {
  // One libvips thread per image and no libvips cache: parallelism comes from decoding several
  // uploads at once on the libuv pool (roles/process.ts sizes it).
  sharp.concurrency(1);
  sharp.cache(false);
  const cpus = availableCpus(deps.config.LOUPE_CPUS);
  return new LocalBackend({ config: deps.config, logger: deps.logger, metrics, cpus });
}
