import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailedAuthLimiter } from '../../../src/admission/index.ts';

describe('the failed-auth limiter', () => {
  it('counts failures per address in a one-minute window', () => {
    const f = new FailedAuthLimiter({ perMinute: 3 });
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) {
      assert.equal(f.blockedFor('a', t0), 0);
      f.failed('a', t0);
    }
    assert.equal(f.blockedFor('a', t0 + 15_000), 45);
    assert.equal(f.blockedFor('b', t0), 0);
    assert.equal(f.blockedFor('a', t0 + 60_000), 0, 'the window ends');
  });

  it('gates lookups of a blocked address: so many per address and in all; a recent valid key skips the gate', () => {
    const f = new FailedAuthLimiter({ perMinute: 1, lookupsPerAddress: 1, lookups: 2 });
    const one = f.lookupSlot('a', 'k1');
    assert.ok(one);
    assert.equal(f.lookupSlot('a', 'k2'), undefined, 'one at a time for this address');
    const other = f.lookupSlot('b', 'k3');
    assert.ok(other);
    assert.equal(f.lookupSlot('c', 'k4'), undefined, 'two at a time in all');
    f.verified('valid');
    assert.ok(f.lookupSlot('a', 'valid'), 'a key that verified recently is looked up whatever the gate');
    one();
    one();
    assert.ok(f.lookupSlot('a', 'k2'), 'released once, however often');
    other();
    const later = Date.now() + 11 * 60_000;
    assert.equal(f.lookupSlot('a', 'valid', later), undefined, 'remembered for ten minutes, then it waits its turn');
  });

  it('remembers a bounded number of addresses and keys', () => {
    const f = new FailedAuthLimiter();
    for (let i = 0; i < 25_000; i++) {
      f.failed(`10.0.${i >> 8}.${i & 255}`, 1000);
      f.verified(`key-${i}`);
    }
    const inner = f as unknown as { windows: Map<string, unknown>; recent: Map<string, unknown> };
    assert.ok(inner.windows.size <= 10_000);
    assert.ok(inner.recent.size <= 10_000);
  });
});
