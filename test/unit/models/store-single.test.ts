import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.ts';
import { scanStore } from '../../../src/models/index.ts';
import { writeStoreModel } from '../../helpers/onnx-model.ts';

// KServe's storage initializer copies ONE model's files into /mnt/models; LOUPE_MODEL_NAME
// serves that directory as a single model under the InferenceService's name.
function modelDir(): string {
  const s = mkdtempSync(path.join(os.tmpdir(), 'loupe-single-'));
  writeStoreModel(s, { name: 'src', version: '1', channels: 1, height: 4, width: 4, classes: 2 });
  writeStoreModel(s, { name: 'src', version: '3', channels: 1, height: 4, width: 4, classes: 2 });
  const dir = path.join(s, 'mnt-models');
  renameSync(path.join(s, 'src'), dir);
  return dir;
}

describe('single-model store (LOUPE_MODEL_NAME)', () => {
  it('serves <dir>/<version>/model.onnx under the given name', () => {
    const scan = scanStore(modelDir(), 'flowers');
    assert.deepEqual(scan.problems, []);
    assert.deepEqual(
      scan.entries.map((e) => `${e.name}/${e.version}`),
      ['flowers/1', 'flowers/3'],
    );
    assert.deepEqual(scan.entries[0]!.labels, ['class-0', 'class-1']);
  });

  it('serves a bare model.onnx next to model.json as version 1', () => {
    const dir = modelDir();
    cpSync(path.join(dir, '3', 'model.onnx'), path.join(dir, 'model.onnx'));
    rmSync(path.join(dir, '1'), { recursive: true });
    rmSync(path.join(dir, '3'), { recursive: true });
    const scan = scanStore(dir, 'flowers');
    assert.deepEqual(scan.problems, []);
    assert.deepEqual(
      scan.entries.map((e) => [e.name, e.version, e.onnxPath]),
      [['flowers', '1', path.join(dir, 'model.onnx')]],
    );
  });

  it('reports a missing model.json or no model file as a problem of that model', () => {
    const dir = modelDir();
    rmSync(path.join(dir, 'model.json'));
    const scan = scanStore(dir, 'flowers');
    assert.deepEqual(scan.entries, []);
    assert.match(scan.problems[0]!.error, /model.json is missing/);
    const empty = mkdtempSync(path.join(os.tmpdir(), 'loupe-single-empty-'));
    assert.match(scanStore(empty, 'flowers').problems[0]!.error, /no numeric version/);
  });

  it('without a name, the same directory is a store of <name>/ folders (and these are not models)', () => {
    const scan = scanStore(modelDir());
    assert.deepEqual(scan.entries, []);
  });

  it('config refuses a name that is not a model name', () => {
    assert.throws(() => loadConfig({ LOUPE_MODEL_NAME: '../etc' }), /LOUPE_MODEL_NAME/);
    assert.equal(loadConfig({ LOUPE_MODEL_NAME: 'my-isvc' }).LOUPE_MODEL_NAME, 'my-isvc');
  });
});
