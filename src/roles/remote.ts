import { ConfigError, type Config } from '../config/index.ts';
import { RemoteBackend, type RemoteBackendOptions } from '../inference/remote/index.ts';
import { ServingRole, type ServingRoleDeps } from './serving.ts';
import { tracingOf } from './tracing.ts';

export type RemoteRoleDeps = ServingRoleDeps;

/**
 * What the gateway and the worker share: inference on the model servers (RemoteBackend) and
 * PostgreSQL for history and jobs.
 */
export abstract class RemoteRole extends ServingRole<RemoteBackend> {
  constructor(deps: RemoteRoleDeps) {
    super(
      deps,
      (metrics) =>
        new RemoteBackend({
          options: remoteBackendOptions(deps.config),
          logger: deps.logger,
          metrics,
          tracing: tracingOf(deps),
        }),
    );
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
