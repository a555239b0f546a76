import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/config/index.ts';
import { grpcOptions, httpOptions, webhookPolicy } from '../../../src/roles/options.ts';

// The roles are the only place the env-named Config is read: each mapper must hand the module
// the variable its option names (distinct values, so a swapped pair shows).
const config = loadConfig({
  HOST: '127.0.0.1',
  LOUPE_GRPC_PORT: '9101',
  LOUPE_MAX_UPLOAD_BYTES: '200001',
  LOUPE_MAX_PIXELS: '200002',
  LOUPE_MAX_JOB_IMAGES: '7',
  LOUPE_MAX_JOB_BYTES: '9000003',
  LOUPE_HEADERS_TIMEOUT_MS: '1005',
  LOUPE_REQUEST_TIMEOUT_MS: '1006',
  LOUPE_KEEP_ALIVE_TIMEOUT_MS: '1007',
  LOUPE_MAX_CONNECTIONS: '1008',
  LOUPE_TRUST_PROXY: '2',
  LOUPE_SHUTDOWN_TIMEOUT_MS: '1009',
});

describe("the roles' option mappers (roles/options.ts)", () => {
  it('httpOptions: limits and connection rules from their variables', () => {
    assert.deepEqual(httpOptions(config), {
      defaultModel: 'fashion-mnist',
      maxUploadBytes: 200001,
      maxPixels: 200002,
      jobs: { maxImages: 7, maxBytes: 9000003 },
      connections: {
        headersTimeoutMs: 1005,
        requestTimeoutMs: 1006,
        keepAliveTimeoutMs: 1007,
        maxConnections: 1008,
        trustProxy: '2',
      },
    });
  });

  it('grpcOptions: the address and rules, and nothing when LOUPE_GRPC_PORT is off', () => {
    assert.deepEqual(grpcOptions(config), {
      host: '127.0.0.1',
      port: 9101,
      maxUploadBytes: 200001,
      headersTimeoutMs: 1005,
      requestTimeoutMs: 1006,
      keepAliveTimeoutMs: 1007,
      maxConnections: 1008,
      trustProxy: '2',
      shutdownTimeoutMs: 1009,
    });
    assert.equal(grpcOptions(loadConfig({ LOUPE_GRPC_PORT: 'off' })), undefined);
    assert.equal(grpcOptions(loadConfig({ LOUPE_GRPC_PORT: '0' }))?.port, 0);
  });

  it('webhookPolicy: LOUPE_WEBHOOK_ALLOW as a policy; a malformed entry is a ConfigError naming the variable', () => {
    const policy = webhookPolicy({ LOUPE_WEBHOOK_ALLOW: '10.1.0.0/16' });
    assert.equal(policy.refusal('a', '10.1.2.3'), undefined);
    assert.ok(policy.refusal('a', '10.2.0.1'));
    for (const allow of ['10.0.0.0/33', '::/129', '10.0.0.0/8/8', 'host/24', '10.0.0', 'http://hook', 'a b']) {
      assert.throws(
        () => webhookPolicy({ LOUPE_WEBHOOK_ALLOW: allow }),
        (err: Error) => err instanceof ConfigError && /^invalid configuration: LOUPE_WEBHOOK_ALLOW /.test(err.message),
        allow,
      );
    }
  });
});
