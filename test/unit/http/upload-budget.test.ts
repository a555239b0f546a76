import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.ts';
import { serverOptions } from '../../../src/http/server-options.ts';
import { UploadBudget } from '../../../src/http/upload-budget.ts';

describe('upload budget', () => {
  it('reserves while there is room, and gives back', () => {
    const b = new UploadBudget(100);
    assert.ok(b.tryReserve(60));
    assert.ok(!b.tryReserve(50));
    assert.ok(b.tryReserve(40));
    assert.equal(b.inUse, 100);
    b.release(60);
    assert.ok(b.tryReserve(50));
    assert.equal(b.inUse, 90);
  });

  it('lets through the one request holding anything, even past the limit; 0 is no limit', () => {
    const b = new UploadBudget(100);
    assert.ok(b.tryReserve(150), 'alone, an upload larger than the budget still goes through');
    b.release(150);
    assert.ok(b.tryReserve(80));
    assert.ok(b.tryReserve(70, 80), 'growing its own reservation while no one else holds any');
    const other = new UploadBudget(100);
    other.tryReserve(50);
    assert.ok(!other.tryReserve(60, 10), 'others hold part of it');
    const none = new UploadBudget(0);
    assert.ok(none.tryReserve(1e12) && none.tryReserve(1e12));
  });
});

describe('waiting for room in the upload budget', () => {
  const tick = () => new Promise((r) => setImmediate(r));

  it('waiters are served first come, first served, as many as fit at each release', async () => {
    const b = new UploadBudget(100);
    assert.ok(b.tryReserve(100));
    const order: string[] = [];
    const wait = (name: string, bytes: number) =>
      b.reserveWithin(bytes, 10_000).then((ok) => {
        order.push(name);
        return ok;
      });
    const big = wait('big', 80);
    const s1 = wait('s1', 10);
    const s2 = wait('s2', 10);
    assert.equal(b.waiters, 3);
    b.release(30);
    await tick();
    assert.equal(await b.reserveWithin(1, 0), false, 'a newcomer queues behind them, even when it fits');
    assert.deepEqual(order, [], 'the head of the line does not fit yet: no one overtakes it');
    b.release(70);
    assert.deepEqual(await Promise.all([big, s1, s2]), [true, true, true]);
    assert.deepEqual(order, ['big', 's1', 's2']);
    assert.equal(b.inUse, 100);
    assert.equal(b.waiters, 0);
  });

  it('a waiter gives up at its timeout or when its signal aborts, leaves the line, and holds nothing', async () => {
    const b = new UploadBudget(100);
    assert.ok(b.tryReserve(100));
    const started = Date.now();
    assert.equal(await b.reserveWithin(50, 30), false);
    assert.ok(Date.now() - started >= 25);
    assert.equal(b.waiters, 0);
    const ac = new AbortController();
    const aborted = b.reserveWithin(90, 10_000, ac.signal);
    const behind = b.reserveWithin(10, 10_000);
    b.release(20);
    await tick();
    assert.equal(b.waiters, 2, 'the head (90) does not fit; the one behind it waits its turn');
    ac.abort();
    assert.equal(await aborted, false);
    assert.equal(await behind, true, 'once the head left, the one behind it fits');
    assert.equal(b.inUse, 90);
    assert.equal(b.waiters, 0);
    assert.equal(await b.reserveWithin(1, 10_000, AbortSignal.abort()), false);
    assert.equal(b.inUse, 90);
  });
});

describe('server timeouts', () => {
  it('come from the configuration, checked at short timeouts often enough to fire on time', () => {
    const o = serverOptions(loadConfig({ LOUPE_HEADERS_TIMEOUT_MS: '400', LOUPE_REQUEST_TIMEOUT_MS: '2000' }));
    assert.equal(o.http.headersTimeout, 400);
    assert.equal(o.requestTimeout, 2000);
    assert.equal(o.http.connectionsCheckingInterval, 100);
    assert.equal(serverOptions(loadConfig({})).http.connectionsCheckingInterval, 1000);
  });

  it('a headers timeout longer than the request timeout is a configuration error', () => {
    assert.throws(
      () => loadConfig({ LOUPE_HEADERS_TIMEOUT_MS: '5000', LOUPE_REQUEST_TIMEOUT_MS: '1000' }),
      /LOUPE_HEADERS_TIMEOUT_MS must not exceed LOUPE_REQUEST_TIMEOUT_MS/,
    );
    assert.doesNotThrow(() => loadConfig({ LOUPE_HEADERS_TIMEOUT_MS: '5000', LOUPE_REQUEST_TIMEOUT_MS: '0' }));
  });
});
