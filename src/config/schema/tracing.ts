import { Type } from 'typebox';

/** The standard samplers of the OpenTelemetry specification (jaeger_remote and xray need SDK parts Loupe does not ship). */
export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/**
 * Tracing: OpenTelemetry's own variables (the names every OTel SDK and operator uses), read
 * here once and validated like every other setting; off unless OTEL_TRACES_EXPORTER names
 * an exporter, and then the SDK is not even loaded.
 */
export const TracingVariables = {
  OTEL_TRACES_EXPORTER: Type.Union([Type.Literal('none'), Type.Literal('otlp'), Type.Literal('console')], {
    default: 'none',
    description:
      'OpenTelemetry tracing: otlp sends spans over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT; console prints them (debugging); none (or unset): tracing off and the SDK not loaded. An incoming `traceparent` trace id is logged either way.',
  }),
  OTEL_SDK_DISABLED: Type.String({
    pattern: '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$',
    default: 'false',
    description: 'true turns tracing off whatever OTEL_TRACES_EXPORTER says (the OpenTelemetry switch).',
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.String({
    default: '',
    description:
      'Base URL of the OTLP/HTTP receiver (a Collector, Jaeger); spans go to <url>/v1/traces. Empty: http://localhost:4318.',
  }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Type.String({
    default: '',
    description: 'Full URL spans are POSTed to, used as is; wins over OTEL_EXPORTER_OTLP_ENDPOINT.',
  }),
  OTEL_EXPORTER_OTLP_HEADERS: Type.String({
    default: '',
    description:
      'Headers of every export, as `key=value,key2=value2` (values %-encoded), e.g. an authorization token for a hosted backend.',
  }),
  OTEL_EXPORTER_OTLP_PROTOCOL: Type.Literal('http/json', {
    default: 'http/json',
    description:
      "OTLP wire protocol: Loupe's exporter sends http/json, which every OTLP/HTTP receiver accepts on port 4318; another value is refused rather than silently ignored.",
  }),
  OTEL_SERVICE_NAME: Type.String({
    default: '',
    description:
      'service.name of the spans; empty: service.name from OTEL_RESOURCE_ATTRIBUTES, else loupe-<role> (loupe-serve, loupe-gateway, loupe-model-server, loupe-worker).',
  }),
  OTEL_RESOURCE_ATTRIBUTES: Type.String({
    default: '',
    description:
      'More resource attributes of the spans, as `key=value,key2=value2` (values %-encoded), e.g. deployment.environment.name=prod.',
  }),
  OTEL_TRACES_SAMPLER: Type.Union(
    SAMPLERS.map((s) => Type.Literal(s)),
    {
      default: 'parentbased_always_on',
      description:
        "Which traces are recorded: parentbased_* follow the caller's sampled flag when a traceparent comes in; traceidratio keeps the share OTEL_TRACES_SAMPLER_ARG of traces.",
    },
  ),
  OTEL_TRACES_SAMPLER_ARG: Type.String({
    default: '',
    description: 'The ratio (0 to 1) of the traceidratio samplers; empty: 1. Ignored by the other samplers.',
  }),
  OTEL_BSP_SCHEDULE_DELAY: Type.Integer({
    minimum: 1,
    default: 5000,
    description: 'Milliseconds between two exports of the spans recorded meanwhile (they are also flushed on stop).',
  }),
};
