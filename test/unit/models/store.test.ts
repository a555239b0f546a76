import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { scanStore } from '../../../src/models/index.ts';
import { validateModels } from '../../../src/inference/local/index.ts';
import { writeStoreModel } from '../../helpers/onnx-model.ts';

function store(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'loupe-store-'));
}

describe('model store', () => {
  it('finds numeric versions, sorted, with per-model config and labels', () => {
    const s = store();
    writeStoreModel(s, { name: 'a', version: '2', channels: 3, height: 8, width: 8, classes: 3 });
    writeStoreModel(s, { name: 'a', version: '10', channels: 3, height: 8, width: 8, classes: 3 });
    const scan = scanStore(s);
    assert.deepEqual(scan.problems, []);
    assert.deepEqual(
      scan.entries.map((e) => `${e.name}/${e.version}`),
      ['a/2', 'a/10'],
    );
    assert.deepEqual(scan.entries[0]!.labels, ['class-0', 'class-1', 'class-2']);
  });

  it('reports each broken entry and keeps the good ones', () => {
    const s = store();
    writeStoreModel(s, { name: 'good', channels: 1, height: 4, width: 4, classes: 2 });
    mkdirSync(path.join(s, 'no-versions'));
    writeStoreModel(s, { name: 'bad-json', channels: 1, height: 4, width: 4, classes: 2 });
    writeFileSync(path.join(s, 'bad-json', 'model.json'), '{ nope');
    writeStoreModel(s, { name: 'bad-schema', channels: 1, height: 4, width: 4, classes: 2 });
    writeFileSync(
      path.join(s, 'bad-schema', 'model.json'),
      JSON.stringify({ input: { name: 'x' }, output: { kind: 'logits' } }),
    );
    writeStoreModel(s, { name: 'no-labels', channels: 1, height: 4, width: 4, classes: 2 });
    writeFileSync(path.join(s, 'no-labels', 'labels.txt'), '');
    mkdirSync(path.join(s, 'no-onnx', '1'), { recursive: true });
    const scan = scanStore(s);
    assert.deepEqual(
      scan.entries.map((e) => e.name),
      ['good'],
    );
    const byName = Object.fromEntries(scan.problems.map((p) => [p.name, p.error]));
    assert.match(byName['no-versions']!, /no numeric version/);
    assert.match(byName['bad-json']!, /not valid JSON/);
    assert.match(byName['bad-schema']!, /model.json/);
    assert.match(byName['no-labels']!, /labels.txt/);
    assert.match(byName['no-onnx']!, /model.onnx is missing/);
  });

  it('`loupe models validate` checks the graph against model.json and labels.txt', async () => {
    const s = store();
    writeStoreModel(s, { name: 'ok', channels: 3, height: 8, width: 8, classes: 3 });
    const good = await validateModels(path.join(s, 'ok'));
    assert.equal(good.ok, true, good.lines.join('\n'));
    assert.match(
      good.lines.join('\n'),
      /✓ ok\/1: input input \[batch, 3, 8, 8\] rgb, output logits \[batch, 3\] logits, 3 labels/,
    );

    writeStoreModel(s, { name: 'wrong', channels: 3, height: 8, width: 8, classes: 3 });
    writeFileSync(path.join(s, 'wrong', 'labels.txt'), 'a\nb\nc\nd\n');
    const cfg = path.join(s, 'wrong', 'model.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        input: {
          name: 'pixels',
          color: 'rgb',
          width: 8,
          height: 8,
          resize: 'stretch',
          mean: [0, 0, 0],
          std: [1, 1, 1],
        },
        output: { kind: 'logits' },
      }),
    );
    const bad = await validateModels(s);
    assert.equal(bad.ok, false);
    const text = bad.lines.join('\n');
    assert.match(text, /input "pixels" is not in the graph/);
    assert.match(text, /3 classes but labels.txt has 4 lines/);
    assert.match(text, /FAILED/);

    writeFileSync(path.join(s, 'wrong', '1', 'model.onnx'), 'not onnx');
    assert.match((await validateModels(path.join(s, 'wrong', '1'))).lines.join('\n'), /ONNX Runtime cannot load/);
  });
});
