import { FailedAuthLimiter } from '../auth/index.ts';
import { ClientLimits } from '../clients/index.ts';
import type { Config } from '../config/index.ts';
import type { GrpcDeps, GrpcServer } from '../grpc/index.ts';
import { UploadBudget } from '../http/upload-budget.ts';

/** What a role's HTTP and gRPC APIs count together: upload bytes, failed keys, and (public roles) per-client limits. */
export interface SharedGuards {
  readonly uploadBudget: UploadBudget;
  readonly authFailures: FailedAuthLimiter;
  readonly clientLimits: ClientLimits | undefined;
}

export function sharedGuards(config: Config, opts: { clientLimits: boolean }): SharedGuards {
  return {
    uploadBudget: new UploadBudget(config.LOUPE_MAX_INFLIGHT_UPLOAD_BYTES),
    authFailures: new FailedAuthLimiter(),
    clientLimits: opts.clientLimits ? new ClientLimits(config) : undefined,
  };
}

/**
 * A role's OIP gRPC API on LOUPE_GRPC_PORT, listening; undefined when it is off. The gRPC
 * modules are loaded only then: a process without gRPC does not pay their memory.
 */
export async function startGrpc(deps: GrpcDeps): Promise<GrpcServer | undefined> {
  if (deps.config.grpcPort === undefined) return undefined;
  const { GrpcServer } = await import('../grpc/index.ts');
  const server = new GrpcServer(deps);
  await server.start();
  // The role's one "listening" line, once it is up, carries grpc_address; this is for debugging start-up.
  deps.logger.debug({ grpc_address: server.address }, `gRPC (Open Inference Protocol) bound to ${server.address}`);
  return server;
}
