import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { generateKey } from '../../src/auth/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/observability/index.ts';
import { openStorage, type Storage } from '../../src/roles/common.ts';
import { GatewayRole } from '../../src/roles/gateway.ts';
import { ModelServerRole } from '../../src/roles/model-server.ts';
import { loupe } from '../helpers/cli-client.ts';
import { grpcClient, type TestGrpcClient } from '../helpers/grpc.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { json, tempDir } from '../helpers/server.ts';

const logger = createLogger('silent', { pretty: false });
const config = (env: Record<string, string>) =>
  loadConfig({ HOST: '127.0.0.1', PORT: '0', LOUPE_GRPC_PORT: '0', LOUPE_LOG_LEVEL: 'silent', ...env });
const admin = generateKey();
const auth = { authorization: `Bearer ${admin.key}` };
const tensor = { name: 'input', shape: [1, 1, 4, 4], datatype: 'FP32', data: new Array(16).fill(0.5) };

// The gateway fans load/unload out to every model server and reports each one; the model
// servers take no keys (they sit on the private network), the gateway checks the admin key.
describe('model control through the gateway, two model servers', { timeout: 120_000 }, () => {
  const store = tempDir('loupe-control-stack-');
  const base = { LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'base', LOUPE_DATA_DIR: 'memory://' };
  const servers: ModelServerRole[] = [];
  let gateway: GatewayRole;
  let storage: Storage;
  let rpc: TestGrpcClient;

  before(async () => {
    writeStoreModel(store, { name: 'base', channels: 1, height: 4, width: 4, classes: 3 });
    writeStoreModel(store, { name: 'extra', channels: 1, height: 4, width: 4, classes: 3 });
    const explicit = { ...base, LOUPE_MODEL_CONTROL: 'explicit', LOUPE_STARTUP_MODELS: '*' };
    for (let i = 0; i < 2; i++) {
      const s = new ModelServerRole({ config: config(explicit), logger, version: 't' });
      await s.start();
      servers.push(s);
    }
    const keys = path.join(tempDir('loupe-control-stack-keys-'), 'api_keys');
    writeFileSync(keys, `ops admin ${admin.key}\n`);
    storage = await openStorage(config(base), logger, { migrate: true, supervise: false });
    const env = {
      ...base,
      LOUPE_AUTH: 'required',
      LOUPE_API_KEYS_FILE: keys,
      LOUPE_MODEL_SERVER_URL: servers.map((s) => s.address).join(','),
    };
    gateway = new GatewayRole({ config: config(env), logger, version: 't', storage });
    await gateway.start();
    rpc = grpcClient(gateway.grpcAddress);
  });
  after(async () => {
    rpc?.close();
    await gateway?.stop();
    for (const s of servers) await s.stop();
    await storage?.close();
  });

  const replicas = () => servers.map((s) => new URL(s.address).host).sort();
  const post = (url: string, body: unknown, headers: Record<string, string> = auth) =>
    fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const readyOn = async (url: string) => (await fetch(`${url}/v2/models/extra/ready`, { headers: auth })).status;
  const inferVia = async (url: string) => (await post(`${url}/v2/models/extra/infer`, { inputs: [tensor] })).status;

  it('unload via the gateway: both replicas report ok and both stop serving it', async () => {
    assert.equal((await post(`${gateway.address}/v2/repository/models/extra/unload`, {}, {})).status, 401);
    const res = await post(`${gateway.address}/v2/repository/models/extra/unload`, {});
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(
      body.replicas.map((r: { replica: string; status: string }) => [r.replica, r.status]).sort(),
      replicas().map((r) => [r, 'ok']),
    );
    for (const s of servers) assert.equal(await readyOn(s.address), 404, `${s.address} unloaded it`);
    assert.equal(await inferVia(gateway.address), 404);
    assert.equal(await readyOn(gateway.address), 404, 'the gateway re-read the model list');
    const index = await json(await post(`${gateway.address}/v2/repository/index`, {}));
    assert.deepEqual(index, [
      { name: 'base', version: '1', state: 'READY' },
      { name: 'extra', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
    ]);
  });

  it('load via the gateway (gRPC, with a config override) brings it back on both', async () => {
    const g = await rpc.call(
      'RepositoryModelLoad',
      { model_name: 'extra', parameters: { config: { string_param: '{"max_batch_size": 3}' } } },
      auth,
    );
    assert.equal(g.error, undefined, g.error?.details);
    for (const s of servers) {
      assert.equal(await inferVia(s.address), 200);
      const cfg = await json(await fetch(`${s.address}/v2/models/extra/config`));
      assert.equal(cfg.max_batch_size, 3, `${s.address} took the override`);
    }
    assert.equal(await inferVia(gateway.address), 200);
  });

  it('CLI through the gateway: each model server listed', async () => {
    const env = { LOUPE_URL: gateway.address, LOUPE_API_KEY: admin.key };
    const r = await loupe(['models', 'unload', 'extra'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, ['unloaded extra', ...replicas().map((h) => `  ${h}: ok`)].join('\n') + '\n');
    assert.equal((await loupe(['models', 'load', 'extra'], env)).status, 0);
    for (const s of servers) assert.equal(await readyOn(s.address), 200);
  });

  it('a replica that fails: the first error status, with every replica in the report', async () => {
    const down = servers[1]!;
    const downHost = new URL(down.address).host;
    await down.stop();
    const res = await post(`${gateway.address}/v2/repository/models/extra/load`, {});
    const body = await json(res);
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.equal(res.headers.get('x-loupe-error-code'), 'NOT_READY');
    assert.match(body.error, /model server unreachable/);
    const byHost = Object.fromEntries(body.replicas.map((r: { replica: string }) => [r.replica, r]));
    assert.equal(byHost[new URL(servers[0]!.address).host].status, 'ok');
    assert.equal(byHost[downHost].error.code, 'NOT_READY');
    const g = await rpc.call('RepositoryModelUnload', { model_name: 'extra' }, auth);
    assert.equal(g.error?.code, grpc.status.UNAVAILABLE);
    assert.match(
      g.error?.details ?? '',
      new RegExp(`model server unreachable.*failed on 1 of 2 model servers: ${downHost}`),
    );
  });
});
