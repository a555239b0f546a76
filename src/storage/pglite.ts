import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DatabaseOptions } from './db.ts';

/**
 * PGlite is one backend in one process, yet starts with a server's defaults: 160 MB of
 * shared buffers, touched as tables are read, are most of its resident memory. Loupe's
 * embedded tables are small (history pages, a job queue); these keep it near 10 MB.
 */
export const PGLITE_CONF = [
  'shared_buffers=8MB',
  'work_mem=1MB',
  'maintenance_work_mem=8MB',
  'wal_buffers=256kB',
  'temp_buffers=1MB',
];

const isEmptyDir = (dir: string) => !existsSync(dir) || readdirSync(dir).length === 0;

/** PGlite in `dir` (unpacking the seed into an empty one, or making it), or in memory without a `dir`. */
export async function createPglite(dir: string | undefined, opts: DatabaseOptions) {
  const { PGlite } = await import('@electric-sql/pglite');
  const seeded =
    dir && opts.seed && isEmptyDir(dir)
      ? await unpackSeed(opts.seed, dir).then(
          () => true,
          (err: Error) => {
            opts.onSeedError?.(err);
            return false;
          },
        )
      : false;
  if (dir && opts.initdb === 'child' && isEmptyDir(dir)) await initdbInChild(dir);
  if (dir) mkdirSync(dir, { recursive: true });
  // One connection; PGlite queues statements itself, so callers need no lock of their own.
  try {
    return await PGlite.create({ ...(dir ? { dataDir: dir } : {}), postgresqlconf: PGLITE_CONF });
  } catch (err) {
    if (!seeded || !dir) throw err;
    // A seed from another PGlite version: start over with an empty directory.
    opts.onSeedError?.(err as Error);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return PGlite.create({ dataDir: dir, postgresqlconf: PGLITE_CONF });
  }
}

/**
 * Unpacks a seed next to `dir` and renames it into place, so a crash mid-way never leaves a
 * half-written database; a seed that fails leaves `dir` as it was (PGlite then runs initdb).
 * Unpacked by node-tar rather than PGlite's loadDataDir (WASM file system): 0.3 s, not 0.8 s.
 */
async function unpackSeed(seed: string, dir: string): Promise<void> {
  const staging = `${dir}.seeding`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const tar = await import('tar');
    // Entries are absolute (/base/…); tar makes them relative to the staging directory.
    // Synchronous on purpose: for ~1,000 small files it is twice as fast, and nothing is
    // being served yet.
    tar.x({ file: seed, cwd: staging, sync: true });
    if (!existsSync(path.join(staging, 'PG_VERSION'))) throw new Error('not a PostgreSQL data directory');
    rmSync(dir, { recursive: true, force: true }); // empty, checked by the caller
    renameSync(staging, dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * PostgreSQL's initdb in a short-lived process of its own. WebAssembly memory only grows: run
 * in this process, initdb would leave ~80 MB resident for the server's whole life (docs/performance.md,
 * "Memory"). Made next to `dir` and renamed into place, like a seed. Where the child cannot
 * run, PGlite makes the directory in-process as before: slower to give memory back, not wrong.
 * Says whether the child made it.
 */
export async function initdbInChild(dir: string): Promise<boolean> {
  const staging = `${dir}.initdb`;
  rmSync(staging, { recursive: true, force: true });
  // Same extension as this file: .ts from the sources, .js once built.
  const script = fileURLToPath(new URL(`./pglite-initdb${path.extname(import.meta.url)}`, import.meta.url));
  try {
    await promisify(execFile)(process.execPath, ['--liftoff-only', script, staging, ...PGLITE_CONF], {
      timeout: 120_000,
      env: { ...process.env, LOUPE_NODE_TUNING: 'off' },
    });
    if (!existsSync(path.join(staging, 'PG_VERSION'))) return false;
    rmSync(dir, { recursive: true, force: true }); // empty, checked by the caller
    renameSync(staging, dir);
    return true;
  } catch {
    return false; // left to the in-process initdb in createPglite
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
