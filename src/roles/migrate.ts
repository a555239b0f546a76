import { writeFileSync } from 'node:fs';
import { ConfigError, type Config } from '../config/index.ts';
import type { Logger } from '../observability/index.ts';
import { openStorage } from './common.ts';

/** `loupe migrate`: one-shot; brings the database schema and the queue's schema up to date. */
export async function runMigrate(config: Config, logger: Logger): Promise<void> {
  const storage = await openStorage(config, logger, { migrate: true, supervise: false });
  await storage.close();
  logger.info('migrations complete');
}

/**
 * `loupe migrate --write-seed FILE`: a new embedded database, migrated, written as a gzip
 * tarball that LOUPE_PGLITE_SEED points new installs at (the image builds one).
 */
export async function writeSeed(config: Config, logger: Logger, file: string): Promise<void> {
  if (config.LOUPE_DATABASE_URL)
    throw new ConfigError(
      'invalid configuration: --write-seed makes an embedded PGlite database; unset LOUPE_DATABASE_URL',
    );
  const storage = await openStorage({ ...config, LOUPE_DATA_DIR: 'memory://' }, logger, {
    migrate: true,
    supervise: false,
  });
  try {
    const bytes = await storage.db.dump!();
    writeFileSync(file, bytes);
    logger.info({ file, bytes: bytes.length }, `wrote a PGlite seed to ${file}`);
  } finally {
    await storage.close();
  }
}
