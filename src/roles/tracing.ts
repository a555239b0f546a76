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
  let warned = 0;
  const tracing = await loadTracing(options, (err) => {
    // One line a minute at most: a receiver that is down would otherwise log every export.
    if (Date.now() - warned < 60_000) return;
    warned = Date.now();
    logger.warn({ err: err.message, url: shownUrl(options.url) }, 'tracing: spans could not be exported (lost)');
  });
  logger.info(
    { tracing: options.exporter, service: options.serviceName, sampler: options.sampler },
    options.exporter === 'otlp'
      ? `tracing on: spans go to ${shownUrl(options.url)}`
      : 'tracing on: spans printed (console)',
  );
  return tracing;
}

/** The endpoint as logs may show it: a collector URL can carry credentials (user:token@, ?token=). */
export function shownUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

export function tracingOptions(config: Config, role: string, version: string): TracingOptions | undefined {
  const t = config.tracing;
  if (!t) return undefined;
  return { ...t, serviceName: t.serviceName ?? `loupe-${role}`, serviceVersion: version };
}

/** The tracing a role was given; none: off. */
export const tracingOf = (deps: RoleDeps): Tracing => deps.tracing ?? NOOP_TRACING;
