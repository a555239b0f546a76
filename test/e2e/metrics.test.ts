import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/observability/index.ts';
import { openStorage, type Storage } from '../../src/roles/common.ts';
import { GatewayRole } from '../../src/roles/gateway.ts';
import { ModelServerRole } from '../../src/roles/model-server.ts';
import { WorkerRole } from '../../src/roles/worker.ts';
import { fixture } from '../helpers/fixtures.ts';
import { grpcClient, type TestGrpcClient } from '../helpers/grpc.ts';
import { scrape, series, sum } from '../helpers/metrics.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { form, json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

/**
 * The metrics of issue #28 item 4 that no parity test covers, each read from a real GET
 * /metrics after what moves it: loupe_build_info, Triton's nv_inference_* counters against
 * the statistics API, and the job gauges of the roles that own the database.
 */
const C = 3;
const H = 8;
const W = 8;

describe('serve: build info and Triton-named inference counters', () => {
  let srv: TestServer;
  let client: TestGrpcClient;

  before(async () => {
    const store = tempDir('loupe-metrics-');
    writeStoreModel(store, { name: 'colors', channels: C, height: H, width: W, classes: 4, resize: 'stretch' });
    srv = await startServe({ LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'colors', LOUPE_REVISION: '0123abc' });
    client = grpcClient(srv.role.grpcAddress);
  });
  after(async () => {
    client?.close();
    await srv?.stop();
  });

  it('loupe_build_info: 1, with the version, the revision, Node.js and ONNX Runtime', async () => {
    const [info, ...more] = series(await scrape(srv.url), 'loupe_build_info');
    assert.equal(more.length, 0);
    const ort = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
    assert.deepEqual(info, {
      name: 'loupe_build_info',
      labels: { version: '0.0.0-test', revision: '0123abc', node: process.version, onnxruntime: ort },
      value: 1,
    });
  });

  it('nv_inference_* equal what the statistics API reports, after inferences over HTTP and gRPC', async () => {
    const tensor = (n: number) => ({
      inputs: [{ name: 'input', shape: [n, C, H, W], datatype: 'FP32', data: Array(n * C * H * W).fill(0.25) }],
    });
    const infer = (body: object) =>
      fetch(`${srv.url}/v2/models/colors/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    for (const n of [1, 2, 3]) assert.equal((await infer(tensor(n))).status, 200);
    assert.equal(
      (await fetch(`${srv.url}/predict`, { method: 'POST', body: form(fixture('dog-160x120.png')) })).status,
      200,
    );
    const raw = Buffer.alloc(2 * C * H * W * 4);
    const g = await client.call('ModelInfer', {
      model_name: 'colors',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [2, C, H, W] }],
      raw_input_contents: [raw],
    });
    assert.equal(g.error, undefined);
    // A tensor of the wrong shape fails in the model: a failure, as Triton counts one.
    const bad = { inputs: [{ name: 'input', shape: [1, C, 2, 2], datatype: 'FP32', data: Array(C * 4).fill(0) }] };
    assert.equal((await infer(bad)).status, 400);

    const samples = await scrape(srv.url);
    const [stats] = (await json(await fetch(`${srv.url}/v2/models/colors/stats`))).model_stats;
    const labels = { model: 'colors', version: '1' };
    const us = (d: { ns: number }) => Math.floor(d.ns / 1000);
    const i = stats.inference_stats;
    const expected: Record<string, number> = {
      nv_inference_request_success: i.success.count,
      nv_inference_request_failure: i.fail.count,
      nv_inference_count: stats.inference_count,
      nv_inference_exec_count: stats.execution_count,
      nv_inference_request_duration_us: us(i.success),
      nv_inference_queue_duration_us: us(i.queue),
      nv_inference_compute_input_duration_us: us(i.compute_input),
      nv_inference_compute_infer_duration_us: us(i.compute_infer),
      nv_inference_compute_output_duration_us: us(i.compute_output),
    };
    // No other request ran: the counts are exactly these requests'.
    assert.equal(i.success.count, 5);
    assert.equal(i.fail.count, 1);
    assert.equal(stats.inference_count, 1 + 2 + 3 + 1 + 2);
    for (const [name, value] of Object.entries(expected)) {
      assert.equal(series(samples, name).length, 1, `${name}: one series (one model version)`);
      assert.equal(sum(samples, name, labels), value, name);
    }
    assert.ok(expected.nv_inference_compute_infer_duration_us! > 0);
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    for (const name of Object.keys(expected)) assert.match(text, new RegExp(`^# TYPE ${name} counter$`, 'm'));
  });
});

describe('the job gauges of the roles that own the database (gateway, worker)', () => {
  const logger = createLogger('silent', { pretty: false });
  const store = tempDir('loupe-metrics-jobs-');
  const base = {
    HOST: '127.0.0.1',
    PORT: '0',
    LOUPE_GRPC_PORT: '0',
    LOUPE_LOG_LEVEL: 'silent',
    LOUPE_MODEL_STORE: store,
    LOUPE_DEFAULT_MODEL: 'colors',
    LOUPE_DATA_DIR: 'memory://',
  } as const;
  let model: ModelServerRole;
  let gateway: GatewayRole;
  let worker: WorkerRole | undefined;
  let storage: Storage;

  before(async () => {
    writeStoreModel(store, { name: 'colors', channels: C, height: H, width: W, classes: 4, resize: 'stretch' });
    model = new ModelServerRole({ config: loadConfig(base), logger, version: 't' });
    await model.start();
    storage = await openStorage(loadConfig(base), logger, { migrate: true, supervise: true });
    const env = loadConfig({ ...base, LOUPE_MODEL_SERVER_URL: model.address });
    gateway = new GatewayRole({ config: env, logger, version: 't', storage });
    await gateway.start();
    worker = new WorkerRole({ config: env, logger, version: 't', storage });
  });
  after(async () => {
    await worker?.stop();
    await gateway?.stop();
    await model?.stop();
    await storage?.close();
  });

  const submit = async () => {
    const f = new FormData();
    f.append('file', new Blob([fixture('dog-160x120.png')]), 'a.png');
    const res = await fetch(`${gateway.address}/jobs`, { method: 'POST', body: f });
    assert.equal(res.status, 202, await res.text());
  };

  it('jobs no worker has taken: queued on the gateway, with the age of the oldest; then finished by a worker', async () => {
    for (let i = 0; i < 3; i++) await submit();
    await sleep(1100);
    let m = await scrape(gateway.address);
    assert.equal(sum(m, 'loupe_jobs', { status: 'queued' }), 3);
    assert.equal(sum(m, 'loupe_jobs', { status: 'running' }), 0);
    const age = sum(m, 'loupe_jobs_oldest_queued_age_seconds');
    assert.ok(age >= 1 && age < 60, `oldest queued: ${age} s`);
    assert.equal(series(m, 'loupe_webhook_circuits_open').length, 0, 'the gateway delivers no webhooks');

    await worker!.start();
    const deadline = Date.now() + 30_000;
    do {
      await sleep(200);
      m = await scrape(worker!.address);
    } while (sum(m, 'loupe_jobs_finished_total', { status: 'completed' }) < 3 && Date.now() < deadline);
    assert.equal(sum(m, 'loupe_jobs_finished_total', { status: 'completed' }), 3);
    assert.equal(sum(m, 'loupe_jobs_finished_total', { status: 'failed' }), 0);
    // The gateway's reading is cached for a scrape or two (one query serves them), then true again.
    await sleep(2100);
    m = await scrape(gateway.address);
    assert.equal(sum(m, 'loupe_jobs', { status: 'queued' }), 0);
    assert.equal(sum(m, 'loupe_jobs_oldest_queued_age_seconds'), 0);
  });
});
