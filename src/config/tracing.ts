import { ConfigError } from '../errors.ts';
import type { SAMPLERS } from './schema/tracing.ts';

/** OTEL_*, parsed once: what the tracing SDK is built from (nothing else reads these variables). */
export interface TracingConfig {
  readonly exporter: 'otlp' | 'console';
  /** Where spans are POSTed: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** OTEL_SERVICE_NAME, else service.name of OTEL_RESOURCE_ATTRIBUTES; undefined: the role's default. */
  readonly serviceName: string | undefined;
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: (typeof SAMPLERS)[number];
  /** The traceidratio samplers' ratio, 0 to 1. */
  readonly ratio: number;
  readonly scheduleDelayMs: number;
}

interface TracingVariables {
  readonly OTEL_TRACES_EXPORTER: string;
  readonly OTEL_SDK_DISABLED: string;
  readonly OTEL_EXPORTER_OTLP_ENDPOINT: string;
  readonly OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: string;
  readonly OTEL_EXPORTER_OTLP_HEADERS: string;
  readonly OTEL_SERVICE_NAME: string;
  readonly OTEL_RESOURCE_ATTRIBUTES: string;
  readonly OTEL_TRACES_SAMPLER: (typeof SAMPLERS)[number];
  readonly OTEL_TRACES_SAMPLER_ARG: string;
  readonly OTEL_BSP_SCHEDULE_DELAY: number;
}

const DEFAULT_ENDPOINT = 'http://localhost:4318';

/**
 * The OTEL_* variables as one checked object, or undefined when tracing is off. The exporter
 * would read the endpoint and headers from the environment by itself; Loupe parses them here,
 * with the specification's rules, and hands them over explicitly, so a bad value is one clear
 * line at start instead of an SDK warning and spans sent nowhere.
 */
export function parseTracing(c: TracingVariables): TracingConfig | undefined {
  if (c.OTEL_SDK_DISABLED.toLowerCase() === 'true' || c.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const resourceAttributes = keyValues('OTEL_RESOURCE_ATTRIBUTES', c.OTEL_RESOURCE_ATTRIBUTES);
  return {
    exporter: c.OTEL_TRACES_EXPORTER as TracingConfig['exporter'],
    url: tracesUrl(c),
    headers: keyValues('OTEL_EXPORTER_OTLP_HEADERS', c.OTEL_EXPORTER_OTLP_HEADERS),
    serviceName: c.OTEL_SERVICE_NAME || resourceAttributes['service.name'] || undefined,
    resourceAttributes,
    sampler: c.OTEL_TRACES_SAMPLER,
    ratio: samplerRatio(c),
    scheduleDelayMs: c.OTEL_BSP_SCHEDULE_DELAY,
  };
}

function tracesUrl(c: TracingVariables): string {
  const signal = c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const [name, given] = signal
    ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', signal]
    : ['OTEL_EXPORTER_OTLP_ENDPOINT', c.OTEL_EXPORTER_OTLP_ENDPOINT || DEFAULT_ENDPOINT];
  // The specification's rule: the signal's URL is used as is, the base gets v1/traces appended.
  const url = signal ? given : `${given.replace(/\/?$/, '/')}v1/traces`;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:')
    throw new ConfigError(`invalid configuration: ${name} must be an http:// or https:// URL (got "${given}")`);
  return parsed.toString();
}

function samplerRatio(c: TracingVariables): number {
  const arg = c.OTEL_TRACES_SAMPLER_ARG;
  if (!c.OTEL_TRACES_SAMPLER.endsWith('traceidratio') || arg === '') return 1;
  const ratio = Number(arg);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
    throw new ConfigError(
      `invalid configuration: OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1 for ${c.OTEL_TRACES_SAMPLER} (got "${arg}")`,
    );
  return ratio;
}

/** `key=value,key2=value2`, values %-encoded: the format of OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS. */
function keyValues(name: string, raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, entry] of raw.split(',').entries()) {
    if (entry.trim() === '') continue;
    const eq = entry.indexOf('=');
    const key = eq > 0 ? entry.slice(0, eq).trim() : '';
    let value: string | undefined;
    try {
      value = eq > 0 ? decodeURIComponent(entry.slice(eq + 1).trim()) : undefined;
    } catch {
      value = undefined;
    }
    // Only the key is shown: OTEL_EXPORTER_OTLP_HEADERS values are credentials (an auth token).
    if (!key || value === undefined)
      throw new ConfigError(
        `invalid configuration: ${name} must be key=value pairs separated by commas, values %-encoded (entry ${i + 1}${key ? `, key "${key}"` : ''})`,
      );
    out[key] = value;
  }
  return out;
}
