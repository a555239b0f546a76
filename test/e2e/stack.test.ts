import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/observability/index.ts';
import { GatewayRole } from '../../src/roles/gateway.ts';
import { ModelServerRole } from '../../src/roles/model-server.ts';
import { WorkerRole } from '../../src/roles/worker.ts';
import { openStorage, type Storage } from '../../src/roles/common.ts';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { form, json, tempDir } from '../helpers/server.ts';

const logger = createLogger('silent', { pretty: false });
const config = (env: Record<string, string>) =>
  loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    LOUPE_GRPC_PORT: '0',
    LOUPE_LOG_LEVEL: 'silent',
    LOUPE_MODEL_POLL_S: '1',
    ...env,
  });

function metric(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
}

// gateway + worker + two model servers as separate roles over real HTTP, on one database:
// a real PostgreSQL when LOUPE_TEST_DATABASE_URL is set (CI), and PGlite shared in-process.
const engines: Array<[string, string]> = [['PGlite', '']];
if (process.env.LOUPE_TEST_DATABASE_URL) engines.push(['PostgreSQL', process.env.LOUPE_TEST_DATABASE_URL]);

for (const [engine, url] of engines) {
  describe(`gateway + worker + model servers on ${engine}`, () => {
    const store = tempDir('loupe-stack-');
    const base = {
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'colors',
      LOUPE_DATABASE_URL: url,
      LOUPE_DATA_DIR: 'memory://',
    };
    let models: ModelServerRole[] = [];
    let gateway: GatewayRole;
    let worker: WorkerRole;
    let storage: Storage | undefined;

    before(async () => {
      writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
      // A card, a sample and a declared background: what the gateway must pass on from the model servers.
      const cfgPath = path.join(store, 'colors', 'model.json');
      const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
      cfg.card = { trained_on: 'four flat colours' };
      cfg.input.background = 'dark';
      writeFileSync(cfgPath, JSON.stringify(cfg));
      mkdirSync(path.join(store, 'colors', 'samples'));
      writeFileSync(path.join(store, 'colors', 'samples', 'red.png'), fixture('gray-40x30.png'));
      models = [
        new ModelServerRole({ config: config(base), logger, version: 't' }),
        new ModelServerRole({ config: config(base), logger, version: 't' }),
      ];
      await Promise.all(models.map((m) => m.start()));
      const modelUrls = models.map((m) => m.address).join(',');
      // The migrate role's work, then the stack's roles on that schema.
      storage = await openStorage(config(base), logger, { migrate: true, supervise: true });
      const shared = url ? undefined : storage;
      const env = { ...base, LOUPE_MODEL_SERVER_URL: modelUrls };
      gateway = new GatewayRole({ config: config(env), logger, version: 't', ...(shared ? { storage: shared } : {}) });
      worker = new WorkerRole({ config: config(env), logger, version: 't', ...(shared ? { storage: shared } : {}) });
      await gateway.start();
      await worker.start();
    });
    after(async () => {
      await worker?.stop();
      await gateway?.stop();
      await Promise.all(models.map((m) => m.stop()));
      await storage?.close();
    });

    it('is ready once the model servers answer, and lists their models', async () => {
      const r = await fetch(`${gateway.address}/readyz`);
      assert.equal(r.status, 200, await r.text());
      const list = await json(await fetch(`${gateway.address}/models`));
      assert.deepEqual(
        list.models.map((m: { name: string }) => m.name),
        ['colors'],
      );
      assert.equal((await fetch(`${worker.address}/readyz`)).status, 200);
      // The web page is the gateway's (built or not: then / says how to build it), never a model server's.
      assert.doesNotMatch(await (await fetch(`${gateway.address}/`)).text(), /no route/);
      const page = await fetch(`${models[0]!.address}/`);
      assert.equal(page.status, 404);
      assert.match((await json(page)).error.message, /^no route GET \/$/);
    });

    it('classifies through the model servers, spreading requests over both, and records history', async () => {
      const n = 40;
      const answers = await Promise.all(
        Array.from({ length: n }, () =>
          fetch(`${gateway.address}/predict?top_k=2`, { method: 'POST', body: form(fixture('dog-160x120.jpg')) }).then(
            json,
          ),
        ),
      );
      for (const a of answers) assert.equal(a.predictions.length, 2);
      assert.deepEqual(answers[0].image, { format: 'jpeg', width: 160, height: 120 });
      assert.ok(answers[0].timings_ms.decode > 0);
      const served = await Promise.all(
        models.map(async (m) => metric(await (await fetch(`${m.address}/metrics`)).text(), 'loupe_predictions_total')),
      );
      assert.equal(served[0]! + served[1]!, n);
      for (const s of served) assert.ok(s >= n * 0.2, `a replica served ${s} of ${n}`);
      const rec = await json(await fetch(`${gateway.address}/predictions/${answers[0].id}`));
      assert.deepEqual(rec.predictions, answers[0].predictions);
    });

    it("passes on the model card, its samples and an image's warnings through the gateway", async () => {
      const [m] = (await json(await fetch(`${gateway.address}/models`))).models;
      assert.equal(m.card.trained_on, 'four flat colours');
      assert.deepEqual(m.card.samples, [{ name: 'red.png', url: '/models/colors/samples/red.png?version=1' }]);
      const sample = await fetch(`${gateway.address}${m.card.samples[0].url}`);
      assert.equal(sample.status, 200);
      assert.equal(sample.headers.get('content-type'), 'image/png');
      assert.deepEqual(Buffer.from(await sample.arrayBuffer()), fixture('gray-40x30.png'));
      assert.equal((await fetch(`${gateway.address}/models/colors/samples/blue.png`)).status, 404);
      const photo = await fetch(`${gateway.address}/predict`, {
        method: 'POST',
        body: form(fixture('dog-160x120.jpg')),
      });
      assert.deepEqual(
        (await json(photo)).warnings.map((w: { code: string }) => w.code),
        ['LIGHT_BACKGROUND'],
      );
    });

    it('bad input through the gateway keeps its status and code', async () => {
      const res = await fetch(`${gateway.address}/predict`, {
        method: 'POST',
        body: form(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')),
      });
      assert.equal(res.status, 415);
      assert.equal((await json(res)).error.code, 'UNSUPPORTED_MEDIA_TYPE');
      const trunc = fixture('dog-160x120.jpg');
      const res2 = await fetch(`${gateway.address}/predict`, { method: 'POST', body: form(trunc.subarray(0, 1000)) });
      assert.equal(res2.status, 422);
      assert.equal(
        (await fetch(`${gateway.address}/predict?model=nope`, { method: 'POST', body: form(trunc) })).status,
        404,
      );
    });

    it('a job submitted to the gateway is completed by the worker', async () => {
      const f = new FormData();
      f.append('file', new Blob([fixture('dog-160x120.jpg')]), 'a.jpg');
      f.append('file', new Blob([fixture('dog-160x120.png')]), 'b.png');
      const accepted = await json(await fetch(`${gateway.address}/jobs`, { method: 'POST', body: f }));
      let job;
      for (let i = 0; i < 100; i++) {
        job = await json(await fetch(`${gateway.address}/jobs/${accepted.id}`));
        if (job.status === 'completed') break;
        await sleep(100);
      }
      assert.equal(job.status, 'completed');
      assert.deepEqual(job.progress, { total: 2, done: 2, failed: 0 });
    });

    it('OIP passthrough: the gateway answers /v2 from the model servers', async () => {
      const meta = await json(await fetch(`${gateway.address}/v2/models/colors`));
      assert.deepEqual(meta.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 16, 16] }]);
      const res = await json(
        await fetch(`${gateway.address}/v2/models/colors/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            inputs: [{ name: 'input', shape: [1, 3, 16, 16], datatype: 'FP32', data: new Array(768).fill(0.1) }],
          }),
        }),
      );
      assert.deepEqual(res.outputs[0].shape, [1, 4]);
    });

    it("Triton's statistics through the gateway: every model server's, added up", async () => {
      const statsOf = async (base: string, path = '/v2/models/colors/stats') => {
        const r = await fetch(`${base}${path}`);
        assert.equal(r.status, 200);
        return (await json(r)).model_stats;
      };
      const bothReplicas = async () => {
        const [a, b] = await Promise.all(models.map((m) => statsOf(m.address)));
        return { success: a[0].inference_stats.success.count + b[0].inference_stats.success.count, a, b };
      };
      const before = await bothReplicas();
      // As tritonclient's sync infer sends it: no Content-Type.
      const body = JSON.stringify({
        inputs: [{ name: 'input', shape: [2, 3, 16, 16], datatype: 'FP32', data: new Array(1536).fill(0.2) }],
      });
      for (let i = 0; i < 6; i++) {
        const r = await fetch(`${gateway.address}/v2/models/colors/infer`, { method: 'POST', body: Buffer.from(body) });
        assert.equal(r.status, 200);
      }
      const after = await bothReplicas();
      assert.equal(after.success - before.success, 6);
      // Both have served (the /predict load above spread over both), so the sum is of two.
      assert.ok(after.a[0].inference_count > 0 && after.b[0].inference_count > 0);
      const [sum] = await statsOf(gateway.address);
      assert.equal(sum.inference_stats.success.count, after.success);
      assert.equal(sum.inference_count, after.a[0].inference_count + after.b[0].inference_count);
      assert.equal(sum.execution_count, after.a[0].execution_count + after.b[0].execution_count);
      assert.equal(sum.last_inference, Math.max(after.a[0].last_inference, after.b[0].last_inference));
      assert.deepEqual(
        (await statsOf(gateway.address, '/v2/models/stats')).map((s: { name: string }) => s.name),
        ['colors'],
      );
      assert.equal((await fetch(`${gateway.address}/v2/models/nope/stats`)).status, 404);
      const config = await json(await fetch(`${gateway.address}/v2/models/colors/config`));
      assert.deepEqual(config.input[0].dims, [3, 16, 16]);
      const index = await json(await fetch(`${gateway.address}/v2/repository/index`, { method: 'POST' }));
      assert.deepEqual(index, [{ name: 'colors', version: '1', state: 'READY' }]);
    });

    it('losing a model server mid-load fails no request', async () => {
      let failures = 0;
      let ok = 0;
      const deadline = Date.now() + 3000;
      const client = async () => {
        while (Date.now() < deadline) {
          const r = await fetch(`${gateway.address}/predict`, {
            method: 'POST',
            body: form(fixture('dog-160x120.png')),
          });
          await r.arrayBuffer();
          if (r.status === 200) ok++;
          else failures++;
        }
      };
      const load = Promise.all(Array.from({ length: 8 }, client));
      await sleep(800);
      await models[0]!.stop();
      await load;
      assert.equal(failures, 0);
      assert.ok(ok > 20, `only ${ok} requests went through`);
    });
  });
}
