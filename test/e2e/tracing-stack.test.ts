import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeBytesElements } from '../../src/inference/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { grpcClient, type TestGrpcClient } from '../helpers/grpc.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { startOtlpReceiver, startRole, type ReceivedSpan, type RoleProcess } from '../helpers/otlp.ts';
import { tempDir } from '../helpers/server.ts';

const CLIENT = 3;

function caller(): { traceId: string; spanId: string; traceparent: string } {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  const traceId = `3${hex(31)}`;
  const spanId = `4${hex(15)}`;
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}
const named = (trace: readonly ReceivedSpan[], service: string, name: string) => {
  const s = trace.find((x) => x.service === service && x.name === name);
  assert.ok(s, `no span ${service}:${name} in ${trace.map((x) => `${x.service}:${x.name}`).join(', ')}`);
  return s;
};

// The stack as Compose runs it: a gateway and a model server, each its own process exporting
// to the same receiver. The model server's exporter waits longer than the tests take, so its
// spans arrive only with the flush of its graceful stop: that is checked too.
describe('one trace across gateway and model server (separate processes)', () => {
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let model: RoleProcess;
  let gateway: RoleProcess;
  let grpc: TestGrpcClient;
  const traces: Array<{ id: string; via: 'http' | 'grpc' }> = [];

  before(async () => {
    otlp = await startOtlpReceiver();
    const store = tempDir('loupe-trace-stack-');
    writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
    const dataDir = tempDir('loupe-trace-stack-data-');
    const otel = { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url };
    model = await startRole('model-server', {
      ...otel,
      LOUPE_MODEL_STORE: store,
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    // The gateway's database: an embedded one, made by `loupe migrate` as the stack's migrate job does.
    await (await startRole('migrate', { LOUPE_DATA_DIR: dataDir })).stop();
    gateway = await startRole('gateway', {
      ...otel,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      LOUPE_DATA_DIR: dataDir,
      LOUPE_MODEL_SERVER_URL: model.url,
      LOUPE_DEFAULT_MODEL: 'colors',
    });
    grpc = grpcClient(gateway.grpcAddress);
  });
  after(async () => {
    grpc?.close();
    await gateway?.stop();
    await model?.stop();
    await otlp?.close();
  });

  it('HTTP /predict through the gateway: its call to the model server carries the trace', async () => {
    const c = caller();
    const f = new FormData();
    f.append('file', new Blob([fixture('dog-160x120.png')]), 'dog.png');
    const res = await fetch(`${gateway.url}/predict`, {
      method: 'POST',
      body: f,
      headers: { traceparent: c.traceparent },
    });
    assert.equal(res.status, 200);
    const trace = await otlp.waitFor(c.traceId, (t) => t.some((s) => s.name === 'POST' && s.kind === CLIENT));
    const server = named(trace, 'loupe-gateway', 'POST /predict');
    assert.equal(server.parentSpanId, c.spanId);
    const client = named(trace, 'loupe-gateway', 'POST');
    assert.equal(client.parentSpanId, server.spanId);
    assert.equal(client.attributes['http.response.status_code'], 200);
    assert.match(String(client.attributes['url.full']), /\/v2\/models\/colors\/infer$/);
    traces.push({ id: c.traceId, via: 'http' });
    const line = gateway.lines().find((l) => l.route === '/predict');
    assert.equal(line?.trace_id, c.traceId);
  });

  it('gRPC ModelInfer with traceparent metadata: the gateway’s call span, then the model server', async () => {
    const c = caller();
    const request = {
      model_name: 'colors',
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
      raw_input_contents: [encodeBytesElements([fixture('dog-160x120.jpg')])],
    };
    const r = await grpc.call('ModelInfer', request, { traceparent: c.traceparent });
    assert.equal(r.error, undefined, r.error?.details);
    const trace = await otlp.waitFor(c.traceId, (t) => t.some((s) => s.name === 'POST' && s.kind === CLIENT));
    const call = named(trace, 'loupe-gateway', 'inference.GRPCInferenceService/ModelInfer');
    assert.equal(call.parentSpanId, c.spanId);
    assert.equal(call.attributes['rpc.system'], 'grpc');
    assert.equal(call.attributes['rpc.method'], 'ModelInfer');
    assert.equal(call.attributes['rpc.grpc.status_code'], 0);
    assert.equal(named(trace, 'loupe-gateway', 'loupe.receive').parentSpanId, call.spanId);
    const client = named(trace, 'loupe-gateway', 'POST');
    assert.equal(client.parentSpanId, call.spanId);
    traces.push({ id: c.traceId, via: 'grpc' });
    const line = gateway.lines().find((l) => l.rpc === 'ModelInfer');
    assert.equal(line?.trace_id, c.traceId);
    assert.equal(line?.span_id, call.spanId);
  });

  it('gRPC ModelStreamInfer: each message’s call to the model server is under the stream’s span', async () => {
    const c = caller();
    const call = grpc.stream('ModelStreamInfer', { traceparent: c.traceparent });
    const answers: Array<{ error_message?: string }> = [];
    call.on('data', (r: { error_message?: string }) => answers.push(r));
    const status = new Promise<{ code: number }>((resolve) => call.on('status', resolve));
    for (const id of ['a', 'b'])
      call.write({
        id,
        model_name: 'colors',
        inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
        raw_input_contents: [encodeBytesElements([fixture('dog-160x120.png')])],
      });
    call.end();
    assert.equal((await status).code, 0);
    assert.deepEqual(
      answers.map((a) => a.error_message ?? ''),
      ['', ''],
    );
    const trace = await otlp.waitFor(c.traceId, (t) => t.filter((s) => s.kind === CLIENT).length === 2);
    const stream = named(trace, 'loupe-gateway', 'inference.GRPCInferenceService/ModelStreamInfer');
    assert.equal(stream.parentSpanId, c.spanId);
    for (const client of trace.filter((s) => s.kind === CLIENT)) assert.equal(client.parentSpanId, stream.spanId);
    // A stream that went well shows no failed span (no receive span left to fail at its end).
    assert.deepEqual(
      trace.filter((s) => s.status.code === 2).map((s) => `${s.service}:${s.name}`),
      [],
    );
    traces.push({ id: c.traceId, via: 'grpc' });
  });

  it('the model server’s spans, flushed by its graceful stop, continue every trace', async () => {
    assert.equal(traces.length, 3);
    assert.equal(otlp.spans.filter((s) => s.service === 'loupe-model-server').length, 0, 'not exported yet');
    assert.equal(await model.stop(), 0);
    for (const { id } of traces) {
      const trace = await otlp.waitFor(id, (t) => t.some((s) => s.service === 'loupe-model-server'), 5000);
      const server = named(trace, 'loupe-model-server', 'POST /v2/models/:model/infer');
      const calls = trace.filter((s) => s.service === 'loupe-gateway' && s.kind === CLIENT).map((s) => s.spanId);
      assert.ok(calls.includes(server.parentSpanId), 'the gateway’s call is the parent');
      for (const name of ['loupe.inference', 'loupe.decode', 'loupe.queue', 'loupe.batch'])
        assert.equal(named(trace, 'loupe-model-server', name).traceId, id);
      assert.equal(named(trace, 'loupe-model-server', 'loupe.inference').attributes['loupe.model'], 'colors');
    }
  });
});
