import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from 'pg-boss';

/** The few things Loupe needs from Postgres, whichever engine runs it. */
export interface Database extends Db {
  readonly kind: 'postgres' | 'pglite';
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /** Runs a script of several statements (migrations). */
  exec(text: string): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… for a server; empty for embedded PGlite in `dataDir`. */
  readonly url: string;
  readonly passwordFile?: string | undefined;
  readonly dataDir: string;
  readonly poolSize?: number | undefined;
}

/**
 * PostgreSQL through node-postgres, or PGlite (Postgres compiled to WASM, in-process) with
 * its data in a directory: the same SQL, the same migrations, the same queue.
 */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) return openPostgres(opts);
  const { PGlite } = await import('@electric-sql/pglite');
  const dir = opts.dataDir === 'memory://' ? undefined : path.resolve(opts.dataDir, 'pglite');
  if (dir) mkdirSync(dir, { recursive: true });
  // One connection; PGlite queues statements itself, so callers need no lock of their own.
  const pg = await PGlite.create(dir ? { dataDir: dir } : {});
  // pg-boss's own adapter: it routes multi-statement DDL through exec() and clears aborted
  // transactions, which a single connection needs.
  const { fromPglite } = await import('pg-boss');
  const boss = fromPglite(pg);
  return {
    ...boss,
    kind: 'pglite',
    query: async <T>(text: string, params?: unknown[]) => ({ rows: (await pg.query<T>(text, params)).rows }),
    exec: async (text: string) => { await pg.exec(text); },
    close: () => pg.close(),
  };
}

async function openPostgres(opts: DatabaseOptions): Promise<Database> {
  const pg = (await import('pg')).default;
  const password = opts.passwordFile ? readFileSync(opts.passwordFile, 'utf8').trim() : undefined;
  // node-postgres lets the connection string's fields win over `password`, so the secret goes into the URL.
  const url = new URL(opts.url);
  if (password) url.password = encodeURIComponent(password);
  const pool = new pg.Pool({ connectionString: url.toString(), max: opts.poolSize ?? 10, connectionTimeoutMillis: 5000 });
  // A dropped connection (Postgres restart) must not crash the process; the pool reconnects.
  pool.on('error', () => undefined);
  return {
    kind: 'postgres',
    query: async <T>(text: string, params?: unknown[]) => ({ rows: (await pool.query(text, params)).rows as T[] }),
    // pg-boss gets node-postgres's own result: for a multi-statement text that is one result
    // per statement, which pg-boss unwraps itself (its monitor pass sends such texts).
    executeSql: (text: string, values?: unknown[]) => pool.query(text, values),
    exec: async (text: string) => { await pool.query(text); },
    close: () => pool.end(),
  };
}
