/**
 * How Node runs Loupe. Memory is what a replica costs; these flags cut it at equal or better
 * img/s (the figures, and what was tried and left out, are in docs/performance.md, "Memory"):
 * - `--liftoff-only`: PGlite is PostgreSQL compiled to WebAssembly, and TurboFan's recompiles of
 *   it stay resident while Loupe's small queries run no faster. JavaScript still tiers up.
 * - `--max-semi-space-size=8` (MB): V8 sizes the young generation from the host's memory, not
 *   the container's limit; Loupe's per-request garbage is small, so scavenges stay short.
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
