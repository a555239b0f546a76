import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { OTEL_LOAD_PROBE, startOtlpReceiver, startRole, type ReceivedSpan, type RoleProcess } from '../helpers/otlp.ts';
import { json, tempDir } from '../helpers/server.ts';

const SERVER = 2;
const CONSUMER = 5;
const ERROR = 2;

/** A W3C traceparent of a caller's span (a proxy, a client): new ids each time. */
function caller(): { traceId: string; spanId: string; traceparent: string } {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  const traceId = `1${hex(31)}`;
  const spanId = `2${hex(15)}`;
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const named = (trace: readonly ReceivedSpan[], name: string) => {
  const s = trace.find((x) => x.name === name);
  assert.ok(s, `no span ${name} in ${trace.map((x) => x.name).join(', ')}`);
  return s;
};
const has =
  (...names: string[]) =>
  (trace: ReceivedSpan[]) =>
    names.every((n) => trace.some((s) => s.name === n));

function imageForm(fields: Record<string, string> = {}): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  f.append('file', new Blob([fixture('dog-160x120.png')]), 'dog.png');
  return f;
}

describe('OpenTelemetry tracing on loupe serve (OTLP/HTTP to a loopback receiver)', () => {
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let serve: RoleProcess;
  const hooks: Array<{ traceparent: string | undefined }> = [];
  const hookServer = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hooks.push({ traceparent: req.headers.traceparent as string | undefined });
      res.writeHead(204).end();
    });
  });

  before(async () => {
    otlp = await startOtlpReceiver();
    hookServer.listen(0, '127.0.0.1');
    await once(hookServer, 'listening');
    const store = tempDir('loupe-trace-');
    writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
    serve = await startRole(
      'serve',
      {
        LOUPE_MODEL_STORE: store,
        LOUPE_DEFAULT_MODEL: 'colors',
        LOUPE_DATA_DIR: tempDir('loupe-trace-data-'),
        LOUPE_WEBHOOK_SECRET: 'trace-test-secret',
        LOUPE_WEBHOOK_ALLOW: '127.0.0.1/32',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      ['--import', OTEL_LOAD_PROBE],
    );
  });
  after(async () => {
    await serve?.stop();
    await otlp?.close();
    hookServer.close();
  });

  it('loads the SDK and says where spans go', () => {
    for (const sdk of ['sdk-trace', 'exporter-trace-otlp-http', 'context-async-hooks', 'core', 'resources'])
      assert.match(serve.text(), new RegExp(`otel-module \\S+/@opentelemetry/${sdk}/`));
    const line = serve.lines().find((l) => l.tracing === 'otlp');
    assert.equal(line?.msg, `tracing on: spans go to ${otlp.url}/v1/traces`);
    assert.equal(line?.service, 'loupe-serve');
  });

  it('/predict with a traceparent: its spans continue the caller’s trace, and its log line names it', async () => {
    const c = caller();
    const res = await fetch(`${serve.url}/predict`, {
      method: 'POST',
      body: imageForm(),
      headers: { traceparent: c.traceparent, tracestate: 'vendor=x' },
    });
    assert.equal(res.status, 200);
    const requestId = res.headers.get('x-request-id');
    const names = ['POST /predict', 'loupe.receive', 'loupe.inference', 'loupe.decode', 'loupe.queue', 'loupe.batch'];
    const trace = await otlp.waitFor(c.traceId, has(...names, 'loupe.history.write'));
    assert.ok(trace.every((s) => s.service === 'loupe-serve'));
    const server = named(trace, 'POST /predict');
    assert.equal(server.parentSpanId, c.spanId, 'the caller’s span is the parent');
    assert.equal(server.kind, SERVER);
    assert.equal(server.attributes['http.route'], '/predict');
    assert.equal(server.attributes['http.request.method'], 'POST');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.attributes['loupe.request_id'], requestId);
    const inference = named(trace, 'loupe.inference');
    for (const n of ['loupe.receive', 'loupe.inference', 'loupe.history.write'])
      assert.equal(named(trace, n).parentSpanId, server.spanId, `${n} is a child of the request`);
    for (const n of ['loupe.decode', 'loupe.queue', 'loupe.batch'])
      assert.equal(named(trace, n).parentSpanId, inference.spanId, `${n} is a child of its inference`);
    assert.equal(inference.attributes['loupe.model'], 'colors');
    assert.equal(inference.attributes['loupe.model.version'], '1');
    assert.equal(inference.attributes['loupe.provider'], 'cpu');
    const batch = named(trace, 'loupe.batch');
    assert.equal(batch.attributes['loupe.batch.size'], 1);
    assert.deepEqual(batch.links, [{ traceId: c.traceId, spanId: inference.spanId }]);
    assert.equal(named(trace, 'loupe.decode').attributes['loupe.image.format'], 'png');

    const line = serve.lines().find((l) => l.reqId === requestId && l.route === '/predict');
    assert.equal(line?.trace_id, c.traceId);
    assert.equal(line?.span_id, server.spanId);
  });

  it('one batch serves several requests: its span links each of them', async () => {
    const callers = [caller(), caller(), caller(), caller()];
    const answers = await Promise.all(
      callers.map((c) =>
        fetch(`${serve.url}/predict`, { method: 'POST', body: imageForm(), headers: { traceparent: c.traceparent } }),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 200],
    );
    const traces = await Promise.all(
      callers.map((c) => otlp.waitFor(c.traceId, has('loupe.inference', 'loupe.queue'))),
    );
    const batches = otlp.spans.filter((s) => s.name === 'loupe.batch' && callers.some((c) => c.traceId === s.traceId));
    for (const [i, trace] of traces.entries()) {
      const inference = named(trace, 'loupe.inference');
      const batch = batches.find((b) => b.links.some((l) => l.spanId === inference.spanId));
      assert.ok(batch, `request ${i}'s batch links it`);
      assert.equal(batch.links.length, batch.attributes['loupe.batch.size']);
    }
  });

  it('a failed request is in the trace too: a 4xx is not the server’s error, its code is noted', async () => {
    const c = caller();
    const res = await fetch(`${serve.url}/predict?model=no-such-model`, {
      method: 'POST',
      body: imageForm(),
      headers: { traceparent: c.traceparent },
    });
    assert.equal(res.status, 404);
    const server = named(await otlp.waitFor(c.traceId, has('POST /predict')), 'POST /predict');
    assert.equal(server.attributes['http.response.status_code'], 404);
    assert.equal(server.attributes['loupe.error.code'], 'MODEL_NOT_FOUND');
    assert.notEqual(server.status.code, ERROR);
  });

  it('a job submitted with a traceparent: the worker continues that trace, and so does its webhook', async () => {
    const c = caller();
    const hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
    const res = await fetch(`${serve.url}/jobs`, {
      method: 'POST',
      body: imageForm({ webhook_url: hookUrl }),
      headers: { traceparent: c.traceparent },
    });
    assert.equal(res.status, 202, JSON.stringify(await json(res.clone())));
    const names = ['POST /jobs', 'loupe.job', 'loupe.inference', 'loupe.history.write', 'loupe.webhook.deliver'];
    const trace = await otlp.waitFor(c.traceId, has(...names));
    const submit = named(trace, 'POST /jobs');
    assert.equal(submit.parentSpanId, c.spanId);
    const job = named(trace, 'loupe.job');
    assert.equal(job.kind, CONSUMER);
    assert.equal(job.parentSpanId, submit.spanId, 'the job continues the submitter’s span');
    assert.deepEqual(job.links, [{ traceId: c.traceId, spanId: submit.spanId }]);
    assert.equal(named(trace, 'loupe.inference').parentSpanId, job.spanId);
    assert.equal(named(trace, 'loupe.history.write').parentSpanId, job.spanId);
    const deliver = named(trace, 'loupe.webhook.deliver');
    assert.equal(deliver.parentSpanId, job.spanId);
    assert.equal(deliver.attributes['loupe.webhook.outcome'], 'delivered');
    const hook = hooks.find((h) => h.traceparent?.includes(c.traceId));
    assert.ok(hook, 'the webhook request carries the trace');
    assert.equal(hook.traceparent!.split('-')[2], deliver.spanId);
  });

  it('exports over OTLP/HTTP in JSON', () => {
    assert.ok(otlp.contentTypes.length > 0);
    assert.ok(otlp.contentTypes.every((t) => t.startsWith('application/json')));
  });
});

describe('tracing off (no OTEL_* set)', () => {
  it('loads no OpenTelemetry module and sends nothing, yet logs an incoming trace id', async () => {
    const otlp = await startOtlpReceiver();
    const store = tempDir('loupe-trace-off-');
    writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
    // The endpoint alone turns nothing on: OTEL_TRACES_EXPORTER decides.
    const env = {
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'colors',
      LOUPE_DATA_DIR: 'memory://',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    };
    const serve = await startRole('serve', env, ['--import', OTEL_LOAD_PROBE]);
    try {
      const c = caller();
      const res = await fetch(`${serve.url}/predict`, {
        method: 'POST',
        body: imageForm(),
        headers: { traceparent: c.traceparent },
      });
      assert.equal(res.status, 200);
      const plain = await fetch(`${serve.url}/predict`, { method: 'POST', body: imageForm() });
      assert.equal(plain.status, 200);
      await new Promise((r) => setTimeout(r, 300));
      // prom-client and pg-boss import @opentelemetry/api themselves (it is small, and no-op without
      // an SDK); the SDK, the exporter and the context manager must not be loaded.
      const loaded = serve.text().match(/otel-module \S+/g) ?? [];
      assert.ok(loaded.length > 0, 'the probe sees what is loaded');
      assert.deepEqual(
        loaded.filter((m) => !m.includes('/@opentelemetry/api/')),
        [],
      );
      const lines = serve.lines().filter((l) => l.route === '/predict');
      assert.equal(lines.length, 2);
      assert.equal(lines[0]!.trace_id, c.traceId, 'the incoming trace id, for matching with the caller');
      assert.equal(lines[0]!.span_id, undefined, 'no span is recorded');
      assert.equal(lines[1]!.trace_id, undefined);
    } finally {
      await serve.stop();
    }
    assert.equal(otlp.spans.length, 0);
    assert.equal(otlp.contentTypes.length, 0);
    await otlp.close();
  });
});

describe('OTEL_* mistakes stop the process at start', () => {
  const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
  for (const [env, message] of [
    [{ OTEL_TRACES_SAMPLER: 'sometimes' }, /^invalid configuration: OTEL_TRACES_SAMPLER .*\(got "sometimes"\)$/],
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, /^invalid configuration: OTEL_TRACES_EXPORTER .*\(got "zipkin"\)$/],
    [
      { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      /^invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT must be an http:\/\/ or https:\/\/ URL \(got "collector:4318"\)$/,
    ],
  ] as const) {
    it(`${Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}: exit 1, one line`, () => {
      const r = spawnSync(process.execPath, [MAIN, 'serve'], {
        env: { ...process.env, LOUPE_NODE_TUNING: 'off', ...env },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr.trim(), message);
    });
  }
});
