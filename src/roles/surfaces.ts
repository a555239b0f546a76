import type { GrpcServer } from '../grpc/index.ts';
import { buildApp, type App, type AppDeps } from '../http/index.ts';
import type { InferenceBackend } from '../inference/index.ts';
import { addressOf } from '../lifecycle/index.ts';
import type { Metrics, Tracing } from '../observability/index.ts';
import type { RoleDeps } from './deps.ts';
import { grpcOptions, httpOptions } from './options.ts';

/** What a role adds to its HTTP app beyond what every role shares. */
export type SurfaceDeps = Omit<AppDeps, 'options' | 'logger' | 'metrics' | 'backend' | 'version' | 'tracing'>;

/** What the role's surfaces share: one backend, one metrics registry, one tracing. */
interface SurfaceCore {
  readonly metrics: Metrics;
  readonly tracing: Tracing;
  readonly backend: InferenceBackend;
}

/**
 * What a role answers on: its HTTP app on HOST:PORT and, for an API (not the worker's 'ops'
 * surface), OIP gRPC on LOUPE_GRPC_PORT when it is on — both over the role's one backend,
 * metrics and admission, so a client has one allowance whichever it calls.
 */
export class Surfaces {
  private app: App | undefined;
  private grpc: GrpcServer | undefined;

  private readonly deps: RoleDeps;
  private readonly core: SurfaceCore;

  constructor(deps: RoleDeps, core: SurfaceCore) {
    this.deps = deps;
    this.core = core;
  }

  /** `http://host:port` once listening, else ''. */
  get address(): string {
    return addressOf(this.app?.server);
  }

  /** `host:port` of the gRPC API, or '' when it is off or not listening yet. */
  get grpcAddress(): string {
    return this.grpc?.address ?? '';
  }

  /** HTTP, then gRPC: both listening when this resolves. */
  async open(surface: SurfaceDeps): Promise<void> {
    const { config, logger, version } = this.deps;
    const { metrics, backend, tracing } = this.core;
    const options = httpOptions(config);
    this.app = await buildApp({ options, logger, metrics, backend, version, tracing, ...surface });
    await this.app.listen({ port: config.PORT, host: config.HOST });
    if (surface.surface !== 'ops') this.grpc = await startGrpc(this.deps, this.core, surface);
  }

  /** Both stop accepting; requests and calls in flight finish (gRPC's cut at LOUPE_SHUTDOWN_TIMEOUT_MS). */
  async close(): Promise<void> {
    await Promise.all([this.app?.close(), this.grpc?.stop()]);
  }
}

/**
 * The OIP gRPC API, listening; undefined when LOUPE_GRPC_PORT is off. The gRPC modules are
 * loaded only then: a process without gRPC does not pay their memory.
 */
async function startGrpc(
  deps: RoleDeps,
  core: SurfaceCore,
  surface: Pick<SurfaceDeps, 'auth' | 'admission'>,
): Promise<GrpcServer | undefined> {
  const options = grpcOptions(deps.config);
  if (!options) return undefined;
  const { GrpcServer } = await import('../grpc/index.ts');
  const { logger, version } = deps;
  const server = new GrpcServer({
    options,
    logger,
    version,
    ...core,
    auth: surface.auth,
    admission: surface.admission,
  });
  await server.start();
  // The role's one "listening" line, once it is up, carries grpc_address; this is for debugging start-up.
  logger.debug({ grpc_address: server.address }, `gRPC (Open Inference Protocol) bound to ${server.address}`);
  return server;
}
