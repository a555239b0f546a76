/**
 * How Node runs Loupe. Memory is what a replica costs, and these settings are most of the
 * difference between a Loupe process and a bare Node one (measured in `npm run bench`'s
 * footprint scenario; README, "Memory"):
 * - `--liftoff-only`: PGlite is PostgreSQL compiled to WebAssembly. V8 would recompile its hot
 *   functions with TurboFan, which keeps ~60 MB more resident and briefly ~350 MB more while
 *   it compiles; Loupe's small queries run as fast on the baseline compiler (inserts/s equal
 *   or better). Only WebAssembly is affected: JavaScript still tiers up as usual.
 * - `--max-semi-space-size=8` (MB): V8 sizes the young generation from the machine's memory
 *   (64 MB resident on a 24 GB host, whatever the container's limit); Loupe's per-request
 *   garbage is small, so scavenges stay rare and short.
 * - glibc: each libuv thread that decodes an image gets its own malloc arena, and freed heap is
 *   kept unless 128 KB is free at its top, so ONNX Runtime's ~100 MB of model-loading scratch
 *   stays resident. Two arenas and a fixed trim threshold give it back.
 */
const NODE_FLAGS = ['--liftoff-only', '--max-semi-space-size=8'];
const MALLOC_ENV: Record<string, string> = { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '131072' };

const flagName = (f: string) => f.split('=')[0]!.replace(/_/g, '-');

/**
 * Restarts this process in place (same pid, so signals and `docker stop` are unaffected) with
 * the settings above, before anything is loaded. A flag or variable the user gave wins: theirs
 * is kept and ours is not added, so `node --no-liftoff-only …` or `MALLOC_ARENA_MAX=8` opt out.
 * Returns without restarting when everything is set already, or where execve is missing.
 */
export function tuneRuntime(): void {
  if (typeof process.execve !== 'function') return;
  const given = new Set(
    [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]
      .filter(Boolean)
      .map((f) => flagName(f).replace(/^--no-/, '--')),
  );
  const flags = NODE_FLAGS.filter((f) => !given.has(flagName(f)));
  const env = Object.entries(MALLOC_ENV).filter(([k]) => process.env[k] === undefined);
  if (flags.length === 0 && env.length === 0) return;
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], {
    ...process.env,
    ...Object.fromEntries(env),
  });
}
