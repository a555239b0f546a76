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
