import type { LocalBackend } from '../inference/local/index.ts';
import type { RoleDeps } from './deps.ts';
import { warnIfOpen } from './common.ts';
import { createLocalBackend } from './local.ts';
import { roleAdmission } from './options.ts';
import { ServingRole } from './serving.ts';

/** `loupe model-server`: the model store behind OIP v2, with batching, metrics and health. No database. */
export class ModelServerRole extends ServingRole<LocalBackend> {
  constructor(deps: RoleDeps) {
    super(deps, (metrics) => createLocalBackend(deps, metrics));
  }

  protected async onStart(): Promise<void> {
    const { config, logger } = this.deps;
    const modelControl = config.LOUPE_MODEL_CONTROL;
    warnIfOpen(logger, { host: config.HOST, authRequired: false, role: 'model-server', modelControl });
    // No API keys or per-client limits: the gateway is a model server's one client.
    await this.surfaces.open({ admission: roleAdmission(config, { clientLimits: false }) });
    await this.pullModels();
    await this.backend.start();
    this.backend.watch(config.LOUPE_MODEL_POLL_S);
    logger.info(
      { address: this.address, grpc_address: this.grpcAddress || 'off', models: this.backend.listModels().length },
      `loupe model-server listening on ${this.address}`,
    );
  }
}
