import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { UsageError, int } from '../../../src/cli/flags.ts';
import { ErrorCode, LoupeError } from '../../../src/errors.ts';
import { selectVersion } from '../../../src/inference/index.ts';
import { scanStore } from '../../../src/models/index.ts';
import { parseModelUris, pullModel, PullError } from '../../../src/models/pull/index.ts';
import { nextVersion, versionsOf } from '../../../src/models/pull/staging.ts';
import { MAX_VERSION, parseVersion } from '../../../src/models/version.ts';
import { writeStoreModel } from '../../helpers/onnx-model.ts';

const HUGE = '99999999999999999999'; // rounds to 100000000000000000000 as a JavaScript number
const store = () => mkdtempSync(path.join(os.tmpdir(), 'loupe-version-'));

describe('model versions stay within 1..2^53-1', () => {
  it('parseVersion: decimal digits within range, leading zeros allowed', () => {
    assert.equal(parseVersion('1'), 1);
    assert.equal(parseVersion('007'), 7);
    assert.equal(parseVersion(String(MAX_VERSION)), MAX_VERSION);
    for (const bad of ['0', '', '-1', '1.5', '0x3', ' 1', '1e3', String(MAX_VERSION + 1), HUGE])
      assert.equal(parseVersion(bad), undefined, bad);
  });

  it('the CLI refuses --version past the range with one usage line', () => {
    assert.throws(
      () => int('version', HUGE),
      (e: Error) => e instanceof UsageError && /from 1 to 9007199254740991/.test(e.message),
    );
    assert.equal(int('version', '12'), 12);
  });

  it('a pull refuses such a version before fetching anything', async () => {
    const s = store();
    await assert.rejects(
      pullModel(path.join(s, 'nowhere.onnx'), {
        store: s,
        name: 'm',
        version: Number(HUGE),
        maxBytes: 1 << 20,
        hfEndpoint: '',
        hfToken: '',
      }),
      (e: Error) =>
        e instanceof PullError && /version 100000000000000000000: versions are whole numbers/.test(e.message),
    );
    assert.throws(() => parseModelUris(`m@${HUGE}=https://h/m.onnx`), /whole numbers from 1 to/);
    assert.throws(() => parseModelUris('x@0=https://h/m.onnx'), /whole numbers from 1 to/);
  });

  it('the store scan neither serves nor counts an out-of-range version directory', () => {
    const s = store();
    writeStoreModel(s, { name: 'a', version: '2', channels: 1, height: 4, width: 4, classes: 2 });
    writeStoreModel(s, { name: 'a', version: HUGE, channels: 1, height: 4, width: 4, classes: 2 });
    const scan = scanStore(s);
    assert.deepEqual(
      scan.entries.map((e) => `${e.name}/${e.version}`),
      ['a/2'],
    );
    assert.equal(scan.problems.length, 1);
    assert.equal(scan.problems[0]!.version, HUGE);
    assert.match(scan.problems[0]!.error, /not served: versions are whole numbers/);
    // A pull's "next free version" ignores it: 3, not 100000000000000000001.
    assert.deepEqual(versionsOf(s, 'a'), [2]);
    assert.equal(nextVersion(Math.max(...versionsOf(s, 'a'))), 3);
    assert.throws(() => nextVersion(MAX_VERSION), /no version is free after 9007199254740991/);
    mkdirSync(path.join(s, 'a', '0'));
    assert.deepEqual(versionsOf(s, 'a'), [2]);
  });

  it('HTTP and gRPC version strings: out of range is a 400, not a rounding match', () => {
    const versions = ['1', '100000000000000000000'];
    assert.equal(selectVersion('m', versions, '01'), '1');
    for (const bad of [HUGE, '100000000000000000000', '0'])
      assert.throws(
        () => selectVersion('m', versions, bad),
        (e: Error) =>
          e instanceof LoupeError && e.code === ErrorCode.BadRequest && /is not valid: versions are/.test(e.message),
      );
    assert.throws(
      () => selectVersion('m', versions, '7'),
      (e: Error) => e instanceof LoupeError && e.code === ErrorCode.ModelNotFound,
    );
  });
});
