import sharp from 'sharp';
import { availableCpus, type Config } from '../config/index.ts';

/**
 * Process-wide settings, applied once by the CLI before a role starts. One libvips thread per
 * image and no libvips cache: parallelism comes from decoding several uploads at once on the
 * libuv pool, which is sized here because libuv reads UV_THREADPOOL_SIZE only on first use.
 */
export function configureProcess(config: Config): void {
  sharp.concurrency(1);
  sharp.cache(false);
  const decoders = config.LOUPE_DECODE_THREADS || availableCpus(config.LOUPE_CPUS);
  process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, decoders));
}
