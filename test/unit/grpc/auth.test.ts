import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { generateKey } from '../../../src/auth/index.ts';
import { loadConfig } from '../../../src/config/index.ts';
import type { App } from '../../../src/http/index.ts';
import { roleAdmission } from '../../../src/roles/options.ts';
import { stubApp, stubKeys } from '../../helpers/app.ts';
import { stubGrpc } from '../../helpers/grpc-app.ts';
import { StubBackend } from '../../helpers/stub-backend.ts';

// API keys over gRPC, and one rate allowance per key whichever transport it calls: the HTTP
// API (inject) and an in-process gRPC server on an ephemeral port share one backend, one key
// verifier and one admission, as serve's composition root wires them. Reading keys from
// LOUPE_API_KEYS_FILE into the database is test/e2e/auth.test.ts's.

describe('gRPC with API keys', () => {
  const keys = { predict: generateKey(), read: generateKey() };
  const env = { LOUPE_AUTH: 'required', LOUPE_RATE_LIMIT_PER_MINUTE: '12' };
  let app: App;
  let rpc: Awaited<ReturnType<typeof stubGrpc>>;

  before(async () => {
    const auth = stubKeys({ [keys.predict.key]: ['predict'], [keys.read.key]: ['read'] });
    const admission = roleAdmission(loadConfig(env), { clientLimits: true });
    const backend = new StubBackend();
    ({ app } = await stubApp(env, { auth, admission, backend }));
    rpc = await stubGrpc(env, { auth, admission, backend });
  });
  after(async () => {
    await app?.close();
    await rpc?.stop();
  });

  const infer = {
    model_name: 'stub',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 2, 2] }],
    raw_input_contents: [Buffer.alloc(48)],
  };

  it('health RPCs are open; everything else needs a key (UNAUTHENTICATED), inference the predict scope', async () => {
    const { client } = rpc;
    assert.deepEqual((await client.call('ServerLive', {})).response, { live: true });
    assert.deepEqual((await client.call('ServerReady', {})).response, { ready: true });
    const none = await client.call('ServerMetadata', {});
    assert.equal(none.error?.code, grpc.status.UNAUTHENTICATED);
    assert.match(none.error!.details, /an API key is required/);
    const wrong = await client.call('ModelInfer', infer, { authorization: `Bearer ${generateKey().key}` });
    assert.equal(wrong.error?.code, grpc.status.UNAUTHENTICATED);
    const reader = await client.call('ModelInfer', infer, { authorization: `Bearer ${keys.read.key}` });
    assert.equal(reader.error?.code, grpc.status.PERMISSION_DENIED);
    assert.match(reader.error!.details, new RegExp(`API key ${keys.read.id} may not call ModelInfer`));
    assert.deepEqual(
      (await client.call('ModelMetadata', { name: 'stub' }, { 'x-api-key': keys.read.key })).error,
      undefined,
    );
    const ok = await client.call('ModelInfer', infer, { authorization: `Bearer ${keys.predict.key}` });
    assert.equal(ok.error, undefined, ok.error?.details);
  });

  it('one rate allowance per key across HTTP and gRPC: past it, RESOURCE_EXHAUSTED with a retry hint', async () => {
    const { client } = rpc;
    const auth = { authorization: `Bearer ${keys.predict.key}` };
    const statuses: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await app.inject({ method: 'GET', url: '/v2/models/stub', headers: auth });
      statuses.push(String(r.statusCode));
    }
    for (let i = 0; i < 6; i++) statuses.push(String((await client.call('ServerMetadata', {}, auth)).error?.code ?? 0));
    const refused = await client.call('ServerMetadata', {}, auth);
    assert.equal(refused.error?.code, grpc.status.RESOURCE_EXHAUSTED, statuses.join());
    assert.deepEqual(refused.trailers?.get('x-loupe-error-code'), ['RATE_LIMITED']);
    assert.ok(Number(refused.trailers?.get('retry-after')[0]) >= 1);
    const http = await app.inject({ method: 'GET', url: '/v2/models/stub', headers: auth });
    assert.equal(http.statusCode, 429, 'HTTP counts the gRPC calls too');
    assert.deepEqual((await client.call('ServerLive', {})).response, { live: true }, 'probes are not limited');
  });
});
