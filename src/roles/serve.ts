import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { availableCpus, type Config } from '../config/index.ts';
import { buildApp, type App } from '../http/index.ts';
import { LocalBackend } from '../inference/index.ts';
import type { Service, ServiceState } from '../lifecycle/index.ts';
import { createMetrics, type Logger, type Metrics } from '../observability/index.ts';

export interface ServeDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly version: string;
}

/**
 * `loupe serve`: the all-in-one process — HTTP API and in-process ONNX Runtime.
 * The composition root: everything is built here and passed down, nothing is global.
 */
export class ServeRole implements Service {
  state: ServiceState = 'created';
  readonly backend: LocalBackend;
  readonly metrics: Metrics;
  private readonly deps: ServeDeps;
  private app: App | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(deps: ServeDeps) {
    this.deps = deps;
    const cpus = availableCpus(deps.config.LOUPE_CPUS);
    // One libvips thread per image: parallelism comes from decoding several uploads at once.
    sharp.concurrency(1);
    sharp.cache(false);
    this.metrics = createMetrics();
    this.backend = new LocalBackend({ config: deps.config, logger: deps.logger, metrics: this.metrics, cpus });
  }

  get address(): string {
    const a = this.app?.server.address() as AddressInfo | null | undefined;
    return a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : '';
  }

  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const { config, logger, version } = this.deps;
    this.state = 'starting';
    try {
      this.app = await buildApp({ config, logger, metrics: this.metrics, backend: this.backend, version });
      // Listen first so /livez and /readyz answer while models load.
      await this.app.listen({ port: config.PORT, host: config.HOST });
      await this.backend.start();
      const r = this.backend.readiness();
      logger.info({ address: this.address, ready: r.ready, models: r.models.length, skipped: r.problems.length }, `loupe serve listening on ${this.address}${r.ready ? '' : ` (not ready: ${r.reason})`}`);
      this.state = 'running';
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.state = 'stopping';
    await this.starting?.catch(() => undefined);
    await this.app?.close(); // stops accepting; in-flight requests finish
    await this.backend.close();
    this.state = 'stopped';
  }
}
