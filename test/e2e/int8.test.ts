import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/observability/index.ts';
import { GatewayRole } from '../../src/roles/gateway.ts';
import { ModelServerRole } from '../../src/roles/model-server.ts';
import { openStorage, type Storage } from '../../src/roles/common.ts';
import { form, json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

// The int8 twin of the default model (training/train.py --from-onnx … --int8: static QDQ,
// per-channel int8 weights, calibrated on 512 Fashion-MNIST training images) served by the
// local backend next to the fp32 model it was made from, on real Fashion-MNIST test images.
const ROOT = path.resolve(import.meta.dirname, '../..');
const FIXTURES = path.join(ROOT, 'test/fixtures/int8');
const IMAGES = path.join(FIXTURES, 'fmnist-test'); // NN-<true class>.png: the first test-set images

describe('int8 models', () => {
  let srv: TestServer;
  const store = tempDir('loupe-int8-');

  before(async () => {
    symlinkSync(path.join(ROOT, 'model-store/fashion-mnist'), path.join(store, 'fashion-mnist'));
    cpSync(path.join(FIXTURES, 'fashion-mnist-int8'), path.join(store, 'fashion-mnist-int8'), { recursive: true });
    srv = await startServe({ LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'fashion-mnist' });
  });
  after(() => srv?.stop());

  it('GET /models shows each model’s precision: int8 from model.json, fp32 where it says none', async () => {
    const { models } = await json(await fetch(`${srv.url}/models`));
    const by = Object.fromEntries(models.map((m: { name: string; precision: string }) => [m.name, m.precision]));
    assert.deepEqual(by, { 'fashion-mnist': 'fp32', 'fashion-mnist-int8': 'int8' });
    const one = await json(await fetch(`${srv.url}/models/fashion-mnist-int8`));
    assert.equal(one.precision, 'int8');
    assert.equal(one.provider, 'cpu');
  });

  it('the int8 graph is a quarter of the fp32 file', () => {
    const size = (p: string) => readFileSync(p).length;
    const int8 = size(path.join(FIXTURES, 'fashion-mnist-int8/1/model.onnx'));
    const fp32 = size(path.join(ROOT, 'model-store/fashion-mnist/1/model.onnx'));
    assert.ok(int8 < 0.3 * fp32, `${int8} bytes vs ${fp32}`);
  });

  it('answers as the fp32 model does on real test images, with scores close to its', async () => {
    const files = readdirSync(IMAGES).sort();
    let same = 0;
    let right8 = 0;
    let right32 = 0;
    for (const f of files) {
      const truth = Number(/-(\d+)\.png$/.exec(f)![1]);
      const ask = async (model: string) => {
        const res = await fetch(`${srv.url}/predict?model=${model}&top_k=10`, {
          method: 'POST',
          body: form(readFileSync(path.join(IMAGES, f)), f),
        });
        assert.equal(res.status, 200);
        return (await json(res)).predictions as Array<{ index: number; score: number }>;
      };
      const [p32, p8] = [await ask('fashion-mnist'), await ask('fashion-mnist-int8')];
      if (p32[0]!.index === p8[0]!.index) same++;
      if (p32[0]!.index === truth) right32++;
      if (p8[0]!.index === truth) right8++;
      // Quantization noise, not another model: every class's probability stays within 0.1.
      const score = (ps: typeof p8, i: number) => ps.find((p) => p.index === i)!.score;
      for (let i = 0; i < 10; i++) assert.ok(Math.abs(score(p8, i) - score(p32, i)) < 0.1, `${f} class ${i}`);
    }
    assert.equal(same, files.length, 'the same top-1 on every image');
    assert.equal(right8, right32);
    assert.ok(right8 >= files.length - 3, `${right8}/${files.length} right`);
  });
});

describe('int8 models behind a gateway', () => {
  const store = tempDir('loupe-int8-stack-');
  const logger = createLogger('silent', { pretty: false });
  const config = (env: Record<string, string>) =>
    loadConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      LOUPE_GRPC_PORT: '0',
      LOUPE_LOG_LEVEL: 'silent',
      LOUPE_DATA_DIR: 'memory://',
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'fashion-mnist-int8',
      ...env,
    });
  let modelServer: ModelServerRole;
  let gateway: GatewayRole;
  let storage: Storage | undefined;

  before(async () => {
    cpSync(path.join(FIXTURES, 'fashion-mnist-int8'), path.join(store, 'fashion-mnist-int8'), { recursive: true });
    modelServer = new ModelServerRole({ config: config({}), logger, version: 't' });
    await modelServer.start();
    // The migrate role's work first, as in the stack (PGlite in memory, shared in-process).
    storage = await openStorage(config({}), logger, { migrate: true, supervise: true });
    gateway = new GatewayRole({
      config: config({ LOUPE_MODEL_SERVER_URL: modelServer.address }),
      logger,
      version: 't',
      storage,
    });
    await gateway.start();
  });
  after(async () => {
    await gateway?.stop();
    await modelServer?.stop();
    await storage?.close();
  });

  it('the gateway shows the precision its model server reports', async () => {
    assert.equal((await fetch(`${gateway.address}/readyz`)).status, 200);
    const { models } = await json(await fetch(`${gateway.address}/models`));
    assert.deepEqual(
      models.map((m: { name: string; precision: string }) => [m.name, m.precision]),
      [['fashion-mnist-int8', 'int8']],
    );
  });
});
