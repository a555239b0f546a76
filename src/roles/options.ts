import { createAdmission, type Admission } from '../admission/index.ts';
import { ConfigError, type Config } from '../config/index.ts';
import type { GrpcOptions } from '../grpc/index.ts';
import type { HttpOptions } from '../http/index.ts';
import { WebhookPolicy } from '../jobs/index.ts';

// The env-named Config stops here: each module below the roles declares the options it needs,
// and these mappers fill them, one per module (as localBackendOptions and roleAdmission do).

/** The HTTP API's limits and connection rules. */
export function httpOptions(config: Config): HttpOptions {
  return {
    defaultModel: config.LOUPE_DEFAULT_MODEL,
    maxUploadBytes: config.LOUPE_MAX_UPLOAD_BYTES,
    maxPixels: config.LOUPE_MAX_PIXELS,
    jobs: { maxImages: config.LOUPE_MAX_JOB_IMAGES, maxBytes: config.LOUPE_MAX_JOB_BYTES },
    connections: {
      headersTimeoutMs: config.LOUPE_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: config.LOUPE_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: config.LOUPE_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: config.LOUPE_MAX_CONNECTIONS,
      trustProxy: config.LOUPE_TRUST_PROXY,
    },
  };
}

/** The gRPC API's address and rules; undefined when LOUPE_GRPC_PORT is off. */
export function grpcOptions(config: Config): GrpcOptions | undefined {
  if (config.grpcPort === undefined) return undefined;
  return {
    host: config.HOST,
    port: config.grpcPort,
    maxUploadBytes: config.LOUPE_MAX_UPLOAD_BYTES,
    headersTimeoutMs: config.LOUPE_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.LOUPE_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: config.LOUPE_KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: config.LOUPE_MAX_CONNECTIONS,
    trustProxy: config.LOUPE_TRUST_PROXY,
    shutdownTimeoutMs: config.LOUPE_SHUTDOWN_TIMEOUT_MS,
  };
}

/**
 * Where webhooks may go (LOUPE_WEBHOOK_ALLOW), built once per role and shared by POST /jobs
 * and the deliveries; a bad entry is a ConfigError (the process exits 1).
 */
export function webhookPolicy(config: Pick<Config, 'LOUPE_WEBHOOK_ALLOW'>): WebhookPolicy {
  try {
    return new WebhookPolicy({ allow: config.LOUPE_WEBHOOK_ALLOW });
  } catch (err) {
    throw new ConfigError(`invalid configuration: LOUPE_WEBHOOK_ALLOW ${(err as Error).message}`);
  }
}

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
  });
}
