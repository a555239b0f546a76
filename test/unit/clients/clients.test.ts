import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientLimits, clientAddress, clientKey, requestIdFrom } from '../../../src/clients/index.ts';
import { type LoupeError } from '../../../src/errors.ts';

const limits = (perMinute: number, inFlight: number) =>
  new ClientLimits({
    LOUPE_RATE_LIMIT_PER_MINUTE: perMinute,
    LOUPE_MAX_INFLIGHT_PER_CLIENT: inFlight,
    LOUPE_RETRY_AFTER_S: 3,
  });

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

describe('client addresses and request ids', () => {
  it('X-Forwarded-For counts only as far as LOUPE_TRUST_PROXY trusts', () => {
    assert.equal(clientAddress('')('10.0.0.9', '1.2.3.4'), '10.0.0.9');
    assert.equal(clientAddress('1')('10.0.0.9', '1.2.3.4'), '1.2.3.4');
    assert.equal(clientAddress('1')('10.0.0.9', '6.6.6.6, 1.2.3.4'), '1.2.3.4', 'one hop: the proxy’s own entry');
    assert.equal(clientAddress('true')('10.0.0.9', '6.6.6.6, 1.2.3.4'), '6.6.6.6');
    assert.equal(clientAddress('10.0.0.0/8')('10.0.0.9', '1.2.3.4'), '1.2.3.4');
    assert.equal(clientAddress('10.0.0.0/8')('192.168.1.1', '1.2.3.4'), '192.168.1.1', 'an untrusted peer');
    assert.equal(clientAddress('1')('10.0.0.9', undefined), '10.0.0.9');
  });

  it("keeps a client's sane request id, replaces anything else", () => {
    assert.equal(requestIdFrom('abc-123:x.y_z'), 'abc-123:x.y_z');
    assert.equal(requestIdFrom(['first', 'second']), 'first');
    for (const bad of [undefined, '', 'has space', 'x'.repeat(129), 'semi;colon', 42])
      assert.match(requestIdFrom(bad), /^[0-9a-f-]{36}$/);
  });
});
