import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

interface ErrorBody {
  error: { code: string; message: string; request_id: string };
}

/** A raw-image upload that sends its first bytes and then stays open until `finish` (or `abort`). */
function openUpload(url: string, client: string, bytes: Uint8Array) {
  let push!: (chunk: Uint8Array | null) => void;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      push = (chunk) => (chunk ? controller.enqueue(chunk) : controller.close());
      controller.enqueue(bytes.subarray(0, 16));
    },
  });
  const aborter = new AbortController();
  const response = fetch(`${url}/predict`, {
    method: 'POST',
    body,
    duplex: 'half',
    headers: { 'content-type': 'image/png', 'x-forwarded-for': client },
    signal: aborter.signal,
  } as RequestInit).catch((err: Error) => err);
  return {
    response,
    finish() {
      push(bytes.subarray(16));
      push(null);
    },
    abort: () => aborter.abort(),
  };
}

// The request rate (429, Retry-After, rate-limit headers) is test/unit/http/limits.test.ts's,
// over a stub backend; what needs connections held open or the local backend stays here.
describe('per-client limits', () => {
  let srv: TestServer;
  const png = fixture('gray-40x30.png');

  before(async () => {
    const store = tempDir('loupe-limits-');
    writeStoreModel(store, {
      name: 'digits',
      channels: 1,
      height: 28,
      width: 28,
      classes: 10,
      batching: { max_batch_size: 4 },
    });
    srv = await startServe({
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'digits',
      LOUPE_RATE_LIMIT_PER_MINUTE: '8',
      LOUPE_MAX_INFLIGHT_PER_CLIENT: '2',
      // The test stands for several clients by X-Forwarded-For; nothing is sent to those addresses.
      LOUPE_TRUST_PROXY: '1',
    });
  });
  after(() => srv.stop());

  it('a client may have only so many inference requests in flight; the places come back however they end', async (t) => {
    const a = openUpload(srv.url, '10.9.1.1', png);
    const b = openUpload(srv.url, '10.9.1.1', png);
    t.after(() => {
      a.abort();
      b.abort();
    });
    await new Promise((r) => setTimeout(r, 300)); // both are in flight: headers sent, bodies open
    const third = await fetch(`${srv.url}/predict`, {
      method: 'POST',
      body: png,
      headers: { 'content-type': 'image/png', 'x-forwarded-for': '10.9.1.1' },
    });
    assert.equal(third.status, 429);
    assert.equal((await json<ErrorBody>(third)).error.code, 'RATE_LIMITED');
    assert.ok(third.headers.get('retry-after'));
    const other = await fetch(`${srv.url}/predict`, {
      method: 'POST',
      body: png,
      headers: { 'content-type': 'image/png', 'x-forwarded-for': '10.9.1.2' },
    });
    assert.equal(other.status, 200, 'another client is still served');
    a.finish();
    assert.equal(((await a.response) as Response).status, 200);
    b.abort();
    await b.response;
    await new Promise((r) => setTimeout(r, 200));
    const again = await Promise.all(
      [1, 2].map(() =>
        fetch(`${srv.url}/predict`, {
          method: 'POST',
          body: png,
          headers: { 'content-type': 'image/png', 'x-forwarded-for': '10.9.1.1' },
        }),
      ),
    );
    assert.deepEqual(
      again.map((r) => r.status),
      [200, 200],
    );
  });

  it('an OIP request larger than max_batch_size is refused before any image is decoded', async () => {
    const image = png.toString('base64');
    const infer = (n: number) =>
      fetch(`${srv.url}/v2/models/digits/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.9.2.1' },
        body: JSON.stringify({
          inputs: [{ name: 'image', shape: [n], datatype: 'BYTES', data: Array(n).fill(image) }],
        }),
      });
    assert.equal((await infer(4)).status, 200);
    const big = await infer(5);
    assert.equal(big.status, 400);
    assert.match(
      (await json<{ error: string }>(big)).error,
      /a batch of 5 is more than model "digits" takes \(max_batch_size 4\)/,
    );
  });
});
