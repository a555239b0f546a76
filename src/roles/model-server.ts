import { availableCpus, type Config } from '../config/index.ts';
import { buildApp, type App } from '../http/index.ts';
import { LocalBackend } from '../inference/index.ts';
import type { Service, ServiceState } from '../lifecycle/index.ts';
import { createMetrics, type Logger } from '../observability/index.ts';
import { addressOf, configureSharp } from './serve.ts';

/** `loupe model-server`: the model store behind OIP v2, with batching, metrics and health. No database. */
export class ModelServerRole implements Service {
  state: ServiceState = 'created';
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly version: string;
  private readonly backend: LocalBackend;
  private readonly metrics = createMetrics();
  private app: App | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(deps: { config: Config; logger: Logger; version: string }) {
    ({ config: this.config, logger: this.logger, version: this.version } = deps);
    const cpus = availableCpus(this.config.LOUPE_CPUS);
    configureSharp(this.config.LOUPE_DECODE_THREADS || cpus);
    this.backend = new LocalBackend({ config: this.config, logger: this.logger, metrics: this.metrics, cpus });
  }

  get address(): string {
    return addressOf(this.app);
  }

  start(): Promise<void> {
    this.starting ??= (async () => {
      this.state = 'starting';
      this.app = await buildApp({ config: this.config, logger: this.logger, metrics: this.metrics, backend: this.backend, version: this.version });
      await this.app.listen({ port: this.config.PORT, host: this.config.HOST });
      await this.backend.start();
      this.backend.watch(this.config.LOUPE_MODEL_POLL_S);
      this.logger.info({ address: this.address, models: this.backend.listModels().length }, `loupe model-server listening on ${this.address}`);
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
      this.state = 'stopped';
    })();
    return this.stopping;
  }
}
