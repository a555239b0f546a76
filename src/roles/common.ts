import type { PgBoss } from 'pg-boss';
import { ApiKeyStore, type FileKey } from '../auth/index.ts';
import { isLoopbackHost, type Config } from '../config/index.ts';
import type { InferenceBackend, ModelControlMode } from '../inference/index.ts';
import {
  CLASSIFY_QUEUE,
  JobWorker,
  WEBHOOK_QUEUE,
  WebhookDeliveries,
  createQueue,
  type DeliveryOptions,
  type WebhookPolicy,
} from '../jobs/index.ts';
import { NOOP_TRACING, registerJobGauges, type Logger, type Metrics, type Tracing } from '../observability/index.ts';
import {
  JobStore,
  PredictionStore,
  migrate,
  openDatabase,
  waitForDatabase,
  waitForSchema,
  type Database,
} from '../storage/index.ts';

export interface Storage {
  readonly db: Database;
  readonly history: PredictionStore;
  readonly jobs: JobStore;
  readonly boss: PgBoss;
  close(): Promise<void>;
}

/**
 * The database, its repositories and the job queue. `migrate: true` brings the schema up to
 * date first (serve and the migrate role); the stack's other roles expect it done.
 */
export async function openStorage(
  config: Config,
  logger: Logger,
  opts: { migrate: boolean; supervise: boolean; initdb?: 'child' | 'in-process' },
  tracing: Tracing = NOOP_TRACING,
): Promise<Storage> {
  const db = await openDatabase({
    initdb: opts.initdb,
    url: config.LOUPE_DATABASE_URL,
    password: config.databasePassword,
    dataDir: config.LOUPE_DATA_DIR,
    seed: config.LOUPE_PGLITE_SEED || undefined,
    onSeedError: (err) =>
      logger.warn(
        { seed: config.LOUPE_PGLITE_SEED, err: err.message },
        'PGlite seed unusable; initialising a new database instead',
      ),
  });
  // PostgreSQL may come up after this process (Swarm has no start order): wait for it, and
  // for `loupe migrate`'s schema where this role does not migrate itself.
  const wait = {
    timeoutMs: config.LOUPE_DATABASE_WAIT_S * 1000,
    onWait: (reason: string) =>
      logger.warn({ reason, wait_s: config.LOUPE_DATABASE_WAIT_S }, `waiting for the database: ${reason}`),
  };
  try {
    if (opts.migrate) {
      if (db.kind === 'postgres') await waitForDatabase(db, wait);
      const m = await migrate(db);
      if (m.to !== m.from) logger.info(m, `database migrated from version ${m.from} to ${m.to}`);
    } else if (db.kind === 'postgres') {
      await waitForSchema(db, { ...wait, queues: [CLASSIFY_QUEUE, WEBHOOK_QUEUE] });
    }
    const boss = await createQueue(db, { migrate: opts.migrate, supervise: opts.supervise });
    boss.on('error', (err: Error) => logger.warn({ err: err.message }, 'job queue error'));
    return {
      db,
      history: new PredictionStore(db, { keepImages: config.LOUPE_STORE_IMAGES, tracing }),
      jobs: new JobStore(db),
      boss,
      close: async () => {
        await boss.stop({ graceful: true, close: false, timeout: 5000 }).catch(() => undefined);
        await db.close();
      },
    };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

export const dbReadyCheck = (db: Database) => async (): Promise<string | undefined> => {
  try {
    await db.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `database unreachable: ${(err as Error).message}`;
  }
};

/** The job worker over a role's storage and inference backend (serve runs one, so does worker). */
export function createJobWorker(
  config: Config,
  logger: Logger,
  storage: Storage,
  backend: InferenceBackend,
  metrics: Metrics,
  policy: WebhookPolicy,
  tracing: Tracing = NOOP_TRACING,
): JobWorker {
  const webhooks = new WebhookDeliveries({
    boss: storage.boss,
    jobs: storage.jobs,
    logger,
    metrics,
    tracing,
    options: webhookOptions(config, policy),
  });
  registerJobGauges(metrics.registry, {
    backlog: () => storage.jobs.backlog(),
    openCircuits: () => webhooks.breakers.openCount(),
  });
  return new JobWorker({
    boss: storage.boss,
    jobs: storage.jobs,
    predictions: storage.history,
    backend,
    logger,
    webhooks,
    metrics,
    tracing,
    concurrency: config.LOUPE_WORKER_CONCURRENCY,
    // No upload outlives the request timeout; a minute more covers clocks and the last INSERT.
    abandonedUploadS: config.LOUPE_REQUEST_TIMEOUT_MS > 0 ? config.LOUPE_REQUEST_TIMEOUT_MS / 1000 + 60 : 3600,
  });
}

export function webhookOptions(config: Config, policy: WebhookPolicy): DeliveryOptions {
  return {
    secret: config.webhookSecret,
    policy,
    timeoutMs: config.LOUPE_WEBHOOK_TIMEOUT_MS,
    maxAttempts: config.LOUPE_WEBHOOK_MAX_ATTEMPTS,
    retryDelayS: config.LOUPE_WEBHOOK_RETRY_DELAY_S,
    retryDelayMaxS: config.LOUPE_WEBHOOK_RETRY_DELAY_MAX_S,
    maxAgeS: config.LOUPE_WEBHOOK_MAX_AGE_S,
    concurrency: config.LOUPE_WEBHOOK_CONCURRENCY,
    perReceiver: config.LOUPE_WEBHOOK_CONCURRENCY_PER_RECEIVER,
    breaker: {
      failures: config.LOUPE_WEBHOOK_BREAKER_FAILURES,
      cooldownMs: config.LOUPE_WEBHOOK_BREAKER_COOLDOWN_MS,
      maxCooldownMs: config.LOUPE_WEBHOOK_BREAKER_COOLDOWN_MAX_MS,
    },
  };
}

/**
 * The API keys of a role that answers the public API (serve, gateway): LOUPE_API_KEYS_FILE's
 * keys are brought into the database first, so they work from the first request. The role
 * checks keys when `config.authRequired`; the store is returned either way.
 */
export async function openApiKeys(
  config: Config,
  logger: Logger,
  db: Database,
  fileKeys: readonly FileKey[] | undefined,
): Promise<ApiKeyStore> {
  const keys = new ApiKeyStore(db);
  const synced = fileKeys ? await keys.syncFile(fileKeys) : undefined;
  logger.info(
    { auth: config.authRequired ? 'required' : 'off', ...(synced ? { keys_file: synced } : {}) },
    config.authRequired ? 'API keys are required' : 'API keys are off (LOUPE_AUTH)',
  );
  warnIfOpen(logger, { host: config.HOST, authRequired: config.authRequired, role: 'api' });
  if (config.authRequired && (await keys.activeCount()) === 0)
    logger.warn(
      'API keys are required (LOUPE_AUTH) and none is active: every API request gets 401 until one is made (`loupe keys create`, or LOUPE_API_KEYS_FILE)',
    );
  return keys;
}

/**
 * One warn line when a role answers other machines without asking for a key: LOUPE_AUTH=off
 * on a non-loopback HOST is legitimate behind a gateway or proxy that checks keys, and a
 * mistake anywhere else, so it must not pass as one info line among the start-up ones.
 * `role: 'model-server'` has no keys at all: it warns whenever it listens beyond loopback,
 * naming load/unload too when its LOUPE_MODEL_CONTROL allows them.
 */
export function warnIfOpen(
  logger: Logger,
  opts: { host: string; authRequired: boolean; role: 'api' | 'model-server'; modelControl?: ModelControlMode },
): void {
  if (opts.authRequired || isLoopbackHost(opts.host)) return;
  const why =
    opts.role === 'api'
      ? 'API keys are off (LOUPE_AUTH=off): anyone who can reach it may predict, read the history and submit jobs. Set LOUPE_AUTH=required unless a proxy in front checks keys'
      : `a model server takes no API keys: anyone who can reach it may run inference${opts.modelControl === 'explicit' ? ' and load and unload models (LOUPE_MODEL_CONTROL=explicit)' : ''}. Keep it on a private network that only the gateway reaches`;
  logger.warn(
    { host: opts.host, auth: 'off', security: 'open' },
    `SECURITY: HOST=${opts.host} is not loopback and ${why}`,
  );
}
