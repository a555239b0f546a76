import type { Config } from '../config/index.ts';
import { buildApp, type App } from '../http/index.ts';
import { RemoteBackend } from '../inference/index.ts';
import type { Service, ServiceState } from '../lifecycle/index.ts';
import { createMetrics, type Logger } from '../observability/index.ts';
import { dbReadyCheck, openStorage, readSecret, type Storage } from './common.ts';
import { addressOf } from './serve.ts';

/**
 * `loupe gateway`: the public API. Inference goes to the model servers over OIP; predictions
 * and jobs go to PostgreSQL; the workers pick the jobs up.
 */
export class GatewayRole implements Service {
  state: ServiceState = 'created';
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly version: string;
  private readonly metrics = createMetrics();
  private readonly backend: RemoteBackend;
  private storage: Storage | undefined;
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
      this.storage = this.shared ?? await openStorage(config, logger, { migrate: false, supervise: false });
      const { history, jobs, boss, db } = this.storage;
      const webhooksEnabled = readSecret(config.LOUPE_WEBHOOK_SECRET, config.LOUPE_WEBHOOK_SECRET_FILE) !== '';
      this.app = await buildApp({ config, logger, metrics: this.metrics, backend: this.backend, version: this.version, history, jobs: { store: jobs, boss, webhooksEnabled }, readyChecks: [dbReadyCheck(db)] });
      await this.app.listen({ port: config.PORT, host: config.HOST });
      await this.backend.start();
      logger.info({ address: this.address, model_servers: config.LOUPE_MODEL_SERVER_URL }, `loupe gateway listening on ${this.address}`);
      this.state = 'running';
    })();
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopping';
      await this.starting?.catch(() => undefined);
      await this.app?.close();
      await this.backend.close();
      if (!this.shared) await this.storage?.close();
      this.state = 'stopped';
    })();
    return this.stopping;
  }
}
