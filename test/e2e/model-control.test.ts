import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { generateKey } from '../../src/auth/index.ts';
import { loupe } from '../helpers/cli-client.ts';
import { grpcClient, type TestGrpcClient } from '../helpers/grpc.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

const keys = { admin: generateKey(), predict: generateKey() };
const bearer = (who?: keyof typeof keys): Record<string, string> =>
  who ? { authorization: `Bearer ${keys[who].key}` } : {};
const tensor = (n = 1) => ({ name: 'input', shape: [n, 1, 4, 4], datatype: 'FP32', data: new Array(n * 16).fill(0.5) });
const threads = () => readdirSync('/proc/self/task').length;

function store(): string {
  const dir = tempDir('loupe-model-control-');
  writeStoreModel(dir, { name: 'base', channels: 1, height: 4, width: 4, classes: 3 });
  // Requests wait up to 1 s for a batch to fill: a burst is still queued when the unload comes.
  const batching = { max_batch_size: 64, max_queue_delay_ms: 1000, max_queue_size: 256 };
  writeStoreModel(dir, { name: 'tiny', channels: 1, height: 4, width: 4, classes: 3, batching });
  return dir;
}

// Model control (Triton's repository extension) on a real `loupe serve` with real ONNX models,
// over HTTP and over gRPC with a client built from Triton's vendored proto.
describe('model control (explicit mode, API keys required)', { timeout: 120_000 }, () => {
  let srv: TestServer;
  let rpc: TestGrpcClient;

  before(async () => {
    const file = path.join(tempDir('loupe-control-keys-'), 'api_keys');
    writeFileSync(file, `ops admin ${keys.admin.key}\nclient predict,read ${keys.predict.key}\n`);
    srv = await startServe({
      LOUPE_AUTH: 'required',
      LOUPE_API_KEYS_FILE: file,
      LOUPE_MODEL_STORE: store(),
      LOUPE_DEFAULT_MODEL: 'base',
      LOUPE_MODEL_CONTROL: 'explicit',
      LOUPE_STARTUP_MODELS: 'base',
    });
    rpc = grpcClient(srv.role.grpcAddress);
  });
  after(async () => {
    rpc?.close();
    await srv?.stop();
  });

  const post = (p: string, who: keyof typeof keys | undefined, body?: unknown) =>
    fetch(`${srv.url}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(who) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const index = async () =>
    (await json(await post('/v2/repository/index', 'predict'))) as Array<{
      name: string;
      version: string;
      state: string;
      reason?: string;
    }>;
  const infer = (model: string, n = 1) => post(`/v2/models/${model}/infer`, 'predict', { inputs: [tensor(n)] });

  it('needs the admin scope on both transports: no key 401, a predict key 403', async () => {
    for (const op of ['load', 'unload']) {
      const url = `/v2/repository/models/tiny/${op}`;
      const none = await post(url, undefined, {});
      assert.equal(none.status, 401, `${op} without a key`);
      const predict = await post(url, 'predict', {});
      assert.equal(predict.status, 403, `${op} with a predict key`);
      assert.match((await json(predict)).error, /admin/);
      const method = op === 'load' ? 'RepositoryModelLoad' : 'RepositoryModelUnload';
      const g1 = await rpc.call(method, { model_name: 'tiny' });
      assert.equal(g1.error?.code, grpc.status.UNAUTHENTICATED, `${method} without a key`);
      const g2 = await rpc.call(method, { model_name: 'tiny' }, bearer('predict'));
      assert.equal(g2.error?.code, grpc.status.PERMISSION_DENIED, `${method} with a predict key`);
    }
    assert.equal((await infer('tiny')).status, 404, 'nothing was loaded');
  });

  it('HTTP: load (Triton body {}) serves the model; the index shows it READY', async () => {
    assert.deepEqual(
      (await index()).map((e) => [e.name, e.state, e.reason]),
      [
        ['base', 'READY', undefined],
        ['tiny', 'UNAVAILABLE', 'not loaded: not in LOUPE_STARTUP_MODELS'],
      ],
    );
    const res = await post('/v2/repository/models/tiny/load', 'admin', {});
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), {});
    assert.equal((await infer('tiny')).status, 200);
    assert.deepEqual(
      (await index()).map((e) => [e.name, e.state]),
      [
        ['base', 'READY'],
        ['tiny', 'READY'],
      ],
    );
  });

  it('a config override changes max_batch_size (GET /v2/models/{m}/config), over HTTP and gRPC', async () => {
    const config = JSON.stringify({ max_batch_size: 2, dynamic_batching: { max_queue_delay_microseconds: 300000 } });
    const res = await post('/v2/repository/models/tiny/load', 'admin', { parameters: { config } });
    assert.equal(res.status, 200, await res.clone().text());
    const cfg = await json(await fetch(`${srv.url}/v2/models/tiny/config`, { headers: bearer('predict') }));
    assert.equal(cfg.max_batch_size, 2);
    assert.equal((await infer('tiny', 3)).status, 400, 'a batch of 3 is over the new max_batch_size');
    const g = await rpc.call(
      'RepositoryModelLoad',
      { model_name: 'tiny', parameters: { config: { string_param: JSON.stringify({ max_batch_size: 64 }) } } },
      bearer('admin'),
    );
    assert.equal(g.error, undefined);
    assert.deepEqual(g.response, {});
    const back = await rpc.call('ModelConfig', { name: 'tiny' }, bearer('predict'));
    assert.equal(back.response.config.max_batch_size, 64);
  });

  it('refuses what it cannot honour with 400 / INVALID_ARGUMENT naming it', async () => {
    const cases: Array<[object, RegExp]> = [
      [{ parameters: { config: '{"instance_group":[{"count":2}]}' } }, /"instance_group" cannot be honoured/],
      [{ parameters: { 'file:1/model.onnx': 'AAAA' } }, /no model files over the API/],
    ];
    for (const [body, re] of cases) {
      const res = await post('/v2/repository/models/tiny/load', 'admin', body);
      assert.equal(res.status, 400);
      assert.match((await json(res)).error, re);
    }
    const g = await rpc.call(
      'RepositoryModelLoad',
      { model_name: 'tiny', parameters: { 'file:1/model.onnx': { bytes_param: Buffer.from('x') } } },
      bearer('admin'),
    );
    assert.equal(g.error?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(g.error?.details ?? '', /no model files over the API/);
    const bad = await post('/v2/repository/models/tiny/load', 'admin', { parameters: 'x' });
    assert.equal(bad.status, 400);
    // A model the store does not have, as Triton says it.
    const missing = await post('/v2/repository/models/nope/load', 'admin', {});
    assert.equal(missing.status, 404);
    assert.match((await json(missing)).error, /failed to load "nope".*failed to poll from model repository/);
    assert.equal(missing.headers.get('x-loupe-error-code'), 'MODEL_NOT_FOUND');
    const g2 = await rpc.call('RepositoryModelLoad', { model_name: 'nope' }, bearer('admin'));
    assert.equal(g2.error?.code, grpc.status.NOT_FOUND);
    assert.equal(g2.error?.metadata.get('x-loupe-error-code')[0], 'MODEL_NOT_FOUND');
  });

  it('unload mid-burst: admitted requests complete 200, later ones 404, the session threads end', async () => {
    const before = threads();
    const burst = Array.from({ length: 12 }, () => infer('tiny'));
    await sleep(400); // all queued, waiting for the batch delay
    const unload = post('/v2/repository/models/tiny/unload', 'admin', { parameters: { unload_dependents: false } });
    await sleep(30);
    const late = await infer('tiny');
    assert.equal(late.status, 404);
    assert.match((await json(late)).error, /"tiny" is unavailable/);
    const statuses = await Promise.all(burst.map(async (r) => (await r).status));
    assert.deepEqual(statuses, new Array(12).fill(200));
    const res = await unload;
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), {});
    assert.ok(threads() < before, `the session thread ended (${threads()} < ${before})`);
    assert.deepEqual(
      (await index()).filter((e) => e.name === 'tiny').map((e) => [e.state, e.reason]),
      [['UNAVAILABLE', 'unloaded']],
    );
    assert.deepEqual(
      (await json(await post('/v2/repository/index', 'predict', { ready: true }))).map((e: { name: string }) => e.name),
      ['base'],
    );
    const ready = await rpc.call('ModelReady', { name: 'tiny' }, bearer('predict'));
    assert.equal(ready.response.ready, false);
    const gi = await rpc.call('RepositoryIndex', {}, bearer('predict'));
    assert.deepEqual(
      gi.response.models.find((m: { name: string }) => m.name === 'tiny'),
      { name: 'tiny', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
    );
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(metrics, /loupe_model_events_total\{model="tiny",version="1",event="unloaded"\} [1-9]/);
    assert.match(metrics, /loupe_models_loaded 1\b/);
  });

  it('CLI: loupe models load|unload, with the key from LOUPE_API_KEY or --key', async () => {
    const env = { LOUPE_URL: srv.url, LOUPE_API_KEY: keys.admin.key };
    const load = await loupe(['models', 'load', 'tiny', '--config', '{"max_batch_size": 6}'], env);
    assert.equal(load.status, 0, load.stderr);
    assert.equal(load.stdout, 'loaded tiny\n');
    const cfg = await json(await fetch(`${srv.url}/v2/models/tiny/config`, { headers: bearer('predict') }));
    assert.equal(cfg.max_batch_size, 6);
    const denied = await loupe(['models', 'unload', 'tiny', '--key', keys.predict.key], { LOUPE_URL: srv.url });
    assert.equal(denied.status, 1);
    assert.match(denied.stderr, /^loupe models unload: 403 FORBIDDEN: .*admin/);
    const unload = await loupe(['models', 'unload', 'tiny', '--json'], env);
    assert.equal(unload.status, 0, unload.stderr);
    assert.deepEqual(JSON.parse(unload.stdout), {});
    const missing = await loupe(['models', 'load', 'nope'], env);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /404 MODEL_NOT_FOUND: failed to load "nope"/);
    const usage = await loupe(['models', 'unload', 'tiny', '--config', '{}'], env);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--config is for load/);
  });

  it('gRPC: unload and load again', async () => {
    // As tritonclient.grpc's unload_model sends it: unload_dependents always set, as a bool_param.
    const u = await rpc.call(
      'RepositoryModelUnload',
      { model_name: 'base', parameters: { unload_dependents: { bool_param: false } } },
      bearer('admin'),
    );
    assert.equal(u.error, undefined);
    assert.equal((await infer('base')).status, 404);
    const l = await rpc.call('RepositoryModelLoad', { model_name: 'base' }, bearer('admin'));
    assert.equal(l.error, undefined);
    assert.equal((await infer('base')).status, 200);
  });
});

describe('model control refused outside explicit mode', { timeout: 60_000 }, () => {
  let srv: TestServer;
  let rpc: TestGrpcClient;
  before(async () => {
    srv = await startServe({ LOUPE_MODEL_STORE: store(), LOUPE_DEFAULT_MODEL: 'base', LOUPE_MODEL_CONTROL: 'none' });
    rpc = grpcClient(srv.role.grpcAddress);
  });
  after(async () => {
    rpc?.close();
    await srv?.stop();
  });

  it('400 MODEL_CONTROL_DISABLED / FAILED_PRECONDITION naming LOUPE_MODEL_CONTROL', async () => {
    const res = await fetch(`${srv.url}/v2/repository/models/tiny/unload`, { method: 'POST' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-loupe-error-code'), 'MODEL_CONTROL_DISABLED');
    assert.match((await json(res)).error, /LOUPE_MODEL_CONTROL is none/);
    const g = await rpc.call('RepositoryModelLoad', { model_name: 'tiny' });
    assert.equal(g.error?.code, grpc.status.FAILED_PRECONDITION);
    assert.match(g.error?.details ?? '', /set LOUPE_MODEL_CONTROL=explicit/);
    assert.equal((await fetch(`${srv.url}/v2/models/tiny/ready`)).status, 200, 'still served');
  });
});
