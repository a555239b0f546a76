import type { Config } from '../config/index.ts';
import type { Logger } from '../observability/index.ts';
import { openStorage } from './common.ts';

/** `loupe migrate`: one-shot; brings the database schema and the queue's schema up to date. */
export async function runMigrate(config: Config, logger: Logger): Promise<void> {
  const storage = await openStorage(config, logger, { migrate: true, supervise: false });
  await storage.close();
  logger.info('migrations complete');
}
