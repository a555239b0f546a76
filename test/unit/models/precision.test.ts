import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Value } from 'typebox/value';
import { ModelConfigSchema } from '../../../src/models/index.ts';
import { buildEntry } from '../../../src/models/pull/entry.ts';

// model.json's precision and calibration (written by training/*.py --int8).
const INT8 = path.resolve(import.meta.dirname, '../../fixtures/int8/fashion-mnist-int8');
const config = JSON.parse(readFileSync(path.join(INT8, 'model.json'), 'utf8')) as Record<string, unknown>;

describe('model.json precision', () => {
  it('accepts what the int8 exporter writes, and fp32 / fp16 / none', () => {
    assert.equal(config.precision, 'int8');
    assert.deepEqual(config.calibration, {
      source: '512 training images of /usr/share/datasets/fashion-mnist',
      images: 512,
      synthetic: false,
    });
    assert.ok(Value.Check(ModelConfigSchema, config));
    for (const precision of ['fp32', 'fp16', undefined])
      assert.ok(Value.Check(ModelConfigSchema, { ...config, precision }));
  });

  it('refuses a precision the servers do not know, and a calibration without its fields', () => {
    assert.equal(Value.Check(ModelConfigSchema, { ...config, precision: 'int4' }), false);
    assert.equal(Value.Check(ModelConfigSchema, { ...config, calibration: { source: 'x' } }), false);
  });

  it('`loupe models pull` of an int8 store entry keeps its precision and calibration as they are', () => {
    const graph = {
      inputs: [{ name: 'input', shape: ['batch', 1, 28, 28], type: 'float32' }],
      outputs: [{ name: 'logits', shape: ['batch', 10], type: 'float32' }],
    };
    const labels = readFileSync(path.join(INT8, 'labels.txt'), 'utf8').trim().split('\n');
    const e = buildEntry(graph, { loupe: config, loupeLabels: labels }, {}, 'pulled');
    assert.equal(e.config.precision, 'int8');
    assert.deepEqual(e.config.calibration, config.calibration);
    assert.deepEqual(e.config.input, config.input);
  });
});
