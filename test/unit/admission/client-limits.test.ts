import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientLimits, clientKey } from '../../../src/admission/index.ts';
import { type LoupeError } from '../../../src/errors.ts';

const limits = (perMinute: number, inFlight: number) =>
  new ClientLimits({ perMinute, maxInFlight: inFlight, retryAfterS: 3 });

describe('client limits shared by the HTTP and gRPC APIs', () => {
  it('counts a fixed one-minute window per client; past the rate, RATE_LIMITED with the seconds left', () => {
    const l = limits(3, 0);
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) l.count('key:a', t0 + i);
    assert.throws(
      () => l.count('key:a', t0 + 15_000),
      (e: LoupeError) => e.code === 'RATE_LIMITED' && e.retryAfterS === 45 && /3 requests per minute/.test(e.message),
    );
    assert.doesNotThrow(() => l.count('key:b', t0 + 15_000), 'another client has its own window');
    assert.doesNotThrow(() => l.count('key:a', t0 + 60_000), 'a new window');
    // @fastify/rate-limit's view of the same counters
    const seen: number[] = [];
    l.rateStore.incr('key:c', (_err, res) => seen.push(res.current));
    l.count('key:c');
    l.rateStore.incr('key:c', (_err, res) => seen.push(res.current));
    assert.deepEqual(seen, [1, 3]);
    assert.equal(l.rateStore.child(), l.rateStore);
  });

  it('0 turns the rate off', () => {
    const l = limits(0, 0);
    for (let i = 0; i < 1000; i++) l.count('ip:x');
  });

  it('in flight: at most the cap per client; each place comes back once, however often it is released', () => {
    const l = limits(0, 2);
    const a = l.enter('key:a');
    const b = l.enter('key:a');
    assert.throws(
      () => l.enter('key:a'),
      (e: LoupeError) => e.code === 'RATE_LIMITED' && e.retryAfterS === 3,
    );
    const other = l.enter('key:b');
    a();
    a();
    const c = l.enter('key:a');
    assert.throws(() => l.enter('key:a'));
    b();
    c();
    other();
    l.enter('key:a');
    l.enter('key:a');
  });

  it('remembers a bounded number of clients', () => {
    const l = limits(5, 0);
    for (let i = 0; i < 25_000; i++) l.count(`ip:${i}`, 1000);
    assert.ok((l as unknown as { windows: Map<string, unknown> }).windows.size <= 10_000);
  });

  it('a client is its key, else its address', () => {
    assert.equal(clientKey('ab12cd34', '10.0.0.1'), 'key:ab12cd34');
    assert.equal(clientKey(undefined, '10.0.0.1'), 'ip:10.0.0.1');
  });
});
