import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { scanStore } from '../../../src/models/index.ts';
import { pullModel, PullError } from '../../../src/models/pull/index.ts';
import { writeStoreModel } from '../../helpers/onnx-model.ts';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'loupe-links-'));
const MODEL = { name: 'src', channels: 1, height: 4, width: 4, classes: 2 } as const;
const ctx = { maxBytes: 1 << 20, hfEndpoint: '', hfToken: '' };

/** A file outside every model directory, standing for /etc/passwd. */
function secret(): string {
  const f = path.join(tmp(), 'secret.txt');
  writeFileSync(f, 'root:x:0:0\ndaemon:x:1:1\n');
  return f;
}

describe('symbolic links never carry a file from outside into the store', () => {
  it('a local pull source with labels.txt -> elsewhere is refused, and nothing is published', async () => {
    const src = tmp();
    writeStoreModel(src, MODEL);
    rmSync(path.join(src, 'src', 'labels.txt'));
    symlinkSync(secret(), path.join(src, 'src', 'labels.txt'));
    const store = tmp();
    await assert.rejects(
      pullModel(path.join(src, 'src', '1'), { ...ctx, store, name: 'stolen' }),
      (e: Error) =>
        e instanceof PullError &&
        /labels\.txt is a symbolic link: a local source must hold regular files/.test(e.message),
    );
    assert.equal(existsSync(path.join(store, 'stolen')), false);
  });

  it('so is a linked model.onnx; the path given to pull may itself be a link', async () => {
    const src = tmp();
    writeStoreModel(src, MODEL);
    const other = tmp();
    writeStoreModel(other, MODEL);
    rmSync(path.join(src, 'src', '1', 'model.onnx'));
    symlinkSync(path.join(other, 'src', '1', 'model.onnx'), path.join(src, 'src', '1', 'model.onnx'));
    await assert.rejects(
      pullModel(path.join(src, 'src', '1'), { ...ctx, store: tmp(), name: 'x' }),
      /model\.onnx is a symbolic link/,
    );
    // A link to the source directory: resolved once, its regular files are pulled.
    const link = path.join(tmp(), 'linked');
    symlinkSync(path.join(other, 'src', '1'), link);
    const store = tmp();
    const r = await pullModel(link, { ...ctx, store, name: 'ok' });
    assert.equal(r.version, 1);
    assert.equal(readFileSync(path.join(store, 'ok', '1', 'labels.txt'), 'utf8'), 'class-0\nclass-1\n');
  });

  it('the store scan refuses a link that leaves the model directory, keeps one that stays inside', () => {
    const store = tmp();
    writeStoreModel(store, { ...MODEL, name: 'out' });
    rmSync(path.join(store, 'out', 'labels.txt'));
    symlinkSync(secret(), path.join(store, 'out', 'labels.txt'));
    writeStoreModel(store, { ...MODEL, name: 'in' });
    // As a Kubernetes ConfigMap mounts its files: links into a directory beside them.
    writeFileSync(path.join(store, 'in', '1', 'labels-real.txt'), 'cat\ndog\n');
    symlinkSync(path.join(store, 'in', '1', 'labels-real.txt'), path.join(store, 'in', '1', 'labels.txt'));
    const scan = scanStore(store);
    assert.deepEqual(
      scan.entries.map((e) => [e.name, e.labels]),
      [['in', ['cat', 'dog']]],
    );
    assert.equal(scan.problems.length, 1);
    assert.equal(scan.problems[0]!.name, 'out');
    assert.match(scan.problems[0]!.error, /symbolic link to a file outside its model directory/);
  });
});
