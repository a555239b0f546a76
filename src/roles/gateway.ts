import { readKeysFile } from '../auth/index.ts';
import { dbReadyCheck, openApiKeys } from './common.ts';
import { roleAdmission, startGrpc } from './grpc.ts';
import { webhookPolicy as webhookPolicyOf } from './options.ts';
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
    const webhookPolicy = webhookPolicyOf(config);
    const { history, jobs, boss, db } = await this.openStorage(false);
    const webhooksEnabled = config.webhookSecret !== '';
    const keys = await openApiKeys(config, logger, db, fileKeys);
    const admission = roleAdmission(config, { clientLimits: true });
    const auth = config.authRequired ? keys : undefined;
    await this.listen({
      history,
      jobs: { store: jobs, boss, webhooksEnabled, webhookPolicy },
      readyChecks: [dbReadyCheck(db)],
      admission,
      auth,
      keys,
    });
    const { metrics, backend } = this;
    this.grpc = await startGrpc(config, { logger, metrics, backend, version: this.deps.version, auth, admission });
    logger.info(
      { address: this.address, grpc_address: this.grpcAddress || 'off', model_servers: config.LOUPE_MODEL_SERVER_URL },
      `loupe gateway listening on ${this.address}`,
    );
  }

  protected onStop(): Promise<void> {
    return this.closeAll();
  }
}
