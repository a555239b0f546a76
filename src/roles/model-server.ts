import type { GrpcServer } from '../grpc/index.ts';
import { buildApp, type App } from '../http/index.ts';
import type { LocalBackend } from '../inference/local/index.ts';
import { Role, addressOf } from '../lifecycle/index.ts';
import { createMetrics } from '../observability/index.ts';
import type { RoleDeps } from './deps.ts';
import { warnIfOpen } from './common.ts';
import { roleAdmission, startGrpc } from './grpc.ts';
import { createLocalBackend } from './local.ts';
import { httpOptions } from './options.ts';
import { pullConfiguredModels } from './pull.ts';

/** `loupe model-server`: the model store behind OIP v2, with batching, metrics and health. No database. */
export class ModelServerRole extends Role {
  private readonly deps: RoleDeps;
  private readonly metrics = createMetrics();
  private readonly backend: LocalBackend;
  private app: App | undefined;
  private grpc: GrpcServer | undefined;
  private readonly pulls = new AbortController();

  constructor(deps: RoleDeps) {
    super();
    this.deps = deps;
    this.backend = createLocalBackend(deps, this.metrics);
  }

  get address(): string {
    return addressOf(this.app?.server);
  }

  /** `host:port` of the gRPC API, or '' when it is off or not listening yet. */
  get grpcAddress(): string {
    return this.grpc?.address ?? '';
  }

  /** A stop during start abandons a LOUPE_MODEL_URIS pull (it removes what it staged). */
  override stop(): Promise<void> {
    this.pulls.abort();
    return super.stop();
  }

  protected async onStart(): Promise<void> {
    const { config, logger, version } = this.deps;
    // No API keys or per-client limits: the gateway is a model server's one client.
    const admission = roleAdmission(config, { clientLimits: false });
    warnIfOpen(logger, { host: config.HOST, authRequired: false, role: 'model-server' });
    const { metrics, backend } = this;
    this.app = await buildApp({ options: httpOptions(config), logger, metrics, backend, version, admission });
    await this.app.listen({ port: config.PORT, host: config.HOST });
    this.grpc = await startGrpc(config, { logger, metrics, backend, version, admission });
    await pullConfiguredModels(config, logger, this.pulls.signal);
    await this.backend.start();
    this.backend.watch(config.LOUPE_MODEL_POLL_S);
    logger.info(
      { address: this.address, grpc_address: this.grpcAddress || 'off', models: this.backend.listModels().length },
      `loupe model-server listening on ${this.address}`,
    );
  }

  protected async onStop(): Promise<void> {
    await Promise.all([this.app?.close(), this.grpc?.stop()]);
    await this.backend.close();
  }
}
