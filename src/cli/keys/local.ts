import { ApiKeyStore } from '../../auth/index.ts';
import { loadConfig } from '../../config/index.ts';
import { StartupError } from '../../errors.ts';
import { createLogger } from '../../observability/index.ts';
import { migrate, openDatabase } from '../../storage/index.ts';

/**
 * The key store in the database the roles use (LOUPE_DATABASE_URL, or PGlite in
 * LOUPE_DATA_DIR), migrated first if needed. An embedded database a running `serve` holds is
 * refused, with the way around it: that server's keys API.
 */
export async function withLocalStore<T>(fn: (keys: ApiKeyStore) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger(config.LOUPE_LOG_LEVEL, { destination: process.stderr }).child({ role: 'keys' });
  let db;
  try {
    db = await openDatabase({
      url: config.LOUPE_DATABASE_URL,
      password: config.databasePassword,
      dataDir: config.LOUPE_DATA_DIR,
      seed: config.LOUPE_PGLITE_SEED || undefined,
      whenInUse: 'refuse',
    });
  } catch (err) {
    if (!(err instanceof StartupError)) throw err;
    throw new StartupError(
      `${err.message}; or, with it running, manage keys through its API: loupe keys … --url <its URL> --key <an admin key>`,
    );
  }
  try {
    const m = await migrate(db);
    if (m.to !== m.from) logger.info(m, `database migrated from version ${m.from} to ${m.to}`);
    return await fn(new ApiKeyStore(db));
  } finally {
    await db.close();
  }
}
