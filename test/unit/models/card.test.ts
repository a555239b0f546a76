import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readSample, scanStore, type ModelEntry } from '../../../src/models/index.ts';
import { writeStoreModel } from '../../helpers/onnx-model.ts';

function storeWith(name: string): string {
  const s = mkdtempSync(path.join(os.tmpdir(), 'loupe-card-'));
  writeStoreModel(s, { name, channels: 1, height: 4, width: 4, classes: 2 });
  return s;
}
const only = (s: string): ModelEntry => {
  const scan = scanStore(s);
  assert.deepEqual(scan.problems, []);
  return scan.entries[0]!;
};

describe('model card', () => {
  it('reads model.json `card`, metrics.json accuracy and the sample images', async () => {
    const s = storeWith('m');
    const cfgPath = path.join(s, 'm', 'model.json');
    const cfg = JSON.parse((await import('node:fs')).readFileSync(cfgPath, 'utf8'));
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, card: { trained_on: 'tiny squares', intended_use: 'tests' } }));
    writeFileSync(
      path.join(s, 'm', '1', 'metrics.json'),
      JSON.stringify({ test_accuracy: 0.912345, test_images: 500, dataset: 'squares' }),
    );
    mkdirSync(path.join(s, 'm', 'samples'));
    for (const f of ['b.png', 'a.jpg', 'notes.txt', '.hidden.png', 'c d.png'])
      writeFileSync(path.join(s, 'm', 'samples', f), f);
    const e = only(s);
    assert.deepEqual(e.card, {
      trained_on: 'tiny squares',
      intended_use: 'tests',
      accuracy: { top1: 0.9123, test_images: 500, dataset: 'squares' },
      samples: ['a.jpg', 'b.png'],
    });
    assert.deepEqual(await readSample(e, 'b.png'), { bytes: Buffer.from('b.png'), contentType: 'image/png' });
    assert.equal((await readSample(e, 'a.jpg')).contentType, 'image/jpeg');
    for (const f of ['notes.txt', '.hidden.png', '../model.json', 'missing.png'])
      await assert.rejects(readSample(e, f), { code: 'NOT_FOUND' }, f);
  });

  it('states nothing it does not know: no metrics.json, a nonsense one, no samples', () => {
    const s = storeWith('m');
    assert.deepEqual(only(s).card, {
      trained_on: undefined,
      intended_use: undefined,
      accuracy: undefined,
      samples: [],
    });
    writeFileSync(path.join(s, 'm', '1', 'metrics.json'), JSON.stringify({ test_accuracy: 93.1 }));
    assert.equal(only(s).card.accuracy, undefined, 'a percentage is not a 0..1 accuracy');
    writeFileSync(path.join(s, 'm', '1', 'metrics.json'), '{ nope');
    assert.equal(only(s).card.accuracy, undefined);
  });

  it('lists no sample linked out of the model directory (nor a dangling link); a link inside it is fine', () => {
    const s = storeWith('m');
    const outside = path.join(mkdtempSync(path.join(os.tmpdir(), 'loupe-secret-')), 'secret.png');
    writeFileSync(outside, 'secret');
    mkdirSync(path.join(s, 'm', 'samples'));
    writeFileSync(path.join(s, 'm', 'real.png'), 'x');
    symlinkSync(outside, path.join(s, 'm', 'samples', 'leak.png'));
    symlinkSync(path.join(s, 'm', 'real.png'), path.join(s, 'm', 'samples', 'inside.png'));
    symlinkSync(path.join(s, 'm', 'gone.png'), path.join(s, 'm', 'samples', 'dangling.png'));
    assert.deepEqual(only(s).card.samples, ['inside.png']);
  });

  it("a version's own samples/ win over the model's", () => {
    const s = storeWith('m');
    mkdirSync(path.join(s, 'm', 'samples'));
    writeFileSync(path.join(s, 'm', 'samples', 'model-level.png'), 'x');
    mkdirSync(path.join(s, 'm', '1', 'samples'));
    writeFileSync(path.join(s, 'm', '1', 'samples', 'version-level.png'), 'x');
    const e = only(s);
    assert.deepEqual(e.card.samples, ['version-level.png']);
    assert.equal(e.samplesDir, path.join(s, 'm', '1', 'samples'));
  });
});
