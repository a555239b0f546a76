import { buildApp, type App } from '../http/index.ts';
import type { LocalBackend } from '../inference/index.ts';
import { Role, addressOf } from '../lifecycle/index.ts';
import { createMetrics } from '../observability/index.ts';
import type { RoleDeps } from './deps.ts';
import { createLocalBackend } from './local.ts';

/** `loupe model-server`: the model store behind OIP v2, with batching, metrics and health. No database. */
export class ModelServerRole extends Role {
  private readonly deps: RoleDeps;
  private readonly metrics = createMetrics();
  private readonly backend: LocalBackend;
  private app: App | undefined;

  constructor(deps: RoleDeps) {
    super();
    this.deps = deps;
    this.backend = createLocalBackend(deps, this.metrics);
  }

  get address(): string {
    return addressOf(this.app?.server);
  }

  protected async onStart(): Promise<void> {
    const { config, logger, version } = this.deps;
    this.app = await buildApp({ config, logger, metrics: this.metrics, backend: this.backend, version });
    await this.app.listen({ port: config.PORT, host: config.HOST });
    await this.backend.start();
    this.backend.watch(config.LOUPE_MODEL_POLL_S);
    logger.info(
      { address: this.address, models: this.backend.listModels().length },
      `loupe model-server listening on ${this.address}`,
    );
  }

  protected async onStop(): Promise<void> {
    await this.app?.close();
    await this.backend.close();
  }
}
