import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Db } from 'pg-boss';
import { claimDataDir, type WhenInUse } from './pglite-owner.ts';
import { createPglite } from './pglite.ts';

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
  /**
   * PGlite, a new data directory without a seed: PostgreSQL's initdb runs in a child process
   * ('child': its WebAssembly memory is not kept by a long-running server) or in this one
   * ('in-process', the default: faster for one-shot commands, which exit anyway).
   */
  readonly initdb?: 'child' | 'in-process' | undefined;
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
