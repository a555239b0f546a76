import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { Admission } from '../../../src/admission/index.ts';
import type { KeyVerifier } from '../../../src/auth/index.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { inferenceService } from '../../../src/grpc/index.ts';
import type { OipInferRequest, OipInferResponse } from '../../../src/inference/index.ts';
import { createLogger } from '../../../src/observability/index.ts';
import { roleAdmission } from '../../../src/roles/options.ts';
import { stubGrpc } from '../../helpers/grpc-app.ts';
import { StubBackend } from '../../helpers/stub-backend.ts';
import { recordingTracing } from '../../helpers/tracing.ts';
import { rawGrpcCall } from '../../helpers/grpc.ts';

/** A stub whose inferences wait while `held` is set, so a test can have messages in flight. */
class GatedBackend extends StubBackend {
  held: Promise<void> | undefined;
  started = 0;
  override async infer(name: string, version: string | undefined, req: OipInferRequest): Promise<OipInferResponse> {
    this.started++;
    if (this.held) await this.held;
    return super.infer(name, version, req);
  }
}

/** A valid request for the stub; `pad` bytes of parameters make it as large as a test needs. */
const good = (id: string, pad = 0) => ({
  id,
  model_name: 'stub',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 2, 2] }],
  raw_input_contents: [Buffer.alloc(48)],
  ...(pad > 0 ? { parameters: { pad: { string_param: 'x'.repeat(pad) } } } : {}),
});

interface StreamResponse {
  error_message?: string;
  infer_response: { id: string } | null;
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const CLIENT = 'ip:127.0.0.1';

/** A stub gRPC API with its admission objects in reach, and a gated backend. */
async function setup(env: Record<string, string>, extra: Parameters<typeof stubGrpc>[1] = {}) {
  const admission: Admission = roleAdmission(loadConfig(env), { clientLimits: true });
  const backend = new GatedBackend();
  const rpc = await stubGrpc(env, { admission, backend, ...extra });
  const idle = () => admission.budget.inUse === 0 && admission.clientLimits!.inFlightOf(CLIENT) === 0;
  return { admission, backend, rpc, idle };
}

function open(rpc: Awaited<ReturnType<typeof stubGrpc>>, metadata: Record<string, string> = {}) {
  const call = rpc.client.stream<object, StreamResponse>('ModelStreamInfer', metadata);
  const got: StreamResponse[] = [];
  call.on('data', (r: StreamResponse) => got.push(r));
  call.on('error', () => undefined);
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return { call, got, status };
}

// Review findings on ModelStreamInfer's admission (#28): each test fails without its fix.
describe('gRPC ModelStreamInfer admission', () => {
  const SHARE = 100_000;
  const env = {
    LOUPE_MAX_INFLIGHT_PER_CLIENT: '4',
    LOUPE_MAX_INFLIGHT_UPLOAD_BYTES_PER_CLIENT: String(SHARE),
    LOUPE_RATE_LIMIT_PER_MINUTE: '100000',
  };

  it('a message completed by the frame that ends the stream is not run and keeps no in-flight place', async () => {
    const { admission, backend, rpc, idle } = await setup(env);
    try {
      const s = open(rpc);
      s.call.write(good('first'));
      await until('the first answer', () => s.got.length === 1);
      // Another upload of the key holds nearly all its share: the one DATA frame that carries the
      // whole next message pushes the key past it, and the stream is ended on that frame.
      const other = admission.budget.open(CLIENT);
      assert.equal(other.growTo(SHARE - 50), undefined);
      s.call.write(good('second'));
      const status = await s.status;
      assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED, status.details);
      other.release();
      await sleep(300);
      assert.equal(backend.started, 1, 'the message of the ended stream did not run');
      await until('its in-flight place given back', idle);
    } finally {
      await rpc.stop();
    }
  });

  it('a unary call ended on the frame that completes its message does not run, even once half-closed', async () => {
    const { admission, backend, rpc, idle } = await setup(env);
    try {
      const other = admission.budget.open(CLIENT);
      assert.equal(other.growTo(SHARE - 50), undefined);
      // Raw HTTP/2, so the client half-closes only after the refusal: grpc-js's handler runs a
      // unary call at its half-close, which then comes after the edge has ended the call.
      const session = http2.connect(`http://${rpc.server.address}`);
      session.on('error', () => undefined);
      const stream = rawGrpcCall(session, 'ModelInfer');
      const status = new Promise<string>((resolve) => {
        const done = (h: http2.IncomingHttpHeaders) =>
          h['grpc-status'] !== undefined && resolve(String(h['grpc-status']));
        stream.on('response', done);
        stream.on('trailers', done);
      });
      const body = inferenceService().ModelInfer!.requestSerialize(good('unary'));
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(body.length, 1);
      stream.write(Buffer.concat([prefix, body]));
      assert.equal(await status, String(grpc.status.RESOURCE_EXHAUSTED));
      stream.end();
      await sleep(300);
      session.destroy();
      other.release();
      assert.equal(backend.started, 0, 'the refused call ran no inference');
      await until('nothing held', idle);
    } finally {
      await rpc.stop();
    }
  });

  it("each message of a stream is its own upload: two in flight over the key's share end the stream", async () => {
    const { admission, backend, rpc, idle } = await setup(env);
    try {
      let release!: () => void;
      backend.held = new Promise((r) => (release = r));
      const s = open(rpc);
      // Each about 60 KB: one alone may exceed nothing; the two together exceed the 100 KB share.
      s.call.write(good('big-1', 60_000));
      await until('the first running', () => backend.started === 1);
      s.call.write(good('big-2', 60_000));
      const status = await s.status;
      assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED, status.details);
      assert.match(status.details, /share of the upload budget/);
      assert.ok(admission.budget.heldBy(CLIENT) <= SHARE, `held ${admission.budget.heldBy(CLIENT)}`);
      assert.equal(backend.started, 1);
      backend.held = undefined;
      release();
      await until('everything given back', idle);
    } finally {
      await rpc.stop();
    }
  });

  it('opening a stream counts against the rate limit, as a request', async () => {
    const { rpc } = await setup({ LOUPE_RATE_LIMIT_PER_MINUTE: '3' });
    try {
      for (let i = 0; i < 3; i++) {
        const s = open(rpc);
        s.call.end();
        assert.equal((await s.status).code, grpc.status.OK, `stream ${i}`);
      }
      const s = open(rpc);
      s.call.end();
      const status = await s.status;
      assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED, status.details);
      assert.match(status.details, /rate limit/);
    } finally {
      await rpc.stop();
    }
  });
});

describe('gRPC ModelStreamInfer traces and logs', () => {
  it('a stream has no failed loupe.receive span (its messages are received one by one)', async () => {
    const { tracing, log } = recordingTracing();
    const { rpc } = await setup({}, { tracing });
    try {
      const s = open(rpc);
      s.call.write(good('t-1'));
      s.call.write(good('t-2'));
      s.call.end();
      assert.equal((await s.status).code, grpc.status.OK);
      assert.equal(s.got.filter((r) => r.infer_response).length, 2);
      const call = log.find((l) => l.name.endsWith('/ModelStreamInfer'));
      assert.ok(call?.ended && !call.failed, 'the stream span ended OK');
      const failed = log.filter((l) => l.failed).map((l) => l.name);
      assert.deepEqual(failed, [], 'no failed span');
      // A unary call still has its receive span, ended OK.
      assert.equal((await rpc.client.call('ModelInfer', good('u'))).error, undefined);
      const receive = log.filter((l) => l.name === 'loupe.receive');
      assert.equal(receive.length, 1);
      assert.ok(receive[0]!.ended && !receive[0]!.failed);
    } finally {
      await rpc.stop();
    }
  });

  it("each message's log line carries the stream's trace_id", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l.startsWith('{')) lines.push(JSON.parse(l));
        done();
      },
    });
    const logger = createLogger('info', { format: 'json', destination });
    const { rpc } = await setup({}, { logger });
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const s = open(rpc, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
      s.call.write(good('log-1'));
      s.call.end();
      assert.equal((await s.status).code, grpc.status.OK);
      const line = lines.find((l) => l.reqId === 'log-1');
      assert.ok(line, JSON.stringify(lines));
      assert.equal(line.trace_id, traceId);
    } finally {
      await rpc.stop();
    }
  });
});

describe('gRPC ModelStreamInfer admitted while the server stops', () => {
  it('a stream whose key check ends after the drain began is ended at once, UNAVAILABLE', async () => {
    let letIn!: () => void;
    const gate = new Promise<void>((r) => (letIn = r));
    let asked = 0;
    const auth: KeyVerifier = {
      verify: async () => {
        asked++;
        await gate;
        return { keyId: 'k1', name: 'k', scopes: ['predict'] };
      },
    };
    const { rpc } = await setup({ LOUPE_SHUTDOWN_TIMEOUT_MS: '20000' }, { auth });
    const s = open(rpc, { authorization: 'Bearer lp_whatever' });
    await until('the key check under way', () => asked === 1);
    const started = Date.now();
    const stopped = rpc.server.stop();
    await sleep(100);
    letIn();
    const status = await s.status;
    assert.equal(status.code, grpc.status.UNAVAILABLE, status.details);
    assert.match(status.details, /shutting down; open a new stream/);
    await stopped;
    assert.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms, not at the deadline`);
    rpc.client.close();
  });
});
