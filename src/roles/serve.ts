import type { LocalBackend } from '../inference/local/index.ts';
import { readKeysFile, type ApiKeyStore } from '../auth/index.ts';
import { createJobWorker, dbReadyCheck, openApiKeys } from './common.ts';
import type { RoleDeps } from './deps.ts';
import { createLocalBackend } from './local.ts';
import { roleAdmission, webhookPolicy } from './options.ts';
import { ServingRole } from './serving.ts';

/**
 * `loupe serve`: the all-in-one process — HTTP API, in-process ONNX Runtime, job worker and
 * embedded PGlite (or Postgres when LOUPE_DATABASE_URL is set). The composition root:
 * everything is built here and passed down, nothing is global.
 */
export class ServeRole extends ServingRole<LocalBackend> {
  private apiKeys: ApiKeyStore | undefined;

  constructor(deps: RoleDeps) {
    super(deps, (metrics) => createLocalBackend(deps, metrics));
  }

  /** The API key store, once started (tests and embedding make keys with it). */
  get keys(): ApiKeyStore | undefined {
    return this.apiKeys;
  }

  protected async onStart(): Promise<void> {
    const { config, logger } = this.deps;
    // Before anything opens: a bad keys file or webhook allow-list is a configuration error.
    const fileKeys = readKeysFile(config.LOUPE_API_KEYS_FILE);
    const policy = webhookPolicy(config);
    // Database and models load side by side.
    // serve runs for days: a new embedded database is made in a child process (storage/pglite.ts).
    const storage = this.openStorage({ migrate: true, supervise: true, initdb: 'child' });
    const models = this.pullModels().then(() => this.backend.start());
    models.catch(() => undefined); // awaited below; a failure must not count as unhandled meanwhile
    const opened = await storage;
    const { history, jobs, boss, db } = opened;
    this.apiKeys = await openApiKeys(config, logger, db, fileKeys);
    // Listening before the models are loaded: /livez and /readyz (503) answer meanwhile.
    await this.surfaces.open({
      history,
      jobs: { store: jobs, boss, webhooksEnabled: config.webhookSecret !== '', webhookPolicy: policy },
      readyChecks: [dbReadyCheck(db)],
      admission: roleAdmission(config, { clientLimits: true }),
      auth: config.authRequired ? this.apiKeys : undefined,
      keys: this.apiKeys,
    });
    await models;
    this.jobWorker = createJobWorker(config, logger, opened, this.backend, this.metrics, policy, this.tracing);
    await this.jobWorker.start();
    this.backend.watch(config.LOUPE_MODEL_POLL_S);
    const r = this.backend.readiness();
    logger.info(
      {
        address: this.address,
        grpc_address: this.grpcAddress || 'off',
        ready: r.ready,
        models: r.models.length,
        skipped: r.problems.length,
        database: db.kind,
      },
      `loupe serve listening on ${this.address}${r.ready ? '' : ` (not ready: ${r.reason})`}`,
    );
  }
}
