import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.ts';
import { LoupeError } from '../../../src/errors.ts';
import { RemoteBackend } from '../../../src/inference/remote/index.ts';
import { createLogger, createMetrics } from '../../../src/observability/index.ts';
import { remoteBackendOptions } from '../../../src/roles/remote.ts';

describe('RemoteBackend without reachable model servers', () => {
  it('is not ready and answers 503 NOT_READY with Retry-After, not 404', async () => {
    // Port 1 on loopback: nothing listens there.
    const config = loadConfig({ LOUPE_MODEL_SERVER_URL: 'http://127.0.0.1:1', LOUPE_RETRY_AFTER_S: '3' });
    const b = new RemoteBackend({
      options: remoteBackendOptions(config),
      logger: createLogger('silent', { pretty: false }),
      metrics: createMetrics(),
    });
    await b.start();
    const r = b.readiness();
    assert.equal(r.ready, false);
    assert.match(r.reason ?? '', /no model server answers at http:\/\/127\.0\.0\.1:1/);
    await assert.rejects(
      b.classify({ image: Buffer.from('x'), topK: 1 }),
      (err: unknown) => err instanceof LoupeError && err.code === 'NOT_READY' && err.retryAfterS === 3,
    );
    await assert.rejects(
      b.infer('m', undefined, { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] }),
      (err: unknown) => err instanceof LoupeError && err.code === 'NOT_READY',
    );
    await b.close();
  });
});
