import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sniffFormat } from '../../../src/images/index.ts';
import { fixture } from '../../helpers/fixtures.ts';

describe('sniffFormat reads magic numbers, not names', () => {
  it('recognises the supported formats', () => {
    assert.deepEqual(sniffFormat(fixture('dog-160x120.jpg')), { kind: 'supported', format: 'jpeg' });
    assert.deepEqual(sniffFormat(fixture('dog-160x120.png')), { kind: 'supported', format: 'png' });
    assert.deepEqual(sniffFormat(Buffer.from('RIFF\0\0\0\0WEBPVP8 ')), { kind: 'supported', format: 'webp' });
    assert.deepEqual(sniffFormat(Buffer.from('GIF89a......')), { kind: 'supported', format: 'gif' });
    assert.deepEqual(sniffFormat(Buffer.from([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0])), {
      kind: 'supported',
      format: 'tiff',
    });
    assert.deepEqual(sniffFormat(Buffer.from('\0\0\0\x1cftypavif\0\0\0\0')), { kind: 'supported', format: 'avif' });
  });
  it('names refused formats so the client gets 415', () => {
    for (const [bytes, format] of [
      ['  \n<svg xmlns="http://www.w3.org/2000/svg"></svg>', 'svg'],
      ['\ufeff<?xml version="1.0"?><svg/>', 'svg'],
      ['%PDF-1.7', 'pdf'],
      ['%!PS-Adobe', 'postscript'],
      ['BM6\0\0\0', 'bmp'],
      ['\0\0\0\x18ftypheic\0\0', 'heif (heic)'],
    ] as const) {
      assert.deepEqual(sniffFormat(Buffer.from(bytes)), { kind: 'unsupported', format });
    }
  });
  it('anything else is unknown', () => {
    assert.deepEqual(sniffFormat(Buffer.from('just text')), { kind: 'unknown' });
    assert.deepEqual(sniffFormat(Buffer.from('<html><body>hi</body></html>')), { kind: 'unknown' });
    assert.deepEqual(sniffFormat(Buffer.alloc(0)), { kind: 'unknown' });
  });
});
