import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/config/index.ts';

const on = { OTEL_TRACES_EXPORTER: 'otlp' };

describe('OTEL_* tracing configuration', () => {
  it('is off unless OTEL_TRACES_EXPORTER names an exporter, and OTEL_SDK_DISABLED wins', () => {
    assert.equal(loadConfig({}).tracing, undefined);
    assert.equal(loadConfig({ OTEL_TRACES_EXPORTER: 'none' }).tracing, undefined);
    assert.equal(loadConfig({ ...on, OTEL_SDK_DISABLED: 'TRUE' }).tracing, undefined);
    assert.equal(loadConfig({ ...on, OTEL_SDK_DISABLED: 'false' }).tracing?.exporter, 'otlp');
    // Set but empty is unset (Compose passes `OTEL_TRACES_EXPORTER=` through).
    assert.equal(loadConfig({ OTEL_TRACES_EXPORTER: '' }).tracing, undefined);
  });

  it('has the specification defaults', () => {
    const t = loadConfig(on).tracing!;
    assert.equal(t.url, 'http://localhost:4318/v1/traces');
    assert.deepEqual(t.headers, {});
    assert.equal(t.serviceName, undefined);
    assert.equal(t.sampler, 'parentbased_always_on');
    assert.equal(t.ratio, 1);
    assert.equal(t.scheduleDelayMs, 5000);
  });

  it('builds the traces URL as the exporter would: /v1/traces after the base, the signal URL as is', () => {
    const base = (u: string) => loadConfig({ ...on, OTEL_EXPORTER_OTLP_ENDPOINT: u }).tracing!.url;
    assert.equal(base('http://collector:4318'), 'http://collector:4318/v1/traces');
    assert.equal(base('http://collector:4318/'), 'http://collector:4318/v1/traces');
    assert.equal(base('https://otel.example/prefix'), 'https://otel.example/prefix/v1/traces');
    const t = loadConfig({
      ...on,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://jaeger:4318/custom',
    }).tracing!;
    assert.equal(t.url, 'http://jaeger:4318/custom');
  });

  it('parses headers and resource attributes (%-decoded); service.name comes from either', () => {
    const t = loadConfig({
      ...on,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc, x-tenant = t1',
      OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs,deployment.environment.name=prod',
    }).tracing!;
    assert.deepEqual(t.headers, { authorization: 'Bearer abc', 'x-tenant': 't1' });
    assert.equal(t.serviceName, 'from-attrs');
    assert.equal(t.resourceAttributes['deployment.environment.name'], 'prod');
    const named = loadConfig({ ...on, OTEL_SERVICE_NAME: 'edge', OTEL_RESOURCE_ATTRIBUTES: 'service.name=x' });
    assert.equal(named.tracing!.serviceName, 'edge');
  });

  it('takes the ratio of the traceidratio samplers and ignores the argument of the others', () => {
    const ratio = (sampler: string, arg: string) =>
      loadConfig({ ...on, OTEL_TRACES_SAMPLER: sampler, OTEL_TRACES_SAMPLER_ARG: arg }).tracing!.ratio;
    assert.equal(ratio('parentbased_traceidratio', '0.25'), 0.25);
    assert.equal(ratio('traceidratio', ''), 1);
    assert.equal(ratio('always_on', 'whatever'), 1);
  });

  it('refuses a bad value with one line naming the variable, even while tracing is off', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ OTEL_TRACES_EXPORTER: 'jaeger' }, /^invalid configuration: OTEL_TRACES_EXPORTER .*\(got "jaeger"\)$/],
      [{ OTEL_TRACES_SAMPLER: 'sometimes' }, /^invalid configuration: OTEL_TRACES_SAMPLER .*\(got "sometimes"\)$/],
      [{ OTEL_SDK_DISABLED: 'yes' }, /^invalid configuration: OTEL_SDK_DISABLED /],
      [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /^invalid configuration: OTEL_EXPORTER_OTLP_PROTOCOL /],
      [{ OTEL_BSP_SCHEDULE_DELAY: '0' }, /^invalid configuration: OTEL_BSP_SCHEDULE_DELAY /],
      [
        { ...on, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' },
        /^invalid configuration: OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1 for traceidratio \(got "1\.5"\)$/,
      ],
      [
        { ...on, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
        /^invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT must be an http:\/\/ or https:\/\/ URL/,
      ],
      [
        { ...on, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' },
        /^invalid configuration: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http:\/\/ or https:\/\/ URL/,
      ],
      [
        { ...on, OTEL_EXPORTER_OTLP_HEADERS: 'novalue' },
        /^invalid configuration: OTEL_EXPORTER_OTLP_HEADERS must be key=value/,
      ],
      [
        // The value is a credential: the line names the entry and its key, never the value.
        { ...on, OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=t1,authorization=Bearer%zzsecret-token' },
        /^invalid configuration: OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs separated by commas, values %-encoded \(entry 2, key "authorization"\)$/,
      ],
      [
        { ...on, OTEL_RESOURCE_ATTRIBUTES: 'a=%E0%A4%A' },
        /^invalid configuration: OTEL_RESOURCE_ATTRIBUTES must be key=value/,
      ],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => err instanceof ConfigError && message.test(err.message) && !err.message.includes('\n'),
        JSON.stringify(env),
      );
    }
  });
});
