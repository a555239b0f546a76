import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../../src/http/index.ts';
import { stubApp } from '../../helpers/app.ts';

// The per-client request rate over a stub backend: clients told apart by X-Forwarded-For behind
// one trusted proxy, as the e2e limits suite does over a socket. The in-flight cap (uploads held
// open on real connections) and max_batch_size (the local backend's rule) stay in test/e2e/limits.test.ts.

describe('per-client request rate', () => {
  let app: App;
  before(async () => {
    ({ app } = await stubApp(
      // Nothing is sent to the forwarded addresses: they only name the clients.
      { LOUPE_RATE_LIMIT_PER_MINUTE: '8', LOUPE_MAX_INFLIGHT_PER_CLIENT: '2', LOUPE_TRUST_PROXY: '1' },
      {},
      { clientLimits: true },
    ));
  });
  after(() => app.close());

  it('a client over its request rate gets 429 with Retry-After and rate-limit headers; others and probes go on', async () => {
    const get = (client: string, url = '/models') =>
      app.inject({ method: 'GET', url, headers: { 'x-forwarded-for': client } });
    const first = await get('10.9.0.1');
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.headers['x-ratelimit-limit'], '8');
    for (let i = 1; i < 8; i++) assert.equal((await get('10.9.0.1')).statusCode, 200);
    const refused = await get('10.9.0.1');
    assert.equal(refused.statusCode, 429);
    const retry = Number(refused.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 60, String(retry));
    const body = refused.json();
    assert.equal(body.error.code, 'RATE_LIMITED');
    assert.equal(body.error.request_id, refused.headers['x-request-id']);
    assert.equal((await get('10.9.0.2')).statusCode, 200, 'another client is not affected');
    assert.equal((await get('10.9.0.1', '/livez')).statusCode, 200, 'probes are not limited');
  });
});
