import type { InferenceBackend } from '../inference/index.ts';
import type { JobWorker } from '../jobs/index.ts';
import { Role } from '../lifecycle/index.ts';
import { createMetrics, registerBuildInfo, type Metrics, type Tracing } from '../observability/index.ts';
import { openStorage, type Storage } from './common.ts';
import type { RoleDeps } from './deps.ts';
import { pullConfiguredModels } from './pull.ts';
import { Surfaces } from './surfaces.ts';
import { tracingOf } from './tracing.ts';

/** The longest a stop waits for the last spans to reach the receiver. */
const TRACE_FLUSH_MS = 5000;

export interface ServingRoleDeps extends RoleDeps {
  /** Lets one process host several roles on one database (tests, embedding); the role does not close it. */
  readonly storage?: Storage | undefined;
}

/**
 * The one shape of serve, gateway, model-server and worker: a backend, its metrics, the
 * surfaces it answers on (HTTP, gRPC), optionally storage and a job worker, and the
 * LOUPE_MODEL_URIS pulls a stop abandons. Start and stop, their idempotence and the states
 * are Role's; a role's onStart opens what it needs in its order, and onStop releases it all.
 */
export abstract class ServingRole<B extends InferenceBackend = InferenceBackend> extends Role {
  readonly metrics: Metrics = createMetrics();
  readonly backend: B;
  readonly tracing: Tracing;
  protected readonly deps: ServingRoleDeps;
  protected readonly surfaces: Surfaces;
  protected storage: Storage | undefined;
  protected jobWorker: JobWorker | undefined;
  private readonly pulls = new AbortController();

  constructor(deps: ServingRoleDeps, backend: (metrics: Metrics) => B) {
    super();
    this.deps = deps;
    this.tracing = tracingOf(deps);
    registerBuildInfo(this.metrics.registry, { version: deps.version, revision: deps.config.LOUPE_REVISION });
    this.backend = backend(this.metrics);
    this.surfaces = new Surfaces(deps, this);
  }

  /** `http://host:port` once listening, else ''. */
  get address(): string {
    return this.surfaces.address;
  }

  /** `host:port` of the gRPC API, or '' when it is off or not listening (the worker has none). */
  get grpcAddress(): string {
    return this.surfaces.grpcAddress;
  }

  /** A stop during start abandons a LOUPE_MODEL_URIS pull (it removes what it staged). */
  override stop(): Promise<void> {
    this.pulls.abort();
    return super.stop();
  }

  /** LOUPE_MODEL_URIS not in the store yet, pulled (serve, model-server). */
  protected pullModels(): Promise<void> {
    return pullConfiguredModels(this.deps.config, this.deps.logger, this.pulls.signal);
  }

  /** The role's storage: the one it was given, else its own (closed on stop). */
  protected async openStorage(opts: Parameters<typeof openStorage>[2]): Promise<Storage> {
    this.storage = this.deps.storage ?? (await openStorage(this.deps.config, this.deps.logger, opts, this.tracing));
    return this.storage;
  }

  /** Stop accepting and let in-flight requests finish, then the jobs in hand, the backend, storage; last, the spans. */
  protected async onStop(): Promise<void> {
    await this.surfaces.close();
    await this.jobWorker?.stop();
    await this.backend.close();
    if (!this.deps.storage) await this.storage?.close();
    await this.tracing.shutdown(Math.min(TRACE_FLUSH_MS, this.deps.config.LOUPE_SHUTDOWN_TIMEOUT_MS / 2));
  }
}
