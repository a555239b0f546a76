import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { LoupeError } from '../../../src/errors.ts';
import { multipartParts } from '../../../src/http/multipart.ts';

const headers = { 'content-type': 'multipart/form-data; boundary=XyZ' };
const limits = { fileSize: 1024, files: 2, fields: 2, fieldSize: 1024, parts: 4 };

describe('multipartParts', () => {
  it('a body that failed before parsing began is reported at once, not waited for', async () => {
    const refused = new LoupeError('OVERLOADED', 'upload budget full', { retryAfterS: 1 });
    const failed = new PassThrough();
    failed.on('error', () => undefined);
    failed.destroy(refused);
    await assert.rejects(
      (async () => {
        for await (const _ of multipartParts(failed, headers, limits));
      })(),
      (err) => err === refused,
    );
    const gone = new PassThrough();
    gone.destroy();
    await assert.rejects(
      (async () => {
        for await (const _ of multipartParts(gone, headers, limits));
      })(),
      /ended before it was read/,
    );
  });
});
