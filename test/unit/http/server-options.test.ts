import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.ts';
import { serverOptions } from '../../../src/http/server-options.ts';
import { httpOptions } from '../../../src/roles/options.ts';

const connections = (env: Record<string, string>) => httpOptions(loadConfig(env)).connections;

describe('server timeouts', () => {
  it('come from the configuration, checked at short timeouts often enough to fire on time', () => {
    const o = serverOptions(connections({ LOUPE_HEADERS_TIMEOUT_MS: '400', LOUPE_REQUEST_TIMEOUT_MS: '2000' }));
    assert.equal(o.http.headersTimeout, 400);
    assert.equal(o.requestTimeout, 2000);
    assert.equal(o.http.connectionsCheckingInterval, 100);
    assert.equal(serverOptions(connections({})).http.connectionsCheckingInterval, 1000);
  });

  it('a headers timeout longer than the request timeout is a configuration error', () => {
    assert.throws(
      () => loadConfig({ LOUPE_HEADERS_TIMEOUT_MS: '5000', LOUPE_REQUEST_TIMEOUT_MS: '1000' }),
      /LOUPE_HEADERS_TIMEOUT_MS must not exceed LOUPE_REQUEST_TIMEOUT_MS/,
    );
    assert.doesNotThrow(() => loadConfig({ LOUPE_HEADERS_TIMEOUT_MS: '5000', LOUPE_REQUEST_TIMEOUT_MS: '0' }));
  });
});
