import path from 'node:path';
import Postgrator from 'postgrator';
import type { Database } from './db.ts';

const MIGRATIONS = path.join(import.meta.dirname, 'migrations', '*.sql');

/**
 * Brings the schema to the latest version. In the stack only the one-shot `migrate` service
 * runs this (the others wait for it to complete); `serve` runs it on its own PGlite.
 */
export async function migrate(db: Database): Promise<{ from: number; to: number }> {
  const postgrator = new Postgrator({
    migrationPattern: MIGRATIONS,
    driver: 'pg',
    schemaTable: 'loupe_schema_version',
    execQuery: (sql: string) => db.query(sql),
    execSqlScript: (sql: string) => db.exec(sql),
  });
  const from = Number(await postgrator.getDatabaseVersion());
  const applied = await postgrator.migrate();
  return { from, to: applied.length ? Number(applied.at(-1)!.version) : from };
}
