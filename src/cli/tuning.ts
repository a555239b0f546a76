/**
 * How Node runs Loupe. Memory is what a replica costs, and these settings cut ~100 MB from every
 * process that embeds PGlite and ~40 MB from the others (measured in `npm run bench`'s
 * footprint scenario; README, "Memory"):
 * - `--liftoff-only`: PGlite is PostgreSQL compiled to WebAssembly. V8 would recompile its hot
 *   functions with TurboFan, which keeps ~60 MB more resident and briefly ~350 MB more while
 *   it compiles; Loupe's small queries run as fast on the baseline compiler (inserts/s equal
 *   or better). Only WebAssembly is affected: JavaScript still tiers up as usual.
 * - `--max-semi-space-size=8` (MB): V8 sizes the young generation from the machine's memory
 *   (64 MB resident on a 24 GB host, whatever the container's limit); Loupe's per-request
 *   garbage is small, so scavenges stay rare and short.
 * Tried and left out (A/B in bench/ab.ts, same run): glibc's MALLOC_TRIM_THRESHOLD_=131072 gave
 * back ONNX Runtime's ~90 MB of model-loading scratch (now never made here: the graph is
 * optimized in a child, inference/local/optimize.ts), but fixing it also fixes the mmap
 * threshold, so every image tensor is mapped and faulted in afresh: −35 % img/s on the 224×224
 * models. MALLOC_ARENA_MAX=2 (often advised for sharp) saves ~12 MB at idle and cost the small
 * model 20 %: the decoding threads contend for two arenas. A 2 MB semi-space: −13 MB idle, but
 * a loaded gateway promotes more and peaked at 230 MB instead of 160. `--heap-growing-percent`
 * 30–50: 40–80 MB lower peaks on the small model at the same img/s, but −3 to −7 % img/s on
 * ResNet-18 (the collector's thread competes with ONNX Runtime's), so it is the user's choice
 * (NODE_OPTIONS), not a default.
 */
const NODE_FLAGS = ['--liftoff-only', '--max-semi-space-size=8'];

const flagName = (f: string) => f.split('=')[0]!.replace(/_/g, '-');

/**
 * Restarts this process in place (same pid, so signals and `docker stop` are unaffected) with
 * the settings above, before anything is loaded. A flag the user gave (on the command line or in
 * NODE_OPTIONS) wins: theirs is kept and ours is not added, so `node --no-liftoff-only …` opts out.
 * Returns without restarting when everything is set already, or where execve is missing.
 */
export function tuneRuntime(): void {
  // Read here, raw, because it decides how the process runs before the configuration (and
  // everything else) is loaded; the schema still validates and documents it.
  if (process.env.LOUPE_NODE_TUNING === 'off' || typeof process.execve !== 'function') return;
  // A parent that talks to this process over IPC (`node --watch` in `npm run dev`, a fork())
  // would lose it across the restart: `--watch` then never reloads. Run as started there.
  if (process.send !== undefined || process.env.WATCH_REPORT_DEPENDENCIES) return;
  const given = new Set(
    [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]
      .filter(Boolean)
      .map((f) => flagName(f).replace(/^--no-/, '--')),
  );
  const flags = NODE_FLAGS.filter((f) => !given.has(flagName(f)));
  if (flags.length === 0) return;
  try {
    process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)]);
  } catch (err) {
    // Not fatal: the process goes on as it was started, only with more memory.
    process.emitWarning(`loupe: running without the memory settings (${(err as Error).message})`);
  }
}
