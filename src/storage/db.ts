import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Db } from 'pg-boss';
import { claimDataDir, type WhenInUse } from './pglite-owner.ts';

/** The few things Loupe needs from Postgres, whichever engine runs it. */
export interface Database extends Db {
  readonly kind: 'postgres' | 'pglite';
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /** Runs a script of several statements (migrations). */
  exec(text: string): Promise<void>;
  /** PGlite only: the whole data directory as a gzip tarball (a seed for new installs). */
  dump?(): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… for a server; empty for embedded PGlite in `dataDir`. */
  readonly url: string;
  /** Overrides any password in `url` (read from a secret file by the config). */
  readonly password?: string | undefined;
  readonly dataDir: string;
  readonly poolSize?: number | undefined;
  /**
   * A gzip tarball of an already initialised and migrated PGlite directory (`loupe migrate
   * --write-seed`), unpacked when `dataDir` holds no database yet: PostgreSQL's initdb is
   * most of a first start (~3 s), unpacking a seed well under one.
   */
  readonly seed?: string | undefined;
  /** Told when the seed could not be used and a fresh database was made instead. */
  readonly onSeedError?: ((err: Error) => void) | undefined;
  /** PGlite: when another process has `dataDir` open, take it over (roles) or refuse (one-shot commands). */
  readonly whenInUse?: WhenInUse | undefined;
}

/**
 * PostgreSQL through node-postgres, or PGlite (Postgres compiled to WASM, in-process) with
 * its data in a directory: the same SQL, the same migrations, the same queue.
 */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) return openPostgres(opts);
  const dir = opts.dataDir === 'memory://' ? undefined : path.resolve(opts.dataDir, 'pglite');
  if (dir) mkdirSync(path.dirname(dir), { recursive: true });
  const release = dir ? claimDataDir(dir, opts.whenInUse ?? 'take-over') : () => undefined;
  let pg;
  try {
    pg = await createPglite(dir, opts);
  } catch (err) {
    release();
    throw err;
  }
  // pg-boss's own adapter: it routes multi-statement DDL through exec() and clears aborted
  // transactions, which a single connection needs.
  const { fromPglite } = await import('pg-boss');
  const boss = fromPglite(pg);
  return {
    ...boss,
    kind: 'pglite',
    query: async <T>(text: string, params?: unknown[]) => ({ rows: (await pg.query<T>(text, params)).rows }),
    exec: async (text: string) => {
      await pg.exec(text);
    },
    dump: async () => new Uint8Array(await (await pg.dumpDataDir('gzip')).arrayBuffer()),
    close: async () => {
      await pg.close();
      release();
    },
  };
}

/**
 * PGlite is one backend in one process, yet starts with a server's defaults: 160 MB of
 * shared buffers, touched as tables are read, are most of its resident memory. Loupe's
 * embedded tables are small (history pages, a job queue); these keep it near 10 MB.
 */
const PGLITE_CONF = [
  'shared_buffers=8MB',
  'work_mem=1MB',
  'maintenance_work_mem=8MB',
  'wal_buffers=256kB',
  'temp_buffers=1MB',
];

const isEmptyDir = (dir: string) => !existsSync(dir) || readdirSync(dir).length === 0;

/** PGlite in `dir` (unpacking the seed into an empty one), or in memory without a `dir`. */
async function createPglite(dir: string | undefined, opts: DatabaseOptions) {
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

async function openPostgres(opts: DatabaseOptions): Promise<Database> {
  const pg = (await import('pg')).default;
  const { password } = opts;
  // node-postgres lets the connection string's fields win over `password`, so the secret goes into the URL.
  const url = new URL(opts.url);
  if (password) url.password = encodeURIComponent(password);
  const pool = new pg.Pool({
    connectionString: url.toString(),
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
  });
  // A dropped connection (Postgres restart) must not crash the process; the pool reconnects.
  pool.on('error', () => undefined);
  return {
    kind: 'postgres',
    query: async <T>(text: string, params?: unknown[]) => ({ rows: (await pool.query(text, params)).rows as T[] }),
    // pg-boss gets node-postgres's own result: for a multi-statement text that is one result
    // per statement, which pg-boss unwraps itself (its monitor pass sends such texts).
    executeSql: (text: string, values?: unknown[]) => pool.query(text, values),
    exec: async (text: string) => {
      await pool.query(text);
    },
    close: () => pool.end(),
  };
}
