import { createAdmission, type Admission } from '../admission/index.ts';
import type { Config } from '../config/index.ts';
import type { GrpcDeps, GrpcServer } from '../grpc/index.ts';
import { grpcOptions } from './options.ts';

/**
 * A role's admission rules, from its configuration, shared by its HTTP and gRPC APIs: upload
 * bytes, the upload rate floor, failed keys, and (`clientLimits`: the public roles) per-client
 * limits and upload shares.
 */
export function roleAdmission(config: Config, opts: { clientLimits: boolean }): Admission {
  const retryAfterS = config.LOUPE_RETRY_AFTER_S;
  return createAdmission({
    budget: {
      maxBytes: config.LOUPE_MAX_INFLIGHT_UPLOAD_BYTES,
      // A model server's one client is the gateway: a share per client would cut its budget to a share.
      perClientBytes: opts.clientLimits ? config.LOUPE_MAX_INFLIGHT_UPLOAD_BYTES_PER_CLIENT : 0,
      retryAfterS,
    },
    rateFloor: {
      minBytesPerS: config.LOUPE_MIN_UPLOAD_RATE_BYTES_PER_S,
      graceMs: config.LOUPE_UPLOAD_RATE_GRACE_MS,
    },
    clientLimits: opts.clientLimits
      ? {
          perMinute: config.LOUPE_RATE_LIMIT_PER_MINUTE,
          maxInFlight: config.LOUPE_MAX_INFLIGHT_PER_CLIENT,
          retryAfterS,
        }
      : undefined,
    retryAfterS,
  });
}

/**
 * A role's OIP gRPC API on LOUPE_GRPC_PORT, listening; undefined when it is off. The gRPC
 * modules are loaded only then: a process without gRPC does not pay their memory.
 */
export async function startGrpc(config: Config, deps: Omit<GrpcDeps, 'options'>): Promise<GrpcServer | undefined> {
  const options = grpcOptions(config);
  if (!options) return undefined;
  const { GrpcServer } = await import('../grpc/index.ts');
  const server = new GrpcServer({ ...deps, options });
  await server.start();
  // The role's one "listening" line, once it is up, carries grpc_address; this is for debugging start-up.
  deps.logger.debug({ grpc_address: server.address }, `gRPC (Open Inference Protocol) bound to ${server.address}`);
  return server;
}
