import { availableCpus, type Config } from '../config/index.ts';

/**
 * Process-wide settings, applied once by the CLI before a role starts: image decoding runs on
 * the libuv pool (roles/local.ts), sized here because libuv reads UV_THREADPOOL_SIZE only on
 * first use.
 */
export function configureProcess(config: Config): void {
  const decoders = config.LOUPE_DECODE_THREADS || availableCpus(config.LOUPE_CPUS);
  process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, decoders));
}
