import sharp from 'sharp';
import { availableCpus, type Config } from '../config/index.ts';
import { buildApp, type App } from '../http/index.ts';
import { LocalBackend } from '../inference/index.ts';
import { JobWorker } from '../jobs/index.ts';
import { Role, addressOf } from '../lifecycle/index.ts';
import { createMetrics, type Logger, type Metrics } from '../observability/index.ts';
import { dbReadyCheck, openStorage, readSecret, type Storage } from './common.ts';

export interface RoleDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly version: string;
}
export type ServeDeps = RoleDeps;

/**
 * `loupe serve`: the all-in-one process — HTTP API, in-process ONNX Runtime, job worker and
 * embedded PGlite (or Postgres when LOUPE_DATABASE_URL is set). The composition root:
 * everything is built here and passed down, nothing is global.
 */
export class ServeRole extends Role {
  readonly backend: LocalBackend;
  readonly metrics: Metrics;
  private readonly deps: RoleDeps;
  private app: App | undefined;
  private storage: Storage | undefined;
  private worker: JobWorker | undefined;

  constructor(deps: RoleDeps) {
    super();
    this.deps = deps;
    this.metrics = createMetrics();
    this.backend = createLocalBackend(deps, this.metrics);
  }

  get address(): string {
    return addressOf(this.app?.server);
  }

  protected async onStart(): Promise<void> {
    const { config, logger, version } = this.deps;
    // Database and models load side by side.
    const storage = openStorage(config, logger, { migrate: true, supervise: true });
    const models = this.backend.start();
    const webhookSecret = readSecret(config.LOUPE_WEBHOOK_SECRET, config.LOUPE_WEBHOOK_SECRET_FILE);
    this.storage = await storage;
    const { history, jobs, boss, db } = this.storage;
    this.app = await buildApp({
      config,
      logger,
      metrics: this.metrics,
      backend: this.backend,
      version,
      history,
      jobs: { store: jobs, boss, webhooksEnabled: webhookSecret !== '' },
      readyChecks: [dbReadyCheck(db)],
    });
    // Listening before the models are loaded: /livez and /readyz (503) answer meanwhile.
    await this.app.listen({ port: config.PORT, host: config.HOST });
    await models;
    this.worker = new JobWorker({
      boss,
      jobs,
      predictions: history,
      backend: this.backend,
      logger,
      webhookSecret,
      concurrency: config.LOUPE_WORKER_CONCURRENCY,
    });
    await this.worker.start();
    this.backend.watch(config.LOUPE_MODEL_POLL_S);
    const r = this.backend.readiness();
    logger.info(
      { address: this.address, ready: r.ready, models: r.models.length, skipped: r.problems.length, database: db.kind },
      `loupe serve listening on ${this.address}${r.ready ? '' : ` (not ready: ${r.reason})`}`,
    );
  }

  protected async onStop(): Promise<void> {
    await this.app?.close(); // stops accepting; in-flight requests finish
    await this.worker?.stop();
    await this.backend.close();
    await this.storage?.close();
  }
}

/**
 * In-process inference sized to the CPUs this process may use. One libvips thread per image:
 * parallelism comes from decoding several uploads at once.
 */
export function createLocalBackend(deps: RoleDeps, metrics: Metrics): LocalBackend {
  const cpus = availableCpus(deps.config.LOUPE_CPUS);
  sharp.concurrency(1);
  sharp.cache(false);
  process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, deps.config.LOUPE_DECODE_THREADS || cpus));
  return new LocalBackend({ config: deps.config, logger: deps.logger, metrics, cpus });
}
