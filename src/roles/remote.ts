import type { GrpcServer } from '../grpc/index.ts';
import { buildApp, type App, type AppDeps } from '../http/index.ts';
import { ConfigError, type Config } from '../config/index.ts';
import { RemoteBackend, type RemoteBackendOptions } from '../inference/remote/index.ts';
import { Role, addressOf } from '../lifecycle/index.ts';
import { createMetrics } from '../observability/index.ts';
import { openStorage, type Storage } from './common.ts';
import { roleAdmission } from './grpc.ts';
import { httpOptions } from './options.ts';
import type { RoleDeps } from './deps.ts';

export interface RemoteRoleDeps extends RoleDeps {
  /** Lets one process host several roles on one database (tests, embedding). */
  readonly storage?: Storage | undefined;
}

/**
 * What the gateway and the worker share: inference on the model servers (RemoteBackend),
 * PostgreSQL for history and jobs, and an HTTP surface.
 */
export abstract class RemoteRole extends Role {
  protected readonly deps: RemoteRoleDeps;
  protected readonly metrics = createMetrics();
  protected readonly backend: RemoteBackend;
  protected storage: Storage | undefined;
  protected app: App | undefined;
  protected grpc: GrpcServer | undefined;

  constructor(deps: RemoteRoleDeps) {
    super();
    this.deps = deps;
    this.backend = new RemoteBackend({
      options: remoteBackendOptions(deps.config),
      logger: deps.logger,
      metrics: this.metrics,
    });
  }

  get address(): string {
    return addressOf(this.app?.server);
  }

  /** `host:port` of the gRPC API, or '' when it is off or not listening (the worker has none). */
  get grpcAddress(): string {
    return this.grpc?.address ?? '';
  }

  protected async openStorage(supervise: boolean): Promise<Storage> {
    this.storage =
      this.deps.storage ?? (await openStorage(this.deps.config, this.deps.logger, { migrate: false, supervise }));
    return this.storage;
  }

  protected async listen(extra: Partial<AppDeps>): Promise<void> {
    const { config, logger, version } = this.deps;
    const admission = extra.admission ?? roleAdmission(config, { clientLimits: false });
    const { metrics, backend } = this;
    this.app = await buildApp({ options: httpOptions(config), logger, metrics, backend, version, ...extra, admission });
    await this.app.listen({ port: config.PORT, host: config.HOST });
    await this.backend.start();
  }

  protected async closeAll(): Promise<void> {
    await Promise.all([this.app?.close(), this.grpc?.stop()]);
    await this.backend.close();
    if (!this.deps.storage) await this.storage?.close();
  }
}

/** The remote backend's options from the environment. */
export function remoteBackendOptions(config: Config): RemoteBackendOptions {
  const url = config.LOUPE_MODEL_SERVER_URL;
  if (!url) throw new ConfigError('invalid configuration: LOUPE_MODEL_SERVER_URL is required for this role');
  return {
    modelServerUrl: url,
    defaultModel: config.LOUPE_DEFAULT_MODEL,
    retryAfterS: config.LOUPE_RETRY_AFTER_S,
    pollS: config.LOUPE_MODEL_POLL_S,
  };
}
