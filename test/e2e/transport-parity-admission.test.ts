import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { generateKey } from '../../src/auth/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import type { AdmissionRefusal, AuthFailure, ErrorCode, Refusal } from '../../src/errors.ts';
import { grpcClient, type TestGrpcClient, rawGrpcCall } from '../helpers/grpc.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { capturingLogger, grpcOutcome, httpOutcome, parity, type Outcome, type Parity } from '../helpers/parity.ts';
import { startServe, tempDir, type TestServer } from '../helpers/server.ts';

/**
 * Transport parity of admission (issue #24 item 2; the cases table is in
 * transport-parity.test.ts): API keys, scopes, per-client rate and in-flight limits and the
 * failed-auth limit, over HTTP (OIP infer) and gRPC (ModelInfer) to one process that shares
 * one Admission between them. X-Forwarded-For (trusted here) gives each case its own address,
 * so the failed-auth limit of one case does not reach the next.
 */
const C = 3;
const H = 4;
const W = 4;
const PER_MINUTE = 6;
/** FailedAuthLimiter's default (not configurable): failures per address and minute before 429. */
const FAILURES_PER_MINUTE = 120;

describe('HTTP and gRPC admit and refuse the same way', () => {
  let srv: TestServer;
  let client: TestGrpcClient;
  let p: Parity;
  const admin = generateKey();
  const reader = generateKey();
  const limited = generateKey();
  const busy = generateKey();
  const meta = generateKey();
  const body = Buffer.alloc(C * H * W * 4);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, C, H, W], parameters: { binary_data_size: body.length } }],
    }),
  );
  const route = '/v2/models/:model/infer';
  const png = fixture('dog-160x120.png');

  before(async () => {
    const store = tempDir('loupe-parity-auth-');
    writeStoreModel(store, { name: 'colors', channels: C, height: H, width: W, classes: 4, resize: 'stretch' });
    const file = path.join(tempDir('loupe-parity-keys-'), 'api_keys');
    writeFileSync(
      file,
      [`admin predict,read ${admin.key}`, `reader read ${reader.key}`, `limited predict ${limited.key}`]
        .concat(`busy predict ${busy.key}`, `meta predict ${meta.key}`)
        .join('\n') + '\n',
    );
    const log = capturingLogger();
    srv = await startServe(
      {
        LOUPE_AUTH: 'required',
        LOUPE_API_KEYS_FILE: file,
        LOUPE_MODEL_STORE: store,
        LOUPE_DEFAULT_MODEL: 'colors',
        LOUPE_TRUST_PROXY: 'true',
        LOUPE_RATE_LIMIT_PER_MINUTE: String(PER_MINUTE),
        LOUPE_MAX_INFLIGHT_PER_CLIENT: '1',
      },
      {},
      { logger: log.logger },
    );
    client = grpcClient(srv.role.grpcAddress);
    p = parity(srv, log.lines);
  });
  after(async () => {
    client?.close();
    await srv?.stop();
  });

  let address = 0;
  /** Credentials as both transports send them, from an address of the case's own. */
  const from = (auth: Record<string, string>, at = `198.51.100.${++address}`) => ({
    ...auth,
    'x-forwarded-for': at,
  });
  const http = (headers: Record<string, string>) => (id: string) =>
    httpOutcome(`${srv.url}/v2/models/colors/infer`, {
      method: 'POST',
      body: Buffer.concat([header, body]),
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.length),
        'x-request-id': id,
        ...headers,
      },
    });
  const rpc = (metadata: Record<string, string>) => (id: string) =>
    grpcOutcome(
      client,
      'ModelInfer',
      {
        model_name: 'colors',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, C, H, W] }],
        raw_input_contents: [body],
      },
      { 'x-request-id': id, ...metadata },
    );
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const both = (name: string, code: ErrorCode, headers: Record<string, string>, opts?: Parameters<Parity['both']>[5]) =>
    p.both(name, code, http(headers), rpc(headers), route, opts);
  const auth = (reason: AuthFailure): Refusal => ({ kind: 'auth', reason });
  const admission = (reason: AdmissionRefusal): Refusal => ({ kind: 'admission', reason });
  /** A refusal names what was called in its transport's terms: the HTTP route, or the RPC. */
  const action = (m: string) => m.replace('POST /v2/models/:model/infer', 'call ModelInfer');

  const AUTH_CASES: Array<[string, ErrorCode, () => Record<string, string>, AuthFailure]> = [
    ['no key', 'UNAUTHORIZED', () => from({}), 'missing'],
    ['a malformed key', 'UNAUTHORIZED', () => from(bearer('not-a-loupe-key')), 'invalid'],
    ['an unknown key', 'UNAUTHORIZED', () => from(bearer(generateKey().key)), 'invalid'],
    ['a key in X-API-Key that is unknown', 'UNAUTHORIZED', () => from({ 'x-api-key': generateKey().key }), 'invalid'],
    ['a read-only key on infer', 'FORBIDDEN', () => from(bearer(reader.key)), 'forbidden'],
    ['another scheme than Bearer', 'UNAUTHORIZED', () => from({ authorization: `Basic ${admin.key}` }), 'missing'],
  ];
  for (const [name, code, headers, reason] of AUTH_CASES) {
    it(name, async () => {
      await both(name, code, headers(), { sameMessage: action, refusal: auth(reason) });
    });
  }

  // /predict is the HTTP API's own inference route: its refusals are ModelInfer's too.
  for (const [name, code, headers, reason] of [AUTH_CASES[0]!, AUTH_CASES[4]!]) {
    it(`${name}, on /predict`, async () => {
      const h = headers();
      const predict = (id: string) =>
        httpOutcome(`${srv.url}/predict`, {
          method: 'POST',
          body: png,
          headers: { 'content-type': 'image/png', 'x-request-id': id, ...h },
        });
      const same = (m: string) => m.replace('POST /predict', 'call ModelInfer');
      await p.both(`${name} on /predict`, code, predict, rpc(h), '/predict', {
        sameMessage: same,
        refusal: auth(reason),
      });
    });
  }

  it('no key on model metadata: the small RPCs have their HTTP routes’ rules (one policy table)', async () => {
    const h = from({});
    await p.both(
      'no key on model metadata',
      'UNAUTHORIZED',
      (id) => httpOutcome(`${srv.url}/v2/models/colors`, { headers: { 'x-request-id': id, ...h } }),
      (id) => grpcOutcome(client, 'ModelMetadata', { name: 'colors' }, { 'x-request-id': id, ...h }),
      '/v2/models/:model',
      {
        method: 'ModelMetadata',
        sameMessage: (m) => m.replace('GET /v2/models/:model', 'call ModelMetadata'),
        refusal: auth('missing'),
      },
    );
  });

  it('what is let in is let in on both: a predict-only key on metadata, a Bearer key with another X-API-Key', async () => {
    for (const [what, headers] of [
      ['a predict-only key on metadata', from(bearer(meta.key))],
      ['a Bearer key and another X-API-Key', from({ ...bearer(meta.key), 'x-api-key': reader.key })],
    ] as const) {
      const h = await httpOutcome(`${srv.url}/v2/models/colors`, { headers });
      const g = await grpcOutcome(client, 'ModelMetadata', { name: 'colors' }, headers);
      assert.deepEqual([h.code, g.code], [undefined, undefined], `${what}: ${JSON.stringify([h, g])}`);
      assert.deepEqual([h.status, g.status], [200, grpc.status.OK], what);
    }
  });

  it('a valid key is let in on both', async () => {
    const headers = from(bearer(admin.key));
    const h = await http(headers)('parity-auth-ok-h');
    const g = await rpc(headers)('parity-auth-ok-g');
    assert.deepEqual([h.status, h.code], [200, undefined], JSON.stringify(h));
    assert.deepEqual([g.status, g.code], [grpc.status.OK, undefined], JSON.stringify(g));
  });

  it("a client's rate limit is one allowance across both transports, refused the same way on each", async () => {
    const headers = from(bearer(limited.key));
    for (let i = 0; i < PER_MINUTE; i++) {
      const o = await (i % 2 === 0 ? http(headers) : rpc(headers))(`parity-rate-${i}`);
      assert.equal(o.code, undefined, `call ${i} is within the limit: ${JSON.stringify(o)}`);
    }
    // The seconds left may tick between the two answers.
    const { h, g } = await both('over the rate limit', 'RATE_LIMITED', headers, {
      sameMessage: (m) => m.replace(/retry in \d+ s/, 'retry in N s'),
      refusal: admission('rate_limit'),
    });
    assert.ok(Number(h.retryAfter) >= 1 && Number(g.retryAfter) >= 1, `${h.retryAfter} ${g.retryAfter}`);
  });

  it("a client's in-flight cap counts both transports: one held on either refuses the next on both", async () => {
    const headers = from(bearer(busy.key));
    const { port } = new URL(srv.url);
    // An HTTP upload that announces its body and sends half: it holds its client's one place.
    const held = net.connect(Number(port), '127.0.0.1');
    held.on('error', () => undefined);
    held.write(
      `POST /v2/models/colors/infer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${busy.key}\r\n` +
        `X-Forwarded-For: ${headers['x-forwarded-for']}\r\nContent-Type: application/octet-stream\r\n` +
        `Inference-Header-Content-Length: ${header.length}\r\nContent-Length: ${header.length + body.length}\r\n\r\n`,
    );
    held.write(header);
    await sleep(200);
    try {
      await both('in-flight cap held over HTTP', 'RATE_LIMITED', headers, { refusal: admission('in_flight') });
    } finally {
      held.destroy();
    }
    await sleep(200);
    // The same, held by a gRPC call whose message has not arrived.
    const session = http2.connect(`http://${srv.role.grpcAddress}`);
    session.on('error', () => undefined);
    const stream = rawGrpcCall(session, 'ModelInfer', headers);
    await sleep(200);
    try {
      await both('in-flight cap held over gRPC', 'RATE_LIMITED', headers, { refusal: admission('in_flight') });
    } finally {
      stream.close();
      session.destroy();
    }
  });

  it('failed authentications from one address: past the limit bad keys are refused alike, a valid key still passes on both', async () => {
    const at = '203.0.113.7';
    for (let i = 0; i < FAILURES_PER_MINUTE; i++) {
      const o: Outcome = await http(from(bearer(generateKey().key), at))(`parity-lockout-${i}`);
      assert.equal(o.status, 401, JSON.stringify(o));
    }
    await both('a bad key from a locked-out address', 'RATE_LIMITED', from(bearer(generateKey().key), at), {
      refusal: auth('locked_out'),
    });
    const ok = from(bearer(admin.key), at);
    const h = await http(ok)('parity-lockout-ok-h');
    const g = await rpc(ok)('parity-lockout-ok-g');
    assert.equal(h.status, 200, JSON.stringify(h));
    assert.equal(g.status, grpc.status.OK, JSON.stringify(g));
  });
});
