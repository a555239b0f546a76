import { readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from './db.ts';

/** The newest migration this build knows (NNN.do.*.sql), which the migrate role brings the database to. */
export function latestMigration(): number {
  const dir = path.join(import.meta.dirname, 'migrations');
  return Math.max(0, ...readdirSync(dir).map((f) => Number(/^(\d+)\.do\./.exec(f)?.[1] ?? 0)));
}

export interface SchemaWaitOptions {
  /** pg-boss queues the migrate role creates last: once they exist, the whole schema is there. */
  readonly queues: readonly string[];
  readonly queueSchema?: string;
  /** 0: check once, do not wait. */
  readonly timeoutMs: number;
  readonly everyMs?: number;
  /** Told once, on the first miss, why the role is waiting. */
  readonly onWait?: (reason: string) => void;
}

/** Why the database cannot serve this build yet, or undefined when it can. */
export async function schemaMissing(db: Database, opts: Pick<SchemaWaitOptions, 'queues' | 'queueSchema'>) {
  try {
    const want = latestMigration();
    const exists = async (table: string) =>
      (await db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table])).rows[0]?.t != null;
    const version = (await exists('loupe_schema_version'))
      ? (await db.query<{ v: string | null }>('SELECT max(version)::text AS v FROM loupe_schema_version')).rows[0]?.v
      : 0;
    const have = Number(version ?? 0);
    if (have < want) return `database schema at version ${have}, this build needs ${want} (has \`loupe migrate\` run?)`;
    const schema = opts.queueSchema ?? 'pgboss';
    const made = (await exists(`${schema}.queue`))
      ? (
          await db.query<{ n: string }>(
            `SELECT count(*)::text AS n FROM ${schema}.queue WHERE name = ANY($1::text[])`,
            [[...opts.queues]],
          )
        ).rows[0]?.n
      : 0;
    if (Number(made) < opts.queues.length) return 'job queues not created yet (has `loupe migrate` run?)';
    return undefined;
  } catch (err) {
    return `database unreachable: ${(err as Error).message}`;
  }
}

/**
 * Waits until the database answers and is migrated to this build's schema. The stack's
 * roles start in any order (Swarm has no start ordering): a gateway or worker that starts
 * before PostgreSQL or the one-shot migration waits here instead of crash-looping.
 */
export function waitForSchema(db: Database, opts: SchemaWaitOptions): Promise<void> {
  return waitUntil(() => schemaMissing(db, opts), opts);
}

/**
 * Waits until the database answers at all: `loupe migrate` started before PostgreSQL (Swarm
 * starts both at once; a fresh node may still be pulling its image) waits rather than spends
 * its few restarts.
 */
export function waitForDatabase(db: Database, opts: Omit<SchemaWaitOptions, 'queues' | 'queueSchema'>): Promise<void> {
  return waitUntil(
    () =>
      db.query('SELECT 1').then(
        () => undefined,
        (err: Error) => `database unreachable: ${err.message}`,
      ),
    opts,
  );
}

async function waitUntil(
  missing: () => Promise<string | undefined>,
  opts: Pick<SchemaWaitOptions, 'timeoutMs' | 'everyMs' | 'onWait'>,
): Promise<void> {
  const end = Date.now() + opts.timeoutMs;
  let told = false;
  for (;;) {
    const reason = await missing();
    if (!reason) return;
    if (Date.now() >= end)
      throw new Error(`database not ready after ${Math.round(opts.timeoutMs / 1000)} s: ${reason}`);
    if (!told) opts.onWait?.(reason);
    told = true;
    await sleep(Math.min(opts.everyMs ?? 1000, Math.max(1, end - Date.now())));
  }
}
