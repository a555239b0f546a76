import { readKeysFile } from '../auth/index.ts';
import { registerJobGauges } from '../observability/index.ts';
import { dbReadyCheck, openApiKeys } from './common.ts';
import { roleAdmission, webhookPolicy } from './options.ts';
import { RemoteRole } from './remote.ts';

/**
 * `loupe gateway`: the public API. Inference goes to the model servers over OIP; predictions
 * and jobs go to PostgreSQL; the workers pick the jobs up.
 */
export class GatewayRole extends RemoteRole {
  protected async onStart(): Promise<void> {
    const { config, logger } = this.deps;
    // Before anything opens: a bad keys file or webhook allow-list is a configuration error.
    const fileKeys = readKeysFile(config.LOUPE_API_KEYS_FILE);
    const policy = webhookPolicy(config);
    const { history, jobs, boss, db } = await this.openStorage({ migrate: false, supervise: false });
    const keys = await openApiKeys(config, logger, db, fileKeys);
    // The gateway submits the jobs: its /metrics shows the backlog too (webhooks are the workers').
    registerJobGauges(this.metrics.registry, { backlog: () => jobs.backlog() });
    await this.surfaces.open({
      history,
      jobs: { store: jobs, boss, webhooksEnabled: config.webhookSecret !== '', webhookPolicy: policy },
      readyChecks: [dbReadyCheck(db)],
      admission: roleAdmission(config, { clientLimits: true }),
      auth: config.authRequired ? keys : undefined,
      keys,
    });
    await this.backend.start();
    logger.info(
      { address: this.address, grpc_address: this.grpcAddress || 'off', model_servers: config.LOUPE_MODEL_SERVER_URL },
      `loupe gateway listening on ${this.address}`,
    );
  }
}
