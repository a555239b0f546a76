import type { Config } from '../config/index.ts';
import { buildApp, type App } from '../http/index.ts';
import { RemoteBackend } from '../inference/index.ts';
import { JobWorker } from '../jobs/index.ts';
import type { Service, ServiceState } from '../lifecycle/index.ts';
import { createMetrics, type Logger } from '../observability/index.ts';
import { dbReadyCheck, openStorage, readSecret, type Storage } from './common.ts';
import { addressOf } from './serve.ts';

/** `loupe worker`: jobs from the queue → model servers → results and webhooks. Serves health and metrics only. */
export class WorkerRole implements Service {
  state: ServiceState = 'created';
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly version: string;
  private readonly metrics = createMetrics();
  private readonly backend: RemoteBackend;
  private storage: Storage | undefined;
  private worker: JobWorker | undefined;
  private app: App | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  private readonly shared: Storage | undefined;

  /** `storage` lets one process host several roles on one database (tests, embedding). */
  constructor(deps: { config: Config; logger: Logger; version: string; storage?: Storage }) {
    ({ config: this.config, logger: this.logger, version: this.version } = deps);
    this.shared = deps.storage;
    this.backend = new RemoteBackend({ config: this.config, logger: this.logger, metrics: this.metrics });
  }

  get address(): string {
    return addressOf(this.app);
  }

  start(): Promise<void> {
    this.starting ??= (async () => {
      this.state = 'starting';
      const { config, logger } = this;
      this.storage = this.shared ?? await openStorage(config, logger, { migrate: false, supervise: true });
      const { history, jobs, boss, db } = this.storage;
      this.app = await buildApp({ config, logger, metrics: this.metrics, backend: this.backend, version: this.version, surface: 'ops', readyChecks: [dbReadyCheck(db)] });
      await this.app.listen({ port: config.PORT, host: config.HOST });
      await this.backend.start();
      this.worker = new JobWorker({ boss, jobs, predictions: history, backend: this.backend, logger, webhookSecret: readSecret(config.LOUPE_WEBHOOK_SECRET, config.LOUPE_WEBHOOK_SECRET_FILE), concurrency: config.LOUPE_WORKER_CONCURRENCY });
      await this.worker.start();
      logger.info({ address: this.address, concurrency: config.LOUPE_WORKER_CONCURRENCY }, `loupe worker running (health on ${this.address})`);
      this.state = 'running';
    })();
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopping';
      await this.starting?.catch(() => undefined);
      await this.worker?.stop(); // lets the jobs in hand finish
      await this.app?.close();
      await this.backend.close();
      if (!this.shared) await this.storage?.close();
      this.state = 'stopped';
    })();
    return this.stopping;
  }
}
