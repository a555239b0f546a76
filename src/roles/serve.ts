import type { GrpcServer } from '../grpc/index.ts';
import { buildApp, type App } from '../http/index.ts';
import type { LocalBackend } from '../inference/local/index.ts';
import type { JobWorker } from '../jobs/index.ts';
import { Role, addressOf } from '../lifecycle/index.ts';
import { createMetrics, type Metrics } from '../observability/index.ts';
import { readKeysFile, type ApiKeyStore } from '../auth/index.ts';
import { createJobWorker, dbReadyCheck, openApiKeys, openStorage, type Storage } from './common.ts';
import type { RoleDeps } from './deps.ts';
import { startGrpc, roleAdmission } from './grpc.ts';
import { createLocalBackend } from './local.ts';
import { httpOptions, webhookPolicy } from './options.ts';
import { pullConfiguredModels } from './pull.ts';

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
  private grpc: GrpcServer | undefined;
  private storage: Storage | undefined;
  private worker: JobWorker | undefined;
  private apiKeys: ApiKeyStore | undefined;
  private readonly pulls = new AbortController();

  constructor(deps: RoleDeps) {
    super();
    this.deps = deps;
    this.metrics = createMetrics();
    this.backend = createLocalBackend(deps, this.metrics);
  }

  get address(): string {
    return addressOf(this.app?.server);
  }

  /** A stop during start abandons a LOUPE_MODEL_URIS pull (it removes what it staged). */
  override stop(): Promise<void> {
    this.pulls.abort();
    return super.stop();
  }

  /** `host:port` of the gRPC API, or '' when it is off or not listening yet. */
  get grpcAddress(): string {
    return this.grpc?.address ?? '';
  }

  /** The API key store, once started (tests and embedding make keys with it). */
  get keys(): ApiKeyStore | undefined {
    return this.apiKeys;
  }

  protected async onStart(): Promise<void> {
    const { config, logger, version } = this.deps;
    // Before anything opens: a bad keys file or webhook allow-list is a configuration error.
    const fileKeys = readKeysFile(config.LOUPE_API_KEYS_FILE);
    const policy = webhookPolicy(config);
    // Database and models load side by side.
    // serve runs for days: a new embedded database is made in a child process (storage/pglite.ts).
    const storage = openStorage(config, logger, { migrate: true, supervise: true, initdb: 'child' });
    const models = pullConfiguredModels(config, logger, this.pulls.signal).then(() => this.backend.start());
    models.catch(() => undefined); // awaited below; a failure must not count as unhandled meanwhile
    this.storage = await storage;
    const { history, jobs, boss, db } = this.storage;
    this.apiKeys = await openApiKeys(config, logger, db, fileKeys);
    const admission = roleAdmission(config, { clientLimits: true });
    const auth = config.authRequired ? this.apiKeys : undefined;
    this.app = await buildApp({
      options: httpOptions(config),
      logger,
      metrics: this.metrics,
      backend: this.backend,
      version,
      history,
      jobs: { store: jobs, boss, webhooksEnabled: config.webhookSecret !== '', webhookPolicy: policy },
      readyChecks: [dbReadyCheck(db)],
      admission,
      auth,
      keys: this.apiKeys,
    });
    // Listening before the models are loaded: /livez and /readyz (503) answer meanwhile.
    await this.app.listen({ port: config.PORT, host: config.HOST });
    this.grpc = await startGrpc(config, {
      logger,
      metrics: this.metrics,
      backend: this.backend,
      version,
      auth,
      admission,
    });
    await models;
    this.worker = createJobWorker(config, logger, this.storage, this.backend, this.metrics, policy);
    await this.worker.start();
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

  protected async onStop(): Promise<void> {
    // Both stop accepting; in-flight requests and calls finish.
    await Promise.all([this.app?.close(), this.grpc?.stop()]);
    await this.worker?.stop();
    await this.backend.close();
    await this.storage?.close();
  }
}
