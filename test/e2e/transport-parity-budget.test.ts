import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { grpcClient, type TestGrpcClient, rawGrpcCall } from '../helpers/grpc.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import {
  capturingLogger,
  grpcOutcome,
  httpOutcome,
  parity,
  splitDetails,
  type Outcome,
  type Parity,
} from '../helpers/parity.ts';
import { startServe, tempDir, type TestServer } from '../helpers/server.ts';

/**
 * Transport parity of the upload budget (issue #24 item 2; the cases table is in
 * transport-parity.test.ts): uploads in flight on either transport are charged as their bytes
 * arrive to one budget with one share per client, and a new upload over a client's share (429 /
 * RESOURCE_EXHAUSTED) or over the whole budget (503 / UNAVAILABLE) is refused alike on both.
 * HTTP uploads held half-sent on raw sockets fill the budget; X-Forwarded-For (trusted here)
 * names the clients. An upload below the minimum data rate is cut alike (408 /
 * DEADLINE_EXCEEDED).
 */
const KiB = 1024;
const SHARE = 256 * KiB;
const BUDGET = 1024 * KiB;

describe('HTTP and gRPC share one upload budget and refuse past it alike', () => {
  let srv: TestServer;
  let client: TestGrpcClient;
  let p: Parity;
  const held: net.Socket[] = [];

  before(async () => {
    const store = tempDir('loupe-parity-budget-');
    writeStoreModel(store, { name: 'colors', channels: 3, height: 4, width: 4, classes: 4, resize: 'stretch' });
    const log = capturingLogger();
    srv = await startServe(
      {
        LOUPE_AUTH: 'off',
        LOUPE_MODEL_STORE: store,
        LOUPE_DEFAULT_MODEL: 'colors',
        LOUPE_TRUST_PROXY: 'true',
        LOUPE_MAX_UPLOAD_BYTES: String(512 * KiB),
        LOUPE_MAX_INFLIGHT_UPLOAD_BYTES: String(BUDGET),
        LOUPE_MAX_INFLIGHT_UPLOAD_BYTES_PER_CLIENT: String(SHARE),
      },
      {},
      { logger: log.logger },
    );
    client = grpcClient(srv.role.grpcAddress);
    p = parity(srv, log.lines);
  });
  after(async () => {
    for (const s of held) s.destroy();
    client?.close();
    await srv?.stop();
  });

  /** An HTTP upload from `address` that announces `announced` bytes and sends `sent` of them, then waits. */
  const hold = async (address: string, announced: number, sent: number) => {
    const s = net.connect(Number(new URL(srv.url).port), '127.0.0.1');
    s.on('error', () => undefined);
    held.push(s);
    s.write(
      `POST /v2/models/colors/infer HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ${address}\r\n` +
        `Content-Type: application/octet-stream\r\nInference-Header-Content-Length: 2\r\n` +
        `Content-Length: ${announced}\r\n\r\n`,
    );
    s.write(Buffer.alloc(sent, 0x20));
    await sleep(300);
  };

  /** A 100 KiB BYTES upload from `address`, over each transport. */
  const upload = Buffer.alloc(100 * KiB, 1);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: upload.length } }],
    }),
  );
  const http = (address: string) => (id: string) =>
    httpOutcome(`${srv.url}/v2/models/colors/infer`, {
      method: 'POST',
      body: Buffer.concat([header, upload]),
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.length),
        'x-forwarded-for': address,
        'x-request-id': id,
      },
    });
  const rpc = (address: string) => (id: string) =>
    grpcOutcome(
      client,
      'ModelInfer',
      {
        model_name: 'colors',
        inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
        raw_input_contents: [upload],
      },
      { 'x-forwarded-for': address, 'x-request-id': id },
    );

  it("a client's uploads in flight hold its share: its next upload is refused alike on both (429 / RESOURCE_EXHAUSTED)", async () => {
    const a = '198.51.100.10';
    await hold(a, 300 * KiB, 200 * KiB);
    await p.both("over a client's share", 'RATE_LIMITED', http(a), rpc(a), '/v2/models/:model/infer', {
      refusal: { kind: 'admission', reason: 'upload_share' },
    });
  });

  it('uploads in flight of all clients hold the whole budget: a new client is refused alike on both (503 / UNAVAILABLE)', async () => {
    for (const c of ['198.51.100.11', '198.51.100.12', '198.51.100.13']) await hold(c, 300 * KiB, 250 * KiB);
    const e = '198.51.100.14';
    await p.both('over the whole budget', 'OVERLOADED', http(e), rpc(e), '/v2/models/:model/infer', {
      refusal: { kind: 'admission', reason: 'upload_budget' },
    });
  });
});

describe('HTTP and gRPC cut an upload below the minimum data rate alike', () => {
  let srv: TestServer;
  let p: Parity;
  const GRACE_MS = 400;

  before(async () => {
    const store = tempDir('loupe-parity-rate-');
    writeStoreModel(store, { name: 'colors', channels: 3, height: 4, width: 4, classes: 4, resize: 'stretch' });
    const log = capturingLogger();
    srv = await startServe(
      {
        LOUPE_AUTH: 'off',
        LOUPE_MODEL_STORE: store,
        LOUPE_DEFAULT_MODEL: 'colors',
        LOUPE_MIN_UPLOAD_RATE_BYTES_PER_S: String(64 * KiB),
        LOUPE_UPLOAD_RATE_GRACE_MS: String(GRACE_MS),
      },
      {},
      { logger: log.logger },
    );
    p = parity(srv, log.lines);
  });
  after(() => srv?.stop());

  /** An HTTP upload that sends 10 bytes of the 100 KiB it announces, and what it is answered. */
  const dribbleHttp = (id: string) =>
    new Promise<Outcome>((resolve) => {
      const s = net.connect(Number(new URL(srv.url).port), '127.0.0.1');
      let text = '';
      s.on('data', (d) => (text += d));
      s.on('error', () => undefined);
      s.on('close', () => {
        const [head = '', body = ''] = text.split('\r\n\r\n');
        const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1]?.trim();
        let message: string | undefined;
        try {
          message = (JSON.parse(body) as { error: string }).error;
        } catch {
          message = undefined;
        }
        resolve({
          code: header('x-loupe-error-code'),
          status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]),
          message,
          requestId: header('x-request-id'),
          retryAfter: header('retry-after'),
        });
      });
      s.setTimeout(GRACE_MS + 5000, () => s.destroy());
      s.write(
        `POST /v2/models/colors/infer HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\nConnection: close\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${100 * KiB}\r\n\r\n{"inputs":`,
      );
    });

  /** A ModelInfer call that sends 10 bytes of the 100 KiB message it announces, and its status. */
  const dribbleGrpc = (id: string) =>
    new Promise<Outcome>((resolve) => {
      const session = http2.connect(`http://${srv.role.grpcAddress}`);
      session.on('error', () => undefined);
      const stream = rawGrpcCall(session, 'ModelInfer', { 'x-request-id': id });
      const done = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] === undefined) return;
        const { message, id: detailsId } = splitDetails(decodeURIComponent(String(h['grpc-message'] ?? '')));
        session.destroy();
        resolve({
          code: h['x-loupe-error-code'] as string | undefined,
          status: Number(h['grpc-status']),
          message,
          requestId: h['x-request-id'] as string | undefined,
          detailsId,
          retryAfter: h['retry-after'] as string | undefined,
        });
      };
      stream.on('response', done);
      stream.on('trailers', done);
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(100 * KiB, 1);
      stream.write(Buffer.concat([prefix, Buffer.alloc(10)]));
    });

  it('10 bytes of 100 KiB, then nothing: REQUEST_TIMEOUT on both (408 / DEADLINE_EXCEEDED), the same message', async () => {
    // Each counts the bytes of its own framing (gRPC's 5-byte message prefix too), and its own clock.
    const same = (m: string) => m.replace(/\d+ bytes in [\d.]+ s/, 'N bytes in T s');
    await p.both('below the minimum rate', 'REQUEST_TIMEOUT', dribbleHttp, dribbleGrpc, '/v2/models/:model/infer', {
      sameMessage: same,
      refusal: { kind: 'admission', reason: 'rate_floor' },
    });
  });
});
