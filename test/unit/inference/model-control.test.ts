import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.ts';
import { ErrorCode, LoupeError } from '../../../src/errors.ts';
import { repositoryIndex } from '../../../src/inference/index.ts';
import { LocalBackend } from '../../../src/inference/local/index.ts';
import { createLogger, createMetrics, type Metrics } from '../../../src/observability/index.ts';
import { localBackendOptions } from '../../../src/roles/local.ts';
import { writeStoreModel } from '../../helpers/onnx-model.ts';
import { tempDir } from '../../helpers/server.ts';

const threads = () => readdirSync('/proc/self/task').length;

function store(): string {
  const dir = tempDir('loupe-control-');
  writeStoreModel(dir, { name: 'a', channels: 1, height: 4, width: 4, classes: 3 });
  writeStoreModel(dir, { name: 'b', channels: 1, height: 4, width: 4, classes: 3, batching: { max_batch_size: 4 } });
  writeStoreModel(dir, {
    name: 'b',
    version: '2',
    channels: 1,
    height: 4,
    width: 4,
    classes: 3,
    batching: { max_batch_size: 4 },
  });
  return dir;
}

const backends: LocalBackend[] = [];
after(() => Promise.all(backends.map((b) => b.close())));

function backend(dir: string, env: Record<string, string>): { b: LocalBackend; metrics: Metrics } {
  const config = loadConfig({ LOUPE_MODEL_STORE: dir, LOUPE_DEFAULT_MODEL: 'a', ...env });
  const metrics = createMetrics();
  const b = new LocalBackend({ options: localBackendOptions(config, 1), logger: createLogger('silent'), metrics });
  backends.push(b);
  return { b, metrics };
}

async function events(metrics: Metrics): Promise<Record<string, number>> {
  const m = await metrics.modelEvents.get();
  return Object.fromEntries(m.values.map((v) => [`${v.labels.model}/${v.labels.version}:${v.labels.event}`, v.value]));
}

const tensor = { name: 'input', shape: [1, 1, 4, 4], datatype: 'FP32', data: new Array(16).fill(0.5) };
const code = (c: string) => (e: unknown) => e instanceof LoupeError && e.code === c;

describe('model control on the local backend', { timeout: 60_000 }, () => {
  it('configuration: the three modes, default poll; LOUPE_STARTUP_MODELS is names or *', () => {
    assert.equal(loadConfig({}).LOUPE_MODEL_CONTROL, 'poll');
    assert.throws(() => loadConfig({ LOUPE_MODEL_CONTROL: 'manual' }), /LOUPE_MODEL_CONTROL/);
    assert.deepEqual(localBackendOptions(loadConfig({ LOUPE_STARTUP_MODELS: 'a, b' }), 1).control?.startupModels, [
      'a',
      'b',
    ]);
    assert.deepEqual(localBackendOptions(loadConfig({}), 1).control?.startupModels, []);
    for (const bad of ['a b', '../x', '*,a'])
      assert.throws(() => loadConfig({ LOUPE_STARTUP_MODELS: bad }), /LOUPE_STARTUP_MODELS/, bad);
  });

  it('poll and none refuse load/unload, naming LOUPE_MODEL_CONTROL', async () => {
    for (const mode of ['poll', 'none']) {
      const { b } = backend(store(), { LOUPE_MODEL_CONTROL: mode });
      await b.start();
      assert.equal(b.listModels().length, 3, `${mode}: every version loaded at start`);
      await assert.rejects(b.loadModel('b', {}), (e: LoupeError) => {
        assert.equal(e.code, ErrorCode.ModelControlDisabled);
        assert.match(e.message, new RegExp(`LOUPE_MODEL_CONTROL is ${mode}`));
        return true;
      });
      await assert.rejects(b.unloadModel('a'), code(ErrorCode.ModelControlDisabled));
      assert.equal(b.listModels().length, 3);
    }
  });

  it('explicit: loads the startup list only, then load/unload change what serves; index and metrics follow', async () => {
    const { b, metrics } = backend(store(), { LOUPE_MODEL_CONTROL: 'explicit' });
    await b.start();
    assert.deepEqual(
      b.listModels().map((m) => `${m.name}/${m.version}`),
      ['a/1'],
    );
    assert.ok(b.readiness().ready);
    assert.deepEqual(
      repositoryIndex(b, false).map((e) => [e.name, e.version, e.state, e.reason]),
      [
        ['a', '1', 'READY', undefined],
        ['b', '1', 'UNAVAILABLE', 'not loaded: not in LOUPE_STARTUP_MODELS'],
        ['b', '2', 'UNAVAILABLE', 'not loaded: not in LOUPE_STARTUP_MODELS'],
      ],
    );
    await assert.rejects(async () => b.infer('b', undefined, { inputs: [tensor] }), code(ErrorCode.ModelNotFound));

    const base = threads();
    assert.deepEqual(await b.loadModel('b', {}), {});
    assert.deepEqual(
      b.listModels().map((m) => `${m.name}/${m.version}`),
      ['a/1', 'b/1', 'b/2'],
    );
    assert.ok(threads() > base, 'two session threads started');
    assert.equal((await b.infer('b', '1', { inputs: [tensor] })).model_version, '1');
    assert.equal(repositoryIndex(b, true).length, 3);
    assert.equal((await metrics.modelsLoaded.get()).values[0]!.value, 3);

    await b.unloadModel('b');
    assert.ok(threads() <= base, `session threads ended (${threads()} ≤ ${base})`);
    await assert.rejects(
      async () => b.infer('b', undefined, { inputs: [tensor] }),
      (e: LoupeError) => {
        assert.equal(e.code, ErrorCode.ModelNotFound);
        assert.match(e.message, /"b" is unavailable \(unloaded\)/);
        return true;
      },
    );
    assert.deepEqual(
      repositoryIndex(b, false)
        .filter((e) => e.name === 'b')
        .map((e) => [e.version, e.state, e.reason]),
      [
        ['1', 'UNAVAILABLE', 'unloaded'],
        ['2', 'UNAVAILABLE', 'unloaded'],
      ],
    );
    assert.equal((await metrics.modelsLoaded.get()).values[0]!.value, 1);
    const ev = await events(metrics);
    assert.equal(ev['b/1:loaded'], 1);
    assert.equal(ev['b/2:unloaded'], 1);
    // Unloading again is a no-op; an unknown model is a 404; no polling in explicit mode.
    assert.deepEqual(await b.unloadModel('b'), {});
    await assert.rejects(b.unloadModel('nope'), code(ErrorCode.ModelNotFound));
    await assert.rejects(b.loadModel('nope', {}), (e: LoupeError) => {
      assert.equal(e.code, ErrorCode.ModelNotFound);
      assert.match(e.message, /failed to load "nope".*failed to poll from model repository/);
      return true;
    });
  });

  it('unloading the default model stops readiness waiting for it; LOUPE_STARTUP_MODELS=* loads all', async () => {
    const dir = store();
    const { b } = backend(dir, { LOUPE_MODEL_CONTROL: 'explicit', LOUPE_STARTUP_MODELS: '*' });
    await b.start();
    assert.equal(b.listModels().length, 3);
    await b.unloadModel('a');
    assert.ok(b.readiness().ready, 'a deliberate unload does not make the server unready');
    const only = backend(dir, { LOUPE_MODEL_CONTROL: 'explicit', LOUPE_STARTUP_MODELS: 'b' }).b;
    await only.start();
    assert.deepEqual([...new Set(only.listModels().map((m) => m.name))], ['b']);
    assert.ok(only.readiness().ready);
  });

  it('reload swaps in new sessions with the config override; concurrent loads make no double sessions', async () => {
    const { b, metrics } = backend(store(), { LOUPE_MODEL_CONTROL: 'explicit', LOUPE_STARTUP_MODELS: 'a,b' });
    await b.start();
    assert.equal(b.getModel('b', '1').batching.max_batch_size, 4);
    const base = threads();
    const loads = [1, 2, 3].map((n) =>
      b.loadModel('b', {
        config: JSON.stringify({
          max_batch_size: n,
          dynamic_batching: { default_queue_policy: { max_queue_size: 7 } },
        }),
      }),
    );
    await Promise.all(loads);
    // Serialized: the last call's override is what serves, and every replaced session has ended.
    assert.equal(b.getModel('b', '1').batching.max_batch_size, 3);
    assert.equal(b.getModel('b', '2').batching.max_queue_size, 7);
    assert.equal(b.listModels().length, 3);
    assert.ok(threads() <= base + 1, `no leaked sessions (${threads()} vs ${base})`);
    const ev = await events(metrics);
    assert.equal(ev['b/1:loaded'], 4);
    assert.equal(ev['b/1:unloaded'], 3);
    // A batch over the new max_batch_size is refused as it would be from model.json.
    await assert.rejects(
      b.infer('b', '1', { inputs: [{ ...tensor, shape: [4, 1, 4, 4], data: new Array(64).fill(0) }] }),
      /max_batch_size 3/,
    );
  });

  it('a failed reload keeps the old versions serving and reports the failure', async () => {
    const dir = store();
    const { b, metrics } = backend(dir, { LOUPE_MODEL_CONTROL: 'explicit', LOUPE_STARTUP_MODELS: 'a,b' });
    await b.start();
    mkdirSync(path.join(dir, 'b', '3'));
    writeFileSync(path.join(dir, 'b', '3', 'model.onnx'), 'not an ONNX graph');
    await assert.rejects(b.loadModel('b', {}), (e: LoupeError) => {
      assert.equal(e.code, ErrorCode.BadRequest);
      assert.match(e.message, /failed to load "b" version 3/);
      return true;
    });
    assert.equal(b.getModel('b').version, '2', 'the old versions still serve');
    const entry = repositoryIndex(b, false).find((e) => e.name === 'b' && e.version === '3');
    assert.equal(entry?.state, 'UNAVAILABLE');
    assert.ok(entry?.reason);
    assert.equal((await events(metrics))['b/3:load_failed'], 1);
    // A version the store itself finds broken does not fail the load, and stays in the index.
    rmSync(path.join(dir, 'b', '3', 'model.onnx'));
    assert.deepEqual(await b.loadModel('b', {}), {});
    assert.equal(b.getModel('b').version, '2');
    const broken = repositoryIndex(b, false).find((e) => e.name === 'b' && e.version === '3');
    assert.deepEqual([broken?.state, broken?.reason], ['UNAVAILABLE', 'model.onnx is missing']);
    // One rule for reload and unload (and start and poll): the store's broken versions stay listed.
    await b.unloadModel('b');
    const index = repositoryIndex(b, false).filter((e) => e.name === 'b');
    assert.deepEqual(
      index.map((e) => [e.version, e.state, e.reason]),
      [
        ['1', 'UNAVAILABLE', 'unloaded'],
        ['2', 'UNAVAILABLE', 'unloaded'],
        ['3', 'UNAVAILABLE', 'model.onnx is missing'],
      ],
    );
  });

  it('poll mode (the default) picks up a new version on refresh, as before', async () => {
    const dir = store();
    const { b, metrics } = backend(dir, {});
    await b.start();
    writeStoreModel(dir, { name: 'a', version: '2', channels: 1, height: 4, width: 4, classes: 3 });
    await b.refresh();
    assert.equal(b.getModel('a').version, '2');
    assert.equal((await events(metrics))['a/2:loaded'], 1);
  });

  it('explicit mode does not poll the store', async () => {
    const dir = store();
    const { b } = backend(dir, { LOUPE_MODEL_CONTROL: 'explicit', LOUPE_STARTUP_MODELS: 'a' });
    await b.start();
    writeStoreModel(dir, { name: 'a', version: '2', channels: 1, height: 4, width: 4, classes: 3 });
    await b.refresh();
    assert.equal(b.getModel('a').version, '1');
    await b.loadModel('a', {});
    assert.equal(b.getModel('a').version, '2', 'a load reads the store again');
  });
});
