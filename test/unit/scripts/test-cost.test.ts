import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
// @ts-expect-error -- a plain ES module without types, loaded by node --test as a reporter
import testCost from '../../../scripts/test-cost.mjs';

// The reporter CONTRIBUTING.md's "what npm test costs" is measured with.

async function* events(list: Array<{ type: string; data: object }>) {
  for (const e of list) yield e;
}

describe('scripts/test-cost.mjs', () => {
  it('sums top-level durations per file, largest first, and names failures', async () => {
    const file = (name: string) => path.join(process.cwd(), name);
    const out: string[] = [];
    for await (const line of testCost(
      events([
        { type: 'test:pass', data: { file: file('a.test.ts'), nesting: 0, name: 'x', details: { duration_ms: 1000 } } },
        { type: 'test:pass', data: { file: file('a.test.ts'), nesting: 1, name: 'y', details: { duration_ms: 900 } } },
        { type: 'test:pass', data: { file: file('b.test.ts'), nesting: 0, name: 'z', details: { duration_ms: 2500 } } },
        {
          type: 'test:fail',
          data: {
            file: file('a.test.ts'),
            nesting: 0,
            name: 'w',
            details: { duration_ms: 500, error: { message: 'no' } },
          },
        },
        { type: 'test:diagnostic', data: { message: 'tests 3' } },
      ]),
    ))
      out.push(String(line));
    assert.deepEqual(out.slice(0, 3), [
      'FAIL a.test.ts: w: no\n',
      '    2.5 s  b.test.ts\n',
      '    1.5 s  a.test.ts  (1 failed)\n',
    ]);
    assert.match(out[3]!, /^ {4}4\.0 s {2}2 files; wall \d+\.\d s; 1 failed\n$/);
  });
});
