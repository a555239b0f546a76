import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { generateKey } from '../../src/auth/index.ts';
import { codeName } from '../../src/grpc/status.ts';
import { inferenceService } from '../../src/grpc/index.ts';
import { fixture, fixtureTensor } from '../helpers/fixtures.ts';
import { grpcClient, type TestGrpcClient, rawGrpcCall } from '../helpers/grpc.ts';
import { capturingLogger, type LogLine } from '../helpers/parity.ts';
import { startServe, tempDir, type TestServer } from '../helpers/server.ts';

// ModelStreamInfer against a real `loupe serve` (default model fashion-mnist, real image
// tensors) with API keys required and tight per-client limits: every message answered, ids
// echoed, errors in error_message while the stream goes on; the stream refused without a key
// or the scope; the rate limit per message; cancellation and a dribbled message give back
// what they held (the client then gets its full in-flight cap and upload share). The Python
// client is grpc-stream-python.test.ts's; the stub-backend cases (bound, never-reading
// client, counters) test/unit/grpc/stream.test.ts's.
const PER_MINUTE = 30;
const IN_FLIGHT = 4;
const SHARE = 32 * 1024;
const GRACE_MS = 800;

interface StreamResponse {
  error_message?: string;
  infer_response: { id: string; model_name: string; raw_output_contents: Buffer[] } | null;
}

describe('ModelStreamInfer on loupe serve (keys, limits, cancellation)', () => {
  let srv: TestServer;
  let client: TestGrpcClient;
  let lines: LogLine[];
  // cancel and slow each stay well within PER_MINUTE (each stream's open counts too), so their
  // fullShare checks see only what is held, never the rate limit.
  const keys = {
    main: generateKey(),
    reader: generateKey(),
    limited: generateKey(),
    cancel: generateKey(),
    slow: generateKey(),
  };
  const bearer = (k: { key: string }) => ({ authorization: `Bearer ${k.key}` });
  const t = fixtureTensor('gray-40x30.png');
  const one = Buffer.from(Float32Array.from(t.data).buffer);
  /** A batch of two: 6,272 bytes, so four in flight are most of a 32 KiB share. */
  const two = Buffer.concat([one, one]);
  const req = (id: string, over: object = {}) => ({
    id,
    model_name: 'fashion-mnist',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [2, ...t.shape] }],
    raw_input_contents: [two],
    ...over,
  });

  before(async () => {
    const file = path.join(tempDir('loupe-stream-keys-'), 'api_keys');
    const { main, reader, limited, cancel, slow } = keys;
    writeFileSync(
      file,
      [`main predict ${main.key}`, `reader read ${reader.key}`, `limited predict ${limited.key}`]
        .concat(`cancel predict ${cancel.key}`, `slow predict ${slow.key}`)
        .join('\n') + '\n',
    );
    const log = capturingLogger();
    lines = log.lines;
    srv = await startServe(
      {
        LOUPE_AUTH: 'required',
        LOUPE_API_KEYS_FILE: file,
        LOUPE_RATE_LIMIT_PER_MINUTE: String(PER_MINUTE),
        LOUPE_MAX_INFLIGHT_PER_CLIENT: String(IN_FLIGHT),
        LOUPE_MAX_INFLIGHT_UPLOAD_BYTES_PER_CLIENT: String(SHARE),
        LOUPE_UPLOAD_RATE_GRACE_MS: String(GRACE_MS),
      },
      {},
      { logger: log.logger },
    );
    client = grpcClient(srv.role.grpcAddress);
  });
  after(async () => {
    client?.close();
    await srv?.stop();
  });

  /** Sends `messages` on one stream, half-closes, and collects every answer and the status. */
  async function stream(metadata: Record<string, string>, messages: object[]) {
    const call = client.stream<object, StreamResponse>('ModelStreamInfer', metadata);
    const responses: StreamResponse[] = [];
    call.on('data', (r: StreamResponse) => responses.push(r));
    call.on('error', () => undefined);
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    for (const m of messages) call.write(m);
    call.end();
    return { status: await status, responses };
  }

  const grpcCount = async (code: grpc.status) =>
    (await srv.role.metrics.grpcRequests.get()).values
      .filter((v) => v.labels.method === 'ModelStreamInfer' && v.labels.code === codeName(code))
      .reduce((a, v) => a + v.value, 0);

  it('answers good and bad requests in one stream: ids echoed, errors in error_message, ModelInfer’s results', async () => {
    const unary = await client.call('ModelInfer', req('unary'), bearer(keys.main));
    assert.equal(unary.error, undefined, unary.error?.details);
    const [okBefore, notFoundBefore] = [await grpcCount(grpc.status.OK), await grpcCount(grpc.status.NOT_FOUND)];
    const messages = [];
    for (let i = 0; i < 9; i++) {
      if (i % 3 === 1) messages.push(req(`s-model-${i}`, { model_name: 'nope' }));
      else if (i % 3 === 2) messages.push(req(`s-shape-${i}`, { raw_input_contents: [one] }));
      else messages.push(req(`s-ok-${i}`));
    }
    const png = fixture('gray-40x30.png');
    messages.push({
      id: 's-png',
      model_name: 'fashion-mnist',
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [png] } }],
    });
    const { status, responses } = await stream(bearer(keys.main), messages);
    assert.equal(status.code, grpc.status.OK, status.details);
    assert.equal(responses.length, 10);
    const ok = responses.filter((r) => r.infer_response).map((r) => r.infer_response!);
    assert.deepEqual(ok.map((r) => r.id).sort(), ['s-ok-0', 's-ok-3', 's-ok-6', 's-png']);
    for (const r of ok.filter((x) => x.id !== 's-png'))
      assert.deepEqual(r.raw_output_contents, unary.response.raw_output_contents, `${r.id}: ModelInfer's logits`);
    const errors = responses.flatMap((r) => (r.error_message ? [r.error_message] : []));
    for (const i of [1, 4, 7])
      assert.ok(
        errors.includes(`MODEL_NOT_FOUND: model "nope" is not loaded (request id s-model-${i})`),
        errors.join('\n'),
      );
    for (const i of [2, 5, 8])
      assert.ok(
        errors.some((e) => /^INVALID_TENSOR: .*\(request id s-shape-\d\)$/.test(e) && e.endsWith(`s-shape-${i})`)),
      );
    // One log line and one count per message, as a unary call has.
    for (const m of messages as Array<{ id: string }>) {
      const mine = lines.filter((l) => l.reqId === m.id);
      assert.equal(mine.length, 1, `${m.id}: ${JSON.stringify(mine)}`);
      assert.equal((mine[0] as { rpc?: string }).rpc, 'ModelStreamInfer');
    }
    assert.equal(lines.filter((l) => l.reqId === 's-model-1')[0]!.code, 'MODEL_NOT_FOUND');
    assert.equal((await grpcCount(grpc.status.OK)) - okBefore, 4);
    assert.equal((await grpcCount(grpc.status.NOT_FOUND)) - notFoundBefore, 3);
  });

  it('without a key the stream is refused UNAUTHENTICATED; a read-only key PERMISSION_DENIED, as ModelInfer is', async () => {
    for (const [metadata, code, loupe] of [
      [{}, grpc.status.UNAUTHENTICATED, 'UNAUTHORIZED'],
      [bearer(keys.reader), grpc.status.PERMISSION_DENIED, 'FORBIDDEN'],
    ] as const) {
      const refused = await stream(metadata, [req('refused')]);
      assert.equal(refused.status.code, code, refused.status.details);
      assert.equal(refused.status.metadata.get('x-loupe-error-code')[0], loupe);
      assert.equal(refused.responses.length, 0);
      const unary = await client.call('ModelInfer', req('refused'), metadata);
      assert.equal(unary.error?.code, code);
      const strip = (d: string | undefined) =>
        d?.replace(/ModelStreamInfer|ModelInfer/, 'RPC').replace(/ \(request id .*\)$/, '');
      assert.equal(strip(refused.status.details), strip(unary.error?.details), 'the same message');
    }
  });

  it('the open and each message count against the rate limit: past it, that message says RATE_LIMITED and the stream goes on', async () => {
    const messages = Array.from({ length: PER_MINUTE + 3 }, (_, i) => req(`rl-${i}`));
    const { status, responses } = await stream(bearer(keys.limited), messages);
    assert.equal(status.code, grpc.status.OK);
    assert.equal(responses.length, PER_MINUTE + 3);
    // Opening the stream took one of the key's PER_MINUTE, as a request does.
    const limited = responses.filter((r) => r.error_message?.startsWith('RATE_LIMITED: rate limit of'));
    assert.equal(limited.length, 4, JSON.stringify(responses.filter((r) => r.error_message)));
    assert.equal(responses.filter((r) => r.infer_response).length, PER_MINUTE - 1);
    // The same allowance as unary calls: the key has none left for ModelInfer either.
    const unary = await client.call('ModelInfer', req('rl-unary'), bearer(keys.limited));
    assert.equal(unary.error?.code, grpc.status.RESOURCE_EXHAUSTED);
  });

  /** IN_FLIGHT unary calls at once, with most of the key's upload share: all pass only if nothing is held. */
  async function fullShare(key: { key: string }, tag: string) {
    const calls = await Promise.all(
      Array.from({ length: IN_FLIGHT }, (_, i) => client.call('ModelInfer', req(`${tag}-${i}`), bearer(key))),
    );
    for (const c of calls) assert.equal(c.error, undefined, c.error?.details);
  }

  it('a cancelled stream gives back its in-flight places and upload bytes at once', async () => {
    await fullShare(keys.cancel, 'pre');
    const call = client.stream<object, StreamResponse>('ModelStreamInfer', bearer(keys.cancel));
    call.on('error', () => undefined);
    const first = new Promise((resolve) => call.once('data', resolve));
    for (let i = 0; i < 40; i++) call.write(req(`cx-${i}`));
    await first;
    call.cancel();
    await sleep(50);
    await fullShare(keys.cancel, 'post');
    const cancelled = lines.filter((l) => l.reqId?.startsWith('cx-'));
    assert.ok(cancelled.length < 40, 'the stream was cancelled before it was read to the end');
  });

  /** A raw HTTP/2 ModelStreamInfer call (no grpc-js: the test chooses every byte and when it is sent). */
  function rawStream() {
    const session = http2.connect(`http://${srv.role.grpcAddress}`);
    session.on('error', () => undefined);
    const h2 = rawGrpcCall(session, 'ModelStreamInfer', bearer(keys.slow));
    const ended = new Promise<http2.IncomingHttpHeaders>((resolve) => {
      h2.on('trailers', resolve);
      h2.on('response', (headers) => headers['grpc-status'] !== undefined && resolve(headers));
    });
    h2.resume();
    const within = (ms: number) => Promise.race([ended, sleep(ms).then(() => undefined)]);
    return { h2, within, close: () => session.destroy() };
  }
  const framed = (m: object) => {
    const body = inferenceService().ModelStreamInfer!.requestSerialize(m);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(body.length, 1);
    return Buffer.concat([prefix, body]);
  };
  const deadlineExceeded = (got: http2.IncomingHttpHeaders | undefined) => {
    assert.ok(got, 'the stream was not ended');
    assert.equal(Number(got['grpc-status']), grpc.status.DEADLINE_EXCEEDED);
    assert.match(decodeURIComponent(String(got['grpc-message'])), /too slow/);
  };

  it('a message dribbled below the rate floor ends the stream (DEADLINE_EXCEEDED) and what it held is given back', async () => {
    const { h2, within, close } = rawStream();
    const message = framed(req('dribble'));
    // Most of the message at once (held from the share), then a byte at a time.
    h2.write(message.subarray(0, message.length - 100));
    const dribble = setInterval(() => h2.write(Buffer.alloc(1)), 200);
    try {
      deadlineExceeded(await within(GRACE_MS + 4000));
    } finally {
      clearInterval(dribble);
      close();
    }
    await fullShare(keys.slow, 'after-dribble');
  });

  it('a message begun in the same DATA frame as the previous one, then stalled, is timed too', async () => {
    const { h2, within, close } = rawStream();
    const next = framed(req('stalled'));
    h2.write(Buffer.concat([framed(req('whole')), next.subarray(0, 1000)]));
    try {
      deadlineExceeded(await within(GRACE_MS + 4000));
    } finally {
      close();
    }
    await fullShare(keys.slow, 'after-stall');
  });
});
