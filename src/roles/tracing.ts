import type { Config } from '../config/index.ts';
import { NOOP_TRACING, loadTracing, type Logger, type Tracing, type TracingOptions } from '../observability/index.ts';
import type { RoleDeps } from './deps.ts';

/**
 * The process's tracing, from OTEL_*: NOOP_TRACING when it is off (nothing of OpenTelemetry is
 * loaded), else the SDK, exporting as service `loupe-<role>` unless OTEL_SERVICE_NAME says otherwise.
 */
export async function openTracing(config: Config, role: string, version: string, logger: Logger): Promise<Tracing> {
  const options = tracingOptions(config, role, version);
  if (!options) return NOOP_TRACING;
  const tracing = await loadTracing(options);
  logger.info(
    { tracing: options.exporter, service: options.serviceName, sampler: options.sampler },
    options.exporter === 'otlp' ? `tracing on: spans go to ${options.url}` : 'tracing on: spans printed (console)',
  );
  return tracing;
}

export function tracingOptions(config: Config, role: string, version: string): TracingOptions | undefined {
  const t = config.tracing;
  if (!t) return undefined;
  return { ...t, serviceName: t.serviceName ?? `loupe-${role}`, serviceVersion: version };
}

/** The tracing a role was given; none: off. */
export const tracingOf = (deps: RoleDeps): Tracing => deps.tracing ?? NOOP_TRACING;
