import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sharedRead } from '../../../src/observability/scrape-read.ts';

describe('sharedRead: one read per scrape', () => {
  it('callers within the read and its ttl share it; a later call reads again; a failure gives undefined', async () => {
    let reads = 0;
    let fail = false;
    const read = sharedRead(async () => {
      reads++;
      await sleep(5);
      if (fail) throw new Error('database down');
      return reads;
    }, 30);
    assert.deepEqual(await Promise.all([read(), read(), read()]), [1, 1, 1]);
    assert.equal(await read(), 1, 'within the ttl');
    await sleep(60);
    assert.equal(await read(), 2);
    await sleep(60);
    fail = true;
    assert.equal(await read(), undefined);
  });
});
