import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { loadConfig } from '../../../src/config/index.ts';
import type { Admission } from '../../../src/admission/index.ts';
import { inferenceService } from '../../../src/grpc/index.ts';
import { STREAM_IN_FLIGHT } from '../../../src/grpc/stream-edge.ts';
import type { OipInferRequest, OipInferResponse } from '../../../src/inference/index.ts';
import { roleAdmission } from '../../../src/roles/options.ts';
import { stubGrpc } from '../../helpers/grpc-app.ts';
import { grpcClient, rawGrpcCall } from '../../helpers/grpc.ts';
import { StubBackend } from '../../helpers/stub-backend.ts';

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

const good = (id: string) => ({
  id,
  model_name: 'stub',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 2, 2] }],
  raw_input_contents: [Buffer.alloc(48)],
});

interface StreamResponse {
  error_message?: string;
  infer_response: { id: string; model_name: string } | null;
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// ModelStreamInfer over the stub backend: per-message admission with the role's own objects
// (the counters below are theirs), the in-flight bound, and cancellation. The real model,
// auth over the wire, parity and the Python client are test/e2e/grpc-stream*.test.ts's.
describe('gRPC ModelStreamInfer (stub backend)', () => {
  const env = { LOUPE_MAX_INFLIGHT_PER_CLIENT: '64', LOUPE_RATE_LIMIT_PER_MINUTE: '100000' };
  let admission: Admission;
  let backend: GatedBackend;
  let rpc: Awaited<ReturnType<typeof stubGrpc>>;
  const client = 'ip:127.0.0.1';

  before(async () => {
    admission = roleAdmission(loadConfig(env), { clientLimits: true });
    backend = new GatedBackend();
    rpc = await stubGrpc(env, { admission, backend });
  });
  after(() => rpc?.stop());

  const idle = () => admission.budget.inUse === 0 && admission.clientLimits!.inFlightOf(client) === 0;

  it('answers every message, ids echoed, errors in error_message, and the stream goes on', async () => {
    const call = rpc.client.stream<object, StreamResponse>('ModelStreamInfer');
    const got: StreamResponse[] = [];
    call.on('data', (r: StreamResponse) => got.push(r));
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => undefined);
    for (let i = 0; i < 30; i++) {
      if (i % 3 === 1) call.write({ ...good(`bad-model-${i}`), model_name: 'nope' });
      else if (i % 3 === 2) call.write({ ...good(`bad-shape-${i}`), raw_input_contents: [Buffer.alloc(7)] });
      else call.write(good(`ok-${i}`));
    }
    call.end();
    assert.equal((await status).code, grpc.status.OK);
    assert.equal(got.length, 30);
    const ok = got.filter((r) => r.infer_response).map((r) => r.infer_response!.id);
    assert.deepEqual(ok.sort(), Array.from({ length: 10 }, (_, i) => `ok-${i * 3}`).sort());
    const errors = got.flatMap((r) => (r.error_message ? [r.error_message] : []));
    assert.equal(errors.length, 20);
    for (let i = 1; i < 30; i += 3)
      assert.ok(
        errors.some((e) => e.startsWith('MODEL_NOT_FOUND: ') && e.endsWith(`(request id bad-model-${i})`)),
        errors.join('\n'),
      );
    for (let i = 2; i < 30; i += 3)
      assert.ok(errors.some((e) => e.startsWith('INVALID_TENSOR: ') && e.endsWith(`(request id bad-shape-${i})`)));
    await until('admission counters back to 0', idle);
  });

  it(`reads at most ${STREAM_IN_FLIGHT} messages ahead of its answers (backpressure), then all`, async () => {
    let open!: () => void;
    backend.held = new Promise((r) => (open = r));
    backend.started = 0;
    const call = rpc.client.stream<object, StreamResponse>('ModelStreamInfer');
    const got: StreamResponse[] = [];
    call.on('data', (r: StreamResponse) => got.push(r));
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    for (let i = 0; i < 40; i++) call.write(good(`bp-${i}`));
    call.end();
    await until('the bound in flight', () => backend.started >= STREAM_IN_FLIGHT);
    await sleep(300);
    assert.equal(backend.started, STREAM_IN_FLIGHT, 'no message read past the bound');
    assert.equal(admission.clientLimits!.inFlightOf(client), STREAM_IN_FLIGHT);
    backend.held = undefined;
    open();
    assert.equal((await status).code, grpc.status.OK);
    assert.equal(got.length, 40);
    assert.ok(got.every((r) => r.infer_response));
    await until('admission counters back to 0', idle);
  });

  it('a cancelled stream gives back every in-flight place and byte, with inferences still running', async () => {
    let open!: () => void;
    backend.held = new Promise((r) => (open = r));
    backend.started = 0;
    const call = rpc.client.stream<object, StreamResponse>('ModelStreamInfer');
    call.on('error', () => undefined);
    for (let i = 0; i < 20; i++) call.write(good(`c-${i}`));
    await until('messages in flight', () => backend.started >= STREAM_IN_FLIGHT);
    assert.ok(admission.budget.inUse > 0, 'the messages hold upload bytes');
    call.cancel();
    await until('admission counters back to 0 at once', idle);
    backend.held = undefined;
    open();
    await sleep(100);
    assert.ok(idle());
  });

  it('a stream that never reads its answers is not read on: bounded in-flight and server memory', async () => {
    // grpc-js's own client keeps reading into memory whatever its caller does, so this client
    // is raw HTTP/2: it sends framed ModelInferRequests and never reads a byte of the answers.
    backend.started = 0;
    const serialize = inferenceService().ModelStreamInfer!.requestSerialize;
    const session = http2.connect(`http://${rpc.server.address}`);
    session.on('error', () => undefined);
    const stream = rawGrpcCall(session, 'ModelStreamInfer');
    stream.pause();
    const frame = (id: string) => {
      const body = serialize({ ...good(id), parameters: { pad: { string_param: 'x'.repeat(2000) } } });
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(body.length, 1);
      return Buffer.concat([prefix, body]);
    };
    // Bounded: at most 3000 writes, and no more once the server stops taking them.
    for (let sent = 0; sent < 3000; sent++) {
      if (!stream.write(frame(`nr-${sent}`))) {
        const drained = await Promise.race([new Promise((r) => stream.once('drain', r)), sleep(1000)]);
        if (drained === undefined) break;
      }
    }
    await sleep(500);
    const seen = backend.started;
    await sleep(500);
    assert.equal(backend.started, seen, 'the server stopped reading');
    // Its answers fill the client's 64 KiB window (a few hundred), then STREAM_IN_FLIGHT more are read.
    assert.ok(seen < 1500, `read ${seen} messages`);
    assert.ok(admission.clientLimits!.inFlightOf(client) <= STREAM_IN_FLIGHT);
    assert.ok(admission.budget.inUse < 64 * 1024 + STREAM_IN_FLIGHT * 3000, `held ${admission.budget.inUse} bytes`);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    session.destroy();
    await until('admission counters back to 0', idle);
  });
});

describe('gRPC ModelStreamInfer when the server stops', () => {
  it('a stream answers what it has read, then ends UNAVAILABLE, well before the shutdown deadline', async () => {
    const backend = new GatedBackend();
    const rpc = await stubGrpc({ LOUPE_SHUTDOWN_TIMEOUT_MS: '20000' }, { backend });
    let open!: () => void;
    backend.held = new Promise((r) => (open = r));
    const call = rpc.client.stream<object, StreamResponse>('ModelStreamInfer');
    const got: StreamResponse[] = [];
    call.on('data', (r: StreamResponse) => got.push(r));
    call.on('error', () => undefined);
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    for (let i = 0; i < 3; i++) call.write(good(`d-${i}`));
    await until('messages in flight', () => backend.started === 3);
    const started = Date.now();
    const stopped = rpc.server.stop();
    await sleep(100);
    call.write(good('d-late')); // not read: the server is draining
    backend.held = undefined;
    open();
    const s = await status;
    assert.equal(s.code, grpc.status.UNAVAILABLE, s.details);
    assert.match(s.details, /shutting down; open a new stream/);
    assert.deepEqual(got.map((r) => r.infer_response?.id).sort(), ['d-0', 'd-1', 'd-2']);
    await stopped;
    assert.ok(Date.now() - started < 5000, 'stopped without waiting for the deadline');
    assert.equal(backend.started, 3);
    rpc.client.close();
  });
});

describe('gRPC ModelStreamInfer flooded with small requests', () => {
  it('the open and each message count against the rate: a flood runs only the allowance, every message is answered', async () => {
    const env = { LOUPE_RATE_LIMIT_PER_MINUTE: '50' };
    const backend = new GatedBackend();
    const rpc = await stubGrpc(env, { backend }, { clientLimits: true });
    try {
      const call = rpc.client.stream<object, StreamResponse>('ModelStreamInfer');
      let answered = 0;
      let limited = 0;
      call.on('data', (r: StreamResponse) => {
        answered++;
        if (r.error_message?.startsWith('RATE_LIMITED: ')) limited++;
      });
      const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      const N = 2000;
      for (let i = 0; i < N; i++) if (!call.write(good(`f-${i}`))) await new Promise((r) => call.once('drain', r));
      call.end();
      assert.equal((await status).code, grpc.status.OK);
      assert.equal(answered, N);
      // The stream's open took one of the 50.
      assert.equal(backend.started, 49, 'only the allowance ran');
      assert.equal(limited, N - 49);
      const unary = await rpc.client.call('ModelInfer', good('after-flood'));
      assert.equal(unary.error?.code, grpc.status.RESOURCE_EXHAUSTED, 'one allowance with unary calls');
    } finally {
      await rpc.stop();
    }
  });
});

describe('gRPC ModelStreamInfer with compressed messages', () => {
  it('gzip-compressed requests are answered; each holds its decoded size, all given back', async () => {
    const env = { LOUPE_MAX_INFLIGHT_PER_CLIENT: '64' };
    const admission = roleAdmission(loadConfig(env), { clientLimits: true });
    const backend = new GatedBackend();
    const rpc = await stubGrpc(env, { admission, backend });
    const gzip = grpcClient(rpc.server.address, 'triton', { 'grpc.default_compression_algorithm': 2 });
    try {
      let open!: () => void;
      backend.held = new Promise((r) => (open = r));
      const call = gzip.stream<object, StreamResponse>('ModelStreamInfer');
      const got: StreamResponse[] = [];
      call.on('data', (r: StreamResponse) => got.push(r));
      const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      // 64 KiB of zeros each: a few hundred bytes on the wire.
      const big = (id: string) => ({ ...good(id), parameters: { pad: { string_param: '0'.repeat(64 * 1024) } } });
      for (let i = 0; i < 4; i++) call.write(big(`z-${i}`));
      call.end();
      await until('messages in flight', () => backend.started === 4);
      assert.ok(admission.budget.inUse >= 4 * 64 * 1024, `held ${admission.budget.inUse} bytes`);
      backend.held = undefined;
      open();
      assert.equal((await status).code, grpc.status.OK);
      assert.deepEqual(got.map((r) => r.infer_response?.id).sort(), ['z-0', 'z-1', 'z-2', 'z-3']);
      await until('the budget given back', () => admission.budget.inUse === 0);
    } finally {
      gzip.close();
      await rpc.stop();
    }
  });
});
