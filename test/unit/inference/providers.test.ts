import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseProviders } from '../../../src/config/index.ts';
import { StartupError } from '../../../src/errors.ts';
import { LocalBackend } from '../../../src/inference/local/index.ts';
import { createLogger, createMetrics } from '../../../src/observability/index.ts';
import { localBackendOptions } from '../../../src/roles/local.ts';
import { tinyModel, writeStoreModel } from '../../helpers/onnx-model.ts';
import { tempDir } from '../../helpers/server.ts';

function backend(env: Record<string, string>, store: string) {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const config = loadConfig({ LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'm', LOUPE_LOG_LEVEL: 'info', ...env });
  const b = new LocalBackend({
    options: localBackendOptions(config, 1),
    logger: createLogger('info', { destination: dest }),
    metrics: createMetrics(),
  });
  return { b, logs: () => lines.map((l) => JSON.parse(l) as { msg: string; provider?: string }) };
}

describe('execution providers', () => {
  it('parses the ordered list and refuses unknown names', () => {
    assert.deepEqual(parseProviders('cuda, webgpu,cpu'), ['cuda', 'webgpu', 'cpu']);
    assert.deepEqual(parseProviders('cpu,cpu'), ['cpu']);
    assert.deepEqual(loadConfig({}).executionProviders, ['cpu']);
    assert.deepEqual(loadConfig({ LOUPE_EXECUTION_PROVIDERS: 'cuda, cpu ,cuda' }).executionProviders, ['cuda', 'cpu']);
    assert.throws(() => loadConfig({ LOUPE_EXECUTION_PROVIDERS: 'tpu' }), /LOUPE_EXECUTION_PROVIDERS/);
    // With LOUPE_REQUIRE_GPU the CPU provider is never tried; a CPU-only list is a config error.
    const gpu = loadConfig({ LOUPE_EXECUTION_PROVIDERS: 'cuda,cpu', LOUPE_REQUIRE_GPU: 'true' });
    assert.deepEqual(gpu.executionProviders, ['cuda']);
    assert.throws(
      () => loadConfig({ LOUPE_EXECUTION_PROVIDERS: 'cpu', LOUPE_REQUIRE_GPU: 'true' }),
      (e: Error) => e instanceof ConfigError && /names no GPU provider/.test(e.message),
    );
  });

  it('falls back to the next provider when one cannot initialise, and says which is active', async () => {
    const store = tempDir();
    writeStoreModel(store, { name: 'm', channels: 1, height: 4, width: 4, classes: 3 });
    const { b, logs } = backend({ LOUPE_EXECUTION_PROVIDERS: 'cuda,cpu' }, store);
    await b.start();
    assert.equal(b.getModel('m').provider, 'cpu');
    assert.ok(b.readiness().ready);
    const msgs = logs().map((l) => l.msg);
    assert.ok(
      msgs.some((m) => /execution provider cuda failed to initialise/.test(m)),
      msgs.join('\n'),
    );
    assert.ok(
      msgs.some((m) => /requested providers cuda,cpu, active cpu/.test(m)),
      msgs.join('\n'),
    );
    await b.close();
  });

  it('LOUPE_REQUIRE_GPU: a model no GPU provider can load stops the start, naming model and providers', async () => {
    const store = tempDir();
    writeStoreModel(store, { name: 'm', channels: 1, height: 4, width: 4, classes: 3 });
    const { b } = backend({ LOUPE_EXECUTION_PROVIDERS: 'cuda,webgpu,cpu', LOUPE_REQUIRE_GPU: 'true' }, store);
    await assert.rejects(b.start(), (err: Error) => {
      assert.ok(err instanceof StartupError, String(err));
      assert.match(
        err.message,
        /^LOUPE_REQUIRE_GPU is set and no GPU provider could load m\/1 \(tried: cuda, webgpu\)/,
      );
      assert.ok(!err.message.includes('\n'));
      return true;
    });
    await b.close();
  });

  it('a model can pick another ONNX file per provider (e.g. an fp16 variant for GPUs)', async () => {
    const store = tempDir();
    writeStoreModel(store, { name: 'm', channels: 1, height: 4, width: 4, classes: 3, seed: 1 });
    writeFileSync(
      path.join(store, 'm', '1', 'model.alt.onnx'),
      tinyModel({ channels: 1, height: 4, width: 4, classes: 3, seed: 2 }).bytes,
    );
    const cfgPath = path.join(store, 'm', 'model.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    const input = { name: 'input', shape: [1, 1, 4, 4], datatype: 'FP32', data: new Array(16).fill(0.5) };
    const { b: plain } = backend({}, store);
    await plain.start();
    const a = (await plain.infer('m', undefined, { inputs: [input] })).outputs[0]!.data;
    await plain.close();
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, variants: { cpu: 'model.alt.onnx' } }));
    const { b: variant } = backend({}, store);
    await variant.start();
    const out = (await variant.infer('m', undefined, { inputs: [input] })).outputs[0]!.data;
    assert.notDeepEqual(out, a);
    await variant.close();
  });
});
