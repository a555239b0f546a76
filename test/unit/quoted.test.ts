import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quoted } from '../../src/errors.ts';

describe('quoted: a client-supplied name as an error message shows it', () => {
  it('plain names read as before: in double quotes', () => {
    assert.equal(quoted('resnet-50'), '"resnet-50"');
  });

  it('control, invisible and line-breaking characters are escaped', () => {
    assert.equal(quoted('a\u001b[31m\u0000\n"\\'), '"a\\u001b[31m\\u0000\\n\\"\\\\"');
    assert.equal(quoted('x\u2028y\u202ez\u200b\u0085'), '"x\\u2028y\\u202ez\\u200b\\u0085"');
    assert.doesNotMatch(quoted('\ud800 lone surrogate'), /[\ud800-\udfff]/);
  });

  it('long names are cut, saying how long they were', () => {
    const q = quoted('é'.repeat(1000));
    assert.equal(q, `"${'é'.repeat(64)}"… (1000 characters)`);
    assert.equal(quoted('abcdef', 3), '"abc"… (6 characters)');
  });
});
